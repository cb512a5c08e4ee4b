"""Signals: SIGTERM drains (transactions in flight finish, idle sessions get
421 4.3.2, new connections are refused, exit 0 within shutdown_grace) and
SIGHUP reloads the configuration and certificate without disturbing open
sessions (a broken configuration is logged and the old one kept)."""
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

from dialog import SmtpClient, queue_id
from tern_harness import Tern, main


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def pem_to_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class Term(unittest.TestCase):
    def test_sigterm_lets_the_transactions_in_flight_finish(self):
        grace = 10
        t = Tern(kinds=("smtp",), accept_any_local_part=True, limits={"shutdown_grace": grace})
        self.addCleanup(t.cleanup)
        t.start()
        port = t.port("smtp")
        # A: inside DATA, half of the message sent.
        a = SmtpClient("127.0.0.1", port)
        self.addCleanup(a.close)
        a.expect(220)
        a.cmd("EHLO a.test", 250)
        a.cmd("MAIL FROM:<a@remote.test>", 250)
        a.cmd("RCPT TO:<inflight@example.test>", 250)
        a.cmd("DATA", 354)
        a.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        # B: between MAIL and RCPT, also a transaction in flight.
        b = SmtpClient("127.0.0.1", port)
        self.addCleanup(b.close)
        b.expect(220)
        b.cmd("EHLO b.test", 250)
        b.cmd("MAIL FROM:<b@remote.test>", 250)
        # No wait here: A is in a transaction from its 354 on (the session's
        # state is DATA whether or not the half has been read yet), B from
        # its 250 to MAIL (ServerSession::awaiting_command).

        sent_at = time.monotonic()
        t.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_for(lambda: "shutting down" in t.read_log(), 5), t.read_log())
        with self.assertRaises(ConnectionRefusedError, msg="a new connection was accepted"):
            SmtpClient("127.0.0.1", port, timeout=2).close()

        # The transactions in flight go on and finish; then 421.
        a.send(b"second half\r\n.\r\n")
        ra = a.expect(250, "2.0.0")
        a.expect(421, "4.3.2")
        a.expect_close()
        b.cmd("RCPT TO:<inflight@example.test>", 250, "2.1.5")
        b.cmd("DATA", 354)
        b.send(b"Subject: in flight too\r\n\r\nbody\r\n.\r\n")
        rb = b.expect(250, "2.0.0")
        b.expect(421, "4.3.2")
        b.expect_close()

        rc = t.proc.wait(grace + 5)
        elapsed = time.monotonic() - sent_at
        self.assertEqual(rc, 0, t.read_log())
        self.assertLess(elapsed, grace, "exit took %.1fs" % elapsed)
        t.stop()

        # Both are delivered: before the exit, or from the queue after a restart.
        ids = {queue_id(ra), queue_id(rb)}
        done = {i for i in ids for m in t.messages("inflight@example.test") if i.encode() in m}
        self.assertLessEqual(ids - done, set(t.queue_files()), "acknowledged but neither delivered nor queued")
        print("  %d of 2 delivered before the exit, the rest from the queue after a restart" % len(done),
              file=sys.stderr)
        if done != ids:
            t.start()
        msgs = t.wait_messages("inflight@example.test", 2)
        self.assertEqual(len(msgs), 2, t.read_log())
        self.assertTrue(any(b"first half\r\nsecond half\r\n" in m for m in msgs))
        self.assertEqual({i for i in ids for m in msgs if i.encode() in m}, ids)

    def test_sigterm_sends_421_to_idle_sessions(self):
        """Idle sessions (after EHLO, and before it) are told 421 4.3.2 at
        once, and the server exits as soon as they are gone, long before the
        grace is over."""
        grace = 10
        t = Tern(kinds=("smtp",), accept_any_local_part=True, limits={"shutdown_grace": grace})
        self.addCleanup(t.cleanup)
        t.start()
        c = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO c.test", 250)
        d = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(d.close)
        d.expect(220)  # d's session exists (it greeted): no wait needed before SIGTERM
        sent_at = time.monotonic()
        t.proc.send_signal(signal.SIGTERM)
        for idle in (c, d):
            r = idle.reply(3)
            self.assertIsNotNone(r, "no 421 within 3s of SIGTERM for an idle session (%s after %.1fs)\n%s" % (
                "closed" if idle.eof else "still open", time.monotonic() - sent_at, t.read_log()))
            self.assertEqual((r.code, r.enhanced()), (421, "4.3.2"), r.text())
            idle.expect_close(3)
        rc = t.proc.wait(grace + 5)
        elapsed = time.monotonic() - sent_at
        self.assertEqual(rc, 0)
        self.assertLess(elapsed, 3, "exit took %.1fs with only idle sessions" % elapsed)
        t.stop()

    def test_sigterm_with_a_stuck_client_exits_after_the_grace(self):
        grace = 1
        t = Tern(kinds=("smtp",), accept_any_local_part=True, limits={"shutdown_grace": grace})
        self.addCleanup(t.cleanup)
        t.start()
        stuck = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(stuck.close)
        stuck.expect(220)
        stuck.cmd("EHLO stuck.test", 250)
        stuck.cmd("MAIL FROM:<s@remote.test>", 250)
        stuck.cmd("RCPT TO:<stuck@example.test>", 250)
        stuck.cmd("DATA", 354)
        stuck.send(b"Subject: never finished\r\n\r\npart\r\n")  # and nothing more
        # In DATA since the 354, read or not: no wait needed before SIGTERM.
        sent_at = time.monotonic()
        t.proc.send_signal(signal.SIGTERM)
        try:
            rc = t.proc.wait(grace + 5)
        except subprocess.TimeoutExpired:
            self.fail("tern still runs %ds after SIGTERM with shutdown_grace = %d" % (grace + 5, grace))
        elapsed = time.monotonic() - sent_at
        self.assertEqual(rc, 0, t.read_log())
        self.assertGreaterEqual(elapsed, grace - 0.2, "it did not wait for the grace")
        self.assertLess(elapsed, grace + 2, "exit took %.1fs" % elapsed)
        # The stuck client is disconnected; its half message is not queued.
        stuck.replies_until_close(2)
        self.assertTrue(stuck.eof, "the stuck session was not closed")
        t.stop()
        self.assertEqual(t.queue_files(), [])
        self.assertEqual(t.messages("stuck@example.test"), [])

    def test_sigterm_when_idle_exits_at_once(self):
        t = Tern(kinds=("smtp",), accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        t.start()
        sent_at = time.monotonic()
        t.proc.send_signal(signal.SIGTERM)
        self.assertEqual(t.proc.wait(5), 0)
        self.assertLess(time.monotonic() - sent_at, 2)
        t.stop()


class Hup(unittest.TestCase):
    def new_cert(self, t, name):
        cert = os.path.join(t.tmp, name + ".crt")
        key = os.path.join(t.tmp, name + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=new.test", "-days", "1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
        return cert, key

    def tls_session(self, t):
        """A new session on the SMTP port, after STARTTLS and EHLO; returns
        (client, certificate DER)."""
        s = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(s.close)
        s.expect(220)
        s.cmd("EHLO hup.test", 250)
        s.cmd("STARTTLS", 220)
        der = s.starttls()
        s.cmd("EHLO hup.test", 250)
        return s, der

    def implicit_tls_cert(self, t):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", t.port("submissions")), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.example.test") as s:
                der = s.getpeercert(binary_form=True)
                s.settimeout(5)
                self.assertTrue(s.recv(100).startswith(b"220 "))
                s.sendall(b"QUIT\r\n")
                return der

    def hup(self, t, needle):
        before = t.read_log().count(needle)
        t.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: t.read_log().count(needle) > before, 10),
                        "no %r in the log after SIGHUP:\n%s" % (needle, t.read_log()))
        self.assertIsNone(t.proc.poll(), "tern exited on SIGHUP")

    def deliver(self, s, rcpt, subject):
        s.cmd("MAIL FROM:<h@remote.test>", 250)
        s.cmd("RCPT TO:<%s>" % rcpt, 250)
        s.cmd("DATA", 354)
        s.send(b"Subject: " + subject.encode() + b"\r\n\r\nbody\r\n.\r\n")
        s.expect(250, "2.0.0")

    def test_sighup_reloads_certificate_and_keeps_sessions(self):
        t = Tern(kinds=("smtp", "submissions"), accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        t.start()
        old_der = pem_to_der(t.cert_path())
        # Opened before the reload: one in TLS, mid-transaction; one plain.
        s1, der = self.tls_session(t)
        self.assertEqual(der, old_der)
        s1.cmd("MAIL FROM:<h@remote.test>", 250)
        s2 = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(s2.close)
        s2.expect(220)
        s2.cmd("EHLO plain.test", 250)

        cert, key = self.new_cert(t, "new")
        new_der = pem_to_der(cert)
        with open(t.config_path, "a") as f:
            f.write('[tls]\ncertificate = "%s"\nprivate_key = "%s"\n' % (cert, key))
        self.hup(t, "SIGHUP: configuration reloaded")

        # The old sessions go on.
        s1.cmd("RCPT TO:<hup@example.test>", 250)
        s1.cmd("DATA", 354)
        s1.send(b"Subject: across the reload\r\n\r\nbody\r\n.\r\n")
        s1.expect(250, "2.0.0")
        self.deliver(s2, "hup@example.test", "plain across the reload")
        s1.cmd("QUIT", 221)
        s2.cmd("QUIT", 221)
        # A new session gets the new certificate.
        s3, der = self.tls_session(t)
        self.assertEqual(der, new_der, "the new certificate is not presented after SIGHUP")
        self.assertNotEqual(der, old_der)
        self.deliver(s3, "hup@example.test", "after the reload")
        # And so does the implicit-TLS listener.
        self.assertEqual(self.implicit_tls_cert(t), new_der)
        msgs = t.wait_messages("hup@example.test", 3)
        self.assertEqual(len(msgs), 3, t.read_log())

        # A broken configuration: logged, the running one stays.
        s4, _ = self.tls_session(t)  # open across the failed reload too
        with open(t.config_path) as f:
            good = f.read()
        with open(t.config_path, "w") as f:
            f.write(good + "\nthis is = = not toml [[[\n")
        self.hup(t, "SIGHUP: reload failed")
        # Valid TOML but a certificate that does not exist: also refused.
        with open(t.config_path, "w") as f:
            f.write(good.replace(cert, cert + ".missing"))
        self.hup(t, "SIGHUP: reload failed")
        s5, der = self.tls_session(t)
        self.assertEqual(der, new_der, "a failed reload changed the certificate")
        self.assertEqual(self.implicit_tls_cert(t), new_der)
        self.deliver(s4, "hup@example.test", "across the failed reload")
        self.deliver(s5, "hup@example.test", "after the failed reload")
        msgs = t.wait_messages("hup@example.test", 5)
        self.assertEqual(len(msgs), 5, t.read_log())
        for s in (s3, s4, s5):
            s.cmd("QUIT", 221)
        self.assertEqual(t.stop(), 0)


if __name__ == "__main__":
    main()
