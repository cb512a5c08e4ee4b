"""swaks, the SMTP test tool, against tern: every listener kind, both AUTH
mechanisms, PIPELINING, a large attachment and the message size limit.

What this proves:
  - plain delivery on smtp; STARTTLS (--tls) with certificate verification
    against the generated cert plus AUTH PLAIN and AUTH LOGIN on
    submission; implicit TLS (--tlsc) on submissions;
  - --pipeline: MAIL, RCPT and DATA go out in one group and every reply
    comes back in order;
  - a ~1 MiB binary attachment (base64) and a ~1 MiB text body (with lines
    starting with a dot) arrive byte for byte;
  - [limits] max_message_size = 100000 is advertised (SIZE 100000), a
    message over it is refused with 552 5.3.4 after DATA (swaks sends no
    SIZE=), and so is MAIL FROM with SIZE= over it; a message just under
    the limit is accepted.
"""
import email
import email.policy
import os
import shutil
import smtplib
import subprocess
import unittest

from tern_harness import Tern, main

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "swaks-pass"
LIMIT = 100000


def require_swaks(test):
    if shutil.which("swaks") is None:
        test.fail("swaks is not installed: run scripts/deps.sh test")


class SwaksTest(unittest.TestCase):
    def start(self, **kw):
        require_swaks(self)
        t = Tern(**kw)
        self.addCleanup(t.cleanup)
        t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        return t

    def swaks(self, kind, *args, expect_rc=0):
        """Runs swaks against listener `kind`; returns its transcript."""
        cmd = ["swaks", "--server", "127.0.0.1", "--port", str(self.t.port(kind)),
               "--helo", "client.test", "--timeout", "20", *args]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as e:
            self.fail(f"swaks timed out: {cmd}\n{e.stdout}\n{self.t.tail_log()}")
        out = r.stdout + r.stderr
        if expect_rc is not None and r.returncode != expect_rc:
            self.fail(f"swaks exited {r.returncode}, expected {expect_rc}: {' '.join(cmd)}\n"
                      f"{out[-4000:]}\n{self.t.tail_log()}")
        return out

    def tls_args(self):
        # --tls-verify checks the chain against the generated certificate
        # (swaks does not check the host name).
        return ["--tls-verify", "--tls-ca-path", self.t.cert_path()]

    def delivered(self, address, count=1):
        msgs = self.t.wait_messages(address, count, timeout=15)
        if len(msgs) != count:
            self.fail(f"{address}: expected {count} message(s), found {len(msgs)}\n"
                      f"{self.t.tail_log()}")
        return msgs

    def test_plain_on_smtp(self):
        self.start()
        out = self.swaks("smtp", "--from", "sender@remote.invalid", "--to", ALICE,
                         "--header", "Subject: swaks plain", "--body", "plain body")
        self.assertIn("<-  250 2.0.0 Ok: queued as ", out)
        msg = self.delivered(ALICE)[0]
        self.assertIn(b"Subject: swaks plain\r\n", msg)
        self.assertIn(b"\r\n\r\nplain body\r\n", msg)
        self.assertIn(b"Return-Path: <sender@remote.invalid>", msg)

    def starttls_auth(self, mechanism):
        self.start()
        out = self.swaks("submission", "--tls", *self.tls_args(), "--auth", mechanism,
                         "--auth-user", ALICE, "--auth-password", PASSWORD,
                         "--from", ALICE, "--to", BOB,
                         "--header", f"Subject: swaks {mechanism}")
        self.assertIn("<-  220 2.0.0 Ready to start TLS", out)
        self.assertIn("=== TLS started with cipher TLSv1.", out)
        self.assertIn("<~  235 2.7.0 ", out)
        self.assertIn(f" ~> AUTH {mechanism}", out)
        msg = self.delivered(BOB)[0]
        self.assertIn(f"Subject: swaks {mechanism}".encode(), msg)
        self.assertIn(b"with ESMTPSA id", msg)

    def test_starttls_auth_plain(self):
        self.starttls_auth("PLAIN")

    def test_starttls_auth_login(self):
        self.starttls_auth("LOGIN")

    def test_verification_is_real(self):
        # The same STARTTLS verified against the system CAs must fail, or
        # the passing tests above would prove nothing about the certificate.
        t = self.start()
        out = self.swaks("submission", "--tls", "--tls-verify", "--tls-ca-path",
                         "/etc/ssl/certs/ca-certificates.crt", "--from", ALICE, "--to", BOB,
                         expect_rc=None)
        self.assertIn("certificate verify failed", out)
        self.assertEqual(t.messages(BOB), [])

    def test_implicit_tls_on_submissions(self):
        self.start()
        out = self.swaks("submissions", "--tlsc", *self.tls_args(), "--auth", "PLAIN",
                         "--auth-user", ALICE, "--auth-password", PASSWORD,
                         "--from", ALICE, "--to", BOB, "--header", "Subject: swaks tlsc")
        self.assertIn("=== TLS started with cipher TLSv1.", out)
        self.assertNotIn("STARTTLS", out)
        self.assertIn("<~  235 2.7.0 ", out)
        self.assertIn(b"Subject: swaks tlsc", self.delivered(BOB)[0])

    def test_pipeline(self):
        self.start()
        out = self.swaks("smtp", "--pipeline", "--from", "sender@remote.invalid",
                         "--to", f"{ALICE},{BOB}", "--header", "Subject: pipelined")
        lines = out.splitlines()
        # swaks prints the whole group it sent, then the replies.
        i = lines.index(" -> MAIL FROM:<sender@remote.invalid>")
        self.assertEqual(lines[i:i + 4], [" -> MAIL FROM:<sender@remote.invalid>",
                                          f" -> RCPT TO:<{ALICE}>", f" -> RCPT TO:<{BOB}>",
                                          " -> DATA"], out)
        self.assertTrue(lines[i + 4].startswith("<-  250 2.1.0 "), out)
        self.assertTrue(lines[i + 5].startswith("<-  250 2.1.5 "), out)
        self.assertTrue(lines[i + 6].startswith("<-  250 2.1.5 "), out)
        self.assertTrue(lines[i + 7].startswith("<-  354 "), out)
        for who in (ALICE, BOB):
            self.assertIn(b"Subject: pipelined", self.delivered(who)[0])

    def test_large_attachment(self):
        t = self.start()
        blob = os.urandom(1024 * 1024)
        path = os.path.join(t.tmp, "blob.bin")
        with open(path, "wb") as f:
            f.write(blob)
        self.swaks("smtp", "--from", "sender@remote.invalid", "--to", ALICE,
                   "--header", "Subject: big attachment", "--body", "see the attachment",
                   "--attach-type", "application/octet-stream", "--attach", "@" + path)
        raw = self.delivered(ALICE)[0]
        self.assertGreater(len(raw), len(blob))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "big attachment")
        parts = [p for p in msg.iter_attachments()]
        self.assertEqual(len(parts), 1, [p.get_content_type() for p in msg.walk()])
        self.assertEqual(parts[0].get_content(), blob, "attachment changed in transit")

    def test_large_text_body(self):
        t = self.start()
        # ~1 MiB of text, with lines that start with dots (dot-stuffed by
        # swaks, unstuffed by tern) and a line of exactly 998 octets.
        lines = []
        for i in range(14000):
            lines.append(("." if i % 7 == 0 else "") + f"line {i:05d} " + "x" * 60)
        lines.append("y" * 998)
        body = "\r\n".join(lines) + "\r\n"
        path = os.path.join(t.tmp, "body.txt")
        with open(path, "w", newline="") as f:
            f.write(body)
        self.assertGreater(len(body), 1_000_000)
        self.swaks("smtp", "--from", "sender@remote.invalid", "--to", ALICE,
                   "--header", "Subject: big body", "--body", "@" + path)
        raw = self.delivered(ALICE)[0]
        got = raw.split(b"\r\n\r\n", 1)[1]
        # swaks ends the data with two empty lines of its own.
        self.assertEqual(got.rstrip(b"\r\n"), body.encode().rstrip(b"\r\n"),
                         "body changed in transit")
        self.assertEqual(got[len(body):].strip(b"\r\n"), b"")

    # -- the size limit --

    def test_over_max_message_size_after_data(self):
        t = self.start(limits={"max_message_size": LIMIT})
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            self.assertEqual(s.esmtp_features.get("size"), str(LIMIT))
        big = os.path.join(t.tmp, "big.txt")
        with open(big, "w") as f:
            f.write(("z" * 70 + "\n") * 2000)  # ~142 KB
        out = self.swaks("smtp", "--from", "sender@remote.invalid", "--to", ALICE,
                         "--body", "@" + big, expect_rc=None)
        self.assertIn("<** 552 5.3.4 ", out)
        self.assertIn("<-  221 ", out, "the session goes on after the refusal")
        # Nothing stored, nothing delivered, nothing left half-written.
        self.assertEqual(t.wait_queue(0), [])
        self.assertEqual(t.messages(ALICE), [])
        tmp = os.path.join(t.data_dir, "queue", "tmp")
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])

    def test_over_max_message_size_in_mail_from(self):
        t = self.start(limits={"max_message_size": LIMIT})
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            code, text = s.mail("sender@remote.invalid", [f"SIZE={LIMIT + 1}"])
            self.assertEqual(code, 552, text)
            self.assertTrue(text.startswith(b"5.3.4 "), text)
            code, text = s.mail("sender@remote.invalid", [f"SIZE={LIMIT}"])
            self.assertEqual(code, 250, text)

    def test_just_under_max_message_size(self):
        t = self.start(limits={"max_message_size": LIMIT})
        body = os.path.join(t.tmp, "fits.txt")
        with open(body, "w") as f:
            f.write(("f" * 70 + "\n") * 1200)  # ~86 KB with swaks' headers
        self.swaks("smtp", "--from", "sender@remote.invalid", "--to", ALICE,
                   "--header", "Subject: fits", "--body", "@" + body)
        self.assertIn(b"Subject: fits", self.delivered(ALICE)[0])


if __name__ == "__main__":
    main()
