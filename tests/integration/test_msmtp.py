"""msmtp (GnuTLS) against tern, configured the way users configure it: an
msmtprc (mode 0600, as msmtp demands when it holds a password).

What this proves:
  - submission with tls_starttls on and auth on (msmtp's own choice of
    mechanism, then PLAIN and LOGIN forced) delivers the message;
  - submissions with tls on and tls_starttls off (implicit TLS) delivers;
  - the smtp listener takes STARTTLS without AUTH (Received says ESMTPS);
  - a wrong password fails msmtp with an authentication error.
A TLS implementation other than OpenSSL verifies the generated certificate
(tls_trust_file) and its host name (tls_host_override mx.example.test).
"""
import os
import shutil
import subprocess
import unittest

from tern_harness import Tern, main

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "msmtp secret"


class MsmtpTest(unittest.TestCase):
    def start(self):
        if shutil.which("msmtp") is None:
            self.fail("msmtp is not installed: run scripts/deps.sh test")
        t = Tern()
        self.addCleanup(t.cleanup)
        t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        return t

    def msmtprc(self, kind, tls_starttls, auth="on", password=PASSWORD):
        t = self.t
        path = os.path.join(t.tmp, f"msmtprc-{kind}")
        lines = [
            "defaults",
            "timeout 20",
            f"logfile {os.path.join(t.tmp, 'msmtp.log')}",
            "",
            "account test",
            "host 127.0.0.1",
            f"port {t.port(kind)}",
            "domain client.test",  # the EHLO name
            f"from {ALICE}",
            "tls on",
            f"tls_starttls {tls_starttls}",
            f"tls_trust_file {t.cert_path()}",
            "tls_host_override mx.example.test",
        ]
        if auth == "off":
            lines.append("auth off")
        else:
            lines += [f"auth {auth}", f"user {ALICE}", f"password {password}"]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        return path

    def msmtp(self, rc, subject, rcpt=BOB, expect_ok=True):
        msg = (f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\n"
               f"sent by msmtp\r\n").encode()
        cmd = ["msmtp", "-C", rc, "-a", "test", "--debug", rcpt]
        r = subprocess.run(cmd, input=msg, capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if expect_ok and r.returncode != 0:
            self.fail(f"msmtp exited {r.returncode}: {' '.join(cmd)}\n{out[-4000:]}\n"
                      f"{self.t.tail_log()}")
        if not expect_ok and r.returncode == 0:
            self.fail(f"msmtp succeeded but should not have:\n{out[-4000:]}")
        return out

    def delivered(self, address, subject):
        msgs = self.t.wait_messages(address, 1, timeout=15)
        if len(msgs) != 1:
            self.fail(f"{address}: expected 1 message, found {len(msgs)}\n{self.t.tail_log()}")
        self.assertIn(f"Subject: {subject}\r\n".encode(), msgs[0])
        self.assertIn(b"\r\n\r\nsent by msmtp\r\n", msgs[0])
        return msgs[0]

    def test_submission_starttls_auth(self):
        self.start()
        out = self.msmtp(self.msmtprc("submission", "on"), "msmtp starttls")
        self.assertIn("STARTTLS", out)
        self.assertIn("235 2.7.0", out)
        msg = self.delivered(BOB, "msmtp starttls")
        self.assertIn(b"with ESMTPSA id", msg)
        self.assertIn(b"(authenticated user alice@example.test)", msg)

    def test_submission_starttls_auth_plain(self):
        self.start()
        out = self.msmtp(self.msmtprc("submission", "on", auth="plain"), "msmtp plain")
        self.assertIn("AUTH PLAIN", out)
        self.delivered(BOB, "msmtp plain")

    def test_submission_starttls_auth_login(self):
        self.start()
        out = self.msmtp(self.msmtprc("submission", "on", auth="login"), "msmtp login")
        self.assertIn("AUTH LOGIN", out)
        self.delivered(BOB, "msmtp login")

    def test_submissions_implicit_tls(self):
        self.start()
        out = self.msmtp(self.msmtprc("submissions", "off"), "msmtp implicit tls")
        self.assertNotIn("STARTTLS", out)
        msg = self.delivered(BOB, "msmtp implicit tls")
        self.assertIn(b"with ESMTPSA id", msg)

    def test_smtp_starttls_without_auth(self):
        self.start()
        self.msmtp(self.msmtprc("smtp", "on", auth="off"), "msmtp mx tls")
        msg = self.delivered(BOB, "msmtp mx tls")
        self.assertIn(b"with ESMTPS id", msg)
        self.assertNotIn(b"authenticated user", msg)

    def test_wrong_password(self):
        t = self.start()
        out = self.msmtp(self.msmtprc("submissions", "off", auth="plain", password="wrong"),
                         "never", expect_ok=False)
        self.assertIn("535 5.7.8", out, t.tail_log())
        self.assertEqual(t.wait_queue(0), [])
        self.assertEqual(t.messages(BOB), [])


if __name__ == "__main__":
    main()
