"""AUTH checked by a real Dovecot ([auth] backend = "dovecot"): tern asks
Dovecot's auth-client socket, so one password database (here a passwd-file)
serves IMAP and SMTP.

What this proves:
  - the right password gives 235 (and the same password logs in to IMAP),
    a wrong one 535 5.7.8, over PLAIN and LOGIN;
  - tern's own users file is not consulted: a user only tern knows is refused;
  - Dovecot down gives 454 4.7.0 (temporary, RFC 4954 6) and does not count
    as a failed attempt; once Dovecot is back, AUTH works on the same session;
  - the hardening limits still apply to the authenticated name: after
    max_auth_failures wrong passwords the session ends with 421, and
    messages_per_hour_per_user counts the name Dovecot returned.

Needs dovecot-core and dovecot-imapd (scripts/deps.sh test).
"""
import base64
import imaplib
import unittest

from dialog import SmtpClient
from dovecot_helper import find_dovecot, mail_owner
from lmtp_dovecot import MailboxServer
from tern_harness import Tern, main

ALICE = "alice@example.test"
PASSWORD = "dovecot-knows-this"


def b64(s):
    return base64.b64encode(s.encode()).decode()


class DovecotAuthTest(unittest.TestCase):
    def setUp(self):
        if find_dovecot() is None:
            self.fail("Dovecot is not installed: run scripts/deps.sh test (dovecot-imapd)")
        self.box = MailboxServer({ALICE: PASSWORD})
        self.addCleanup(self.box.stop)
        self.box.start()
        extra = f"""
[auth]
backend = "dovecot"
dovecot_socket = "{self.box.auth_socket}"
dovecot_timeout = "30s"
"""
        self.t = Tern(kinds=("submission",), run_as=mail_owner(), extra=extra,
                      accept_any_local_part=True,
                      limits={"max_auth_failures": 3, "messages_per_hour_per_user": 1})
        self.addCleanup(self.t.cleanup)
        # Known to tern's own file only: must not get in with the dovecot backend.
        self.t.add_users({"tern-only@example.test": "tern-password"})
        self.t.start()
        self.addCleanup(self.t.assert_running)

    def diagnostics(self):
        return self.box.dovecot.read_log() + "\n" + self.t.tail_log()

    def session(self, source=None):
        # Failed attempts wait for Dovecot's penalty per client address (up
        # to 15 s; its flat auth_failure_delay is off in lmtp_dovecot.py)
        # and tern's own. `source`: the client's own loopback address.
        c = SmtpClient("127.0.0.1", self.t.port("submission"), timeout=40, source=source)
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO sub.test", 250)
        c.cmd("STARTTLS", 220)
        c.starttls()
        r = c.cmd("EHLO sub.test", 250)
        self.assertIn("AUTH PLAIN LOGIN", r.text())
        return c

    def plain(self, c, user, password, code, enhanced=None):
        return c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{password}"), code, enhanced)

    def test_good_password_plain_and_login(self):
        c = self.session()
        self.plain(c, ALICE, PASSWORD, 235, "2.7.0")
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        c2 = self.session()
        c2.cmd("AUTH LOGIN", 334)
        c2.cmd(b64(ALICE), 334)
        c2.cmd(b64(PASSWORD), 235)
        # The same password database serves IMAP.
        m = imaplib.IMAP4("127.0.0.1", self.box.dovecot.port, timeout=10)
        m.login(ALICE, PASSWORD)
        m.logout()
        self.assertTrue(self.t.wait_log(f"user={ALICE} mechanism=PLAIN ok"), self.diagnostics())

    def test_bad_password_and_unknown_user(self):
        c = self.session()
        self.plain(c, ALICE, "wrong", 535, "5.7.8")
        self.plain(c, "tern-only@example.test", "tern-password", 535, "5.7.8")
        self.assertTrue(self.t.wait_log(f"user={ALICE} mechanism=PLAIN failed"), self.diagnostics())

    def test_dovecot_down_is_temporary_then_works_again(self):
        self.box.stop_process()
        c = self.session()
        # More attempts than max_auth_failures: a temporary failure is not
        # the client's fault and must not end the session.
        for _ in range(4):
            self.plain(c, ALICE, PASSWORD, 454, "4.7.0")
        self.assertTrue(self.t.wait_log("unavailable: dovecot: cannot connect"), self.diagnostics())
        self.box.start()
        self.plain(c, ALICE, PASSWORD, 235, "2.7.0")

    def test_limits_still_apply(self):
        c = self.session()
        self.plain(c, ALICE, "wrong1", 535, "5.7.8")
        self.plain(c, ALICE, "wrong2", 535, "5.7.8")
        self.plain(c, ALICE, "wrong3", 535, "5.7.8")
        c.expect(421, "4.7.0")
        c.expect_close()
        # Per-user limits count the name Dovecot returned (its passwd-file
        # spells it in lower case), whatever case the client typed. (From
        # another address: 127.0.0.1 now waits out Dovecot's penalty.)
        first = self.session("127.0.0.2")
        self.plain(first, ALICE, PASSWORD, 235)
        first.cmd("MAIL FROM:<alice@example.test>", 250)
        first.cmd("RCPT TO:<alice@example.test>", 250)
        first.cmd("DATA", 354)
        first.cmd("Subject: one\r\n\r\nbody\r\n.", 250)
        second = self.session("127.0.0.2")
        self.plain(second, "Alice@Example.Test", PASSWORD, 235)
        second.cmd("MAIL FROM:<alice@example.test>", 451, "4.7.1")
        self.assertTrue(self.t.wait_log(f"auth={ALICE} limit=messages_per_hour_per_user"),
                        self.diagnostics())


if __name__ == "__main__":
    main()
