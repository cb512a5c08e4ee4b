"""`tern user add|list|passwd|del`, and a running server seeing the changes.

What this proves:
  - exit codes: 0 done; 1 for a duplicate add, del/passwd of an absent
    user, an empty password, an invalid address; 2 for a bad config and
    for a malformed users file (apps/tern/user_cmd.cc);
  - addresses are stored lower-cased; list prints them sorted, one a line;
  - <data_dir>/users is mode 0600, holds argon2id hashes ($argon2id$) and
    never the password; passwd changes the hash, del removes the line;
  - a running server, without restart or signal, accepts AUTH for a user
    added after it started, accepts the new password after passwd and
    refuses the old one, refuses AUTH after del; the smtp listener also
    starts accepting RCPT for the new user.
"""
import os
import smtplib
import stat
import subprocess
import time
import unittest

from tern_harness import TERN_BIN, Tern, main

ALICE = "alice@example.test"


def try_auth(port, ctx, user, password):
    """AUTH PLAIN over submissions; returns the reply code."""
    with smtplib.SMTP_SSL("localhost", port, timeout=15, context=ctx) as s:
        s.ehlo("client.test")
        s.user, s.password = user, password
        try:
            return s.auth("PLAIN", s.auth_plain)[0]
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code


class UserCliTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern()
        self.addCleanup(self.t.cleanup)
        self.users_path = os.path.join(self.t.data_dir, "users")

    def user(self, *args, password=None):
        stdin = None if password is None else password + "\n"
        return self.t.tern("user", *args, input=stdin, check=False)

    def assertRc(self, r, rc, what):
        self.assertEqual(r.returncode, rc, f"{what}: stdout={r.stdout!r} stderr={r.stderr!r}")

    def users_file(self):
        with open(self.users_path) as f:
            return f.read()

    def test_add_list_passwd_del(self):
        r = self.user("add", "Alice@Example.TEST", "--password-stdin", password="first pw")
        self.assertRc(r, 0, "add")
        self.assertRc(self.user("add", "bob@example.test", "--password-stdin", password="x"),
                      0, "add bob")
        r = self.user("list")
        self.assertRc(r, 0, "list")
        self.assertEqual(r.stdout.splitlines(), [ALICE, "bob@example.test"])

        st = os.stat(self.users_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, oct(st.st_mode))
        text = self.users_file()
        self.assertEqual(text.count("$argon2id$"), 2, text)
        self.assertNotIn("first pw", text)
        alice_line = [l for l in text.splitlines() if l.startswith(ALICE + " ")]
        self.assertEqual(len(alice_line), 1, text)

        # Duplicates, in any case, are refused and change nothing.
        r = self.user("add", "ALICE@example.test", "--password-stdin", password="other")
        self.assertRc(r, 1, "duplicate add")
        self.assertIn("exists", r.stderr)
        self.assertEqual(self.users_file(), text)

        self.assertRc(self.user("passwd", ALICE, "--password-stdin", password="second pw"),
                      0, "passwd")
        text2 = self.users_file()
        new_line = [l for l in text2.splitlines() if l.startswith(ALICE + " ")]
        self.assertEqual(len(new_line), 1, text2)
        self.assertNotEqual(new_line, alice_line, "passwd did not change the hash")
        self.assertIn("$argon2id$", new_line[0])
        self.assertEqual(stat.S_IMODE(os.stat(self.users_path).st_mode), 0o600)

        self.assertRc(self.user("del", ALICE), 0, "del")
        self.assertEqual(self.user("list").stdout.splitlines(), ["bob@example.test"])
        self.assertNotIn(ALICE, self.users_file())
        self.assertEqual(stat.S_IMODE(os.stat(self.users_path).st_mode), 0o600)

    def test_absent_users_and_bad_input(self):
        self.assertRc(self.user("list"), 0, "list without a users file")
        self.assertEqual(self.user("list").stdout, "")
        r = self.user("del", "ghost@example.test")
        self.assertRc(r, 1, "del of an absent user")
        self.assertIn("ghost@example.test", r.stderr)
        self.assertRc(self.user("passwd", "ghost@example.test", "--password-stdin",
                                password="pw"), 1, "passwd of an absent user")
        self.assertRc(self.user("add", ALICE, "--password-stdin", password=""), 1,
                      "empty password")
        self.assertRc(self.user("add", ALICE, "--password-stdin"), 1, "no password at all")
        for bad in ("no-at-sign", "two@@example.test", "sp ace@example.test", "@example.test",
                    "alice@"):
            with self.subTest(address=bad):
                self.assertRc(self.user("add", bad, "--password-stdin", password="pw"), 1,
                              f"invalid address {bad!r}")
        self.assertEqual(self.user("list").stdout, "", "a failed add left a user behind")

    def test_config_and_file_errors_exit_2(self):
        r = subprocess.run([TERN_BIN, "user", "list", "--config", "/nonexistent/tern.toml"],
                           capture_output=True, text=True, timeout=30)
        self.assertRc(r, 2, "missing config file")
        self.assertIn("/nonexistent/tern.toml", r.stderr)
        os.makedirs(self.t.data_dir, exist_ok=True)
        with open(self.users_path, "w") as f:
            f.write("this line is not a user\n")
        os.chmod(self.users_path, 0o600)
        r = self.user("list")
        self.assertRc(r, 2, "malformed users file")
        self.assertIn(self.users_path, r.stderr)
        r = self.user("add", ALICE, "--password-stdin", password="pw")
        self.assertRc(r, 2, "add to a malformed users file")
        with open(self.users_path) as f:
            self.assertEqual(f.read(), "this line is not a user\n", "a bad file was rewritten")

    def test_running_server_sees_changes(self):
        t = self.t
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        port = t.port("submissions")
        ctx = t.ssl_context()
        self.assertRc(self.user("add", ALICE, "--password-stdin", password="first pw"), 0, "add")
        # No restart, no SIGHUP: the next AUTH must see the new user. (The
        # server may look at the file at most once a second; allow that.)
        time.sleep(1.1)
        self.assertEqual(try_auth(port, ctx, ALICE, "first pw"), 235,
                         "AUTH refused for a user added while the server runs\n" + t.tail_log())
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=15) as s:
            s.ehlo("client.test")
            s.mail("sender@remote.invalid")
            self.assertEqual(s.rcpt(ALICE)[0], 250, t.tail_log())

        self.assertRc(self.user("passwd", ALICE, "--password-stdin", password="second pw"),
                      0, "passwd")
        time.sleep(1.1)
        self.assertEqual(try_auth(port, ctx, ALICE, "second pw"), 235,
                         "new password refused after passwd\n" + t.tail_log())
        self.assertEqual(try_auth(port, ctx, ALICE, "first pw"), 535,
                         "old password still accepted after passwd\n" + t.tail_log())

        self.assertRc(self.user("del", ALICE), 0, "del")
        time.sleep(1.1)
        self.assertEqual(try_auth(port, ctx, ALICE, "second pw"), 535,
                         "AUTH still accepted after del\n" + t.tail_log())
        self.assertIsNone(t.proc.poll(), "the server died\n" + t.tail_log())


if __name__ == "__main__":
    main()
