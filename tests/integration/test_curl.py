"""curl (libcurl's SMTP client, OpenSSL backend) against tern.

What this proves:
  - smtp:// upload (--mail-from, --mail-rcpt, -T file) on the smtp listener;
  - smtp:// with --ssl-reqd (STARTTLS) and --user on submission, once with
    AUTH PLAIN and once with AUTH LOGIN forced (--login-options AUTH=...);
  - smtps:// (implicit TLS) on submissions;
  - a wrong password makes curl fail (exit 67, login denied), nothing sent.

Certificates are verified: --cacert is the generated certificate, and the
URL names mx.example.test (in the certificate's subjectAltName), pinned to
127.0.0.1 with --resolve so no name is looked up anywhere. --noproxy '*'
keeps a proxy from the environment out of the way.
"""
import os
import shutil
import subprocess
import unittest

from tern_harness import Tern, main

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "curl:pass word"  # a colon and a space: --user splits at the first colon only
HOST = "mx.example.test"


class CurlTest(unittest.TestCase):
    def start(self):
        if shutil.which("curl") is None:
            self.fail("curl is not installed: run scripts/deps.sh test")
        t = Tern(hostname=HOST)
        self.addCleanup(t.cleanup)
        t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        self.msg_path = os.path.join(t.tmp, "message.eml")
        return t

    def write_message(self, subject):
        with open(self.msg_path, "wb") as f:
            f.write(f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: {subject}\r\n\r\n"
                    f"sent by curl\r\n.starts with a dot\r\n".encode())

    def curl(self, scheme, kind, *args, expect_rc=0):
        port = self.t.port(kind)
        cmd = ["curl", "--silent", "--show-error", "--verbose", "--noproxy", "*",
               "--max-time", "30", "--connect-timeout", "10",
               "--resolve", f"{HOST}:{port}:127.0.0.1", "--cacert", self.t.cert_path(),
               f"{scheme}://{HOST}:{port}/client.test", "-T", self.msg_path, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != expect_rc:
            self.fail(f"curl exited {r.returncode}, expected {expect_rc}: {' '.join(cmd)}\n"
                      f"{r.stderr[-4000:]}\n{self.t.tail_log()}")
        return r.stderr

    def delivered(self, address):
        msgs = self.t.wait_messages(address, 1, timeout=15)
        if len(msgs) != 1:
            self.fail(f"{address}: expected 1 message, found {len(msgs)}\n{self.t.tail_log()}")
        return msgs[0]

    def test_smtp_upload(self):
        self.start()
        self.write_message("curl plain")
        log = self.curl("smtp", "smtp", "--mail-from", "sender@remote.invalid",
                        "--mail-rcpt", ALICE, "--mail-rcpt", BOB)
        self.assertIn("< 250 2.0.0 Ok: queued as ", log)
        for who in (ALICE, BOB):
            msg = self.delivered(who)
            self.assertIn(b"Subject: curl plain\r\n", msg)
            self.assertIn(b"\r\nsent by curl\r\n.starts with a dot\r\n", msg)
            self.assertIn(b"Received: from client.test ([127.0.0.1])", msg)

    def starttls(self, mechanism):
        self.start()
        self.write_message(f"curl starttls {mechanism}")
        log = self.curl("smtp", "submission", "--ssl-reqd", "--user", f"{ALICE}:{PASSWORD}",
                        "--login-options", f"AUTH={mechanism}",
                        "--mail-from", ALICE, "--mail-rcpt", BOB)
        self.assertIn("> STARTTLS", log)
        self.assertIn(f"> AUTH {mechanism}", log)
        self.assertIn("< 235 2.7.0 ", log)
        msg = self.delivered(BOB)
        self.assertIn(f"Subject: curl starttls {mechanism}".encode(), msg)
        self.assertIn(b"with ESMTPSA id", msg)
        self.assertIn(b"(authenticated user alice@example.test)", msg)

    def test_starttls_auth_plain(self):
        self.starttls("PLAIN")

    def test_starttls_auth_login(self):
        self.starttls("LOGIN")

    def test_smtps(self):
        self.start()
        self.write_message("curl smtps")
        log = self.curl("smtps", "submissions", "--user", f"{ALICE}:{PASSWORD}",
                        "--mail-from", ALICE, "--mail-rcpt", BOB)
        self.assertNotIn("> STARTTLS", log)
        self.assertIn("SSL connection using TLSv1.", log)
        msg = self.delivered(BOB)
        self.assertIn(b"Subject: curl smtps", msg)
        self.assertIn(b"with ESMTPSA id", msg)

    def test_wrong_password(self):
        t = self.start()
        self.write_message("never sent")
        log = self.curl("smtps", "submissions", "--user", f"{ALICE}:wrong",
                        "--login-options", "AUTH=PLAIN",
                        "--mail-from", ALICE, "--mail-rcpt", BOB, expect_rc=67)
        self.assertIn("< 535 5.7.8 ", log)
        self.assertEqual(t.wait_queue(0), [])
        self.assertEqual(t.messages(BOB), [])


if __name__ == "__main__":
    main()
