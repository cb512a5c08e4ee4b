"""How tern ends a TLS session: with a close_notify alert (RFC 8446 6.1),
not a bare TCP close that strict clients report as "unexpected eof".

What this proves, for implicit TLS (submissions) and for STARTTLS on the
smtp and submission listeners:
  - after QUIT and its 221, reading to the end sees close_notify: Python's
    ssl module with suppress_ragged_eofs=False returns b"" for a
    close_notify and raises SSLEOFError for a TCP close without one; our
    own close_notify then completes the shutdown (unwrap());
  - the same after a 421 that ends the session: too many errors, and the
    command timeout;
  - openssl s_client sees the server's close_notify after QUIT.
"""
import os
import socket
import ssl
import subprocess
import unittest

from tern_harness import Tern, main

HOST = "mx.example.test"
TIMEOUT = 30


class Session:
    """One SMTP session over TLS, implicit or after STARTTLS."""

    def __init__(self, t, kind):
        self.raw = socket.create_connection(("127.0.0.1", t.port(kind)), timeout=TIMEOUT)
        ctx = t.ssl_context()
        self.buf = b""
        self.sock = self.raw
        if kind == "submissions":
            self.wrap(ctx)
            self.expect("220")
        else:
            self.expect("220")
            self.send("EHLO client.test")
            self.expect("250")
            self.send("STARTTLS")
            self.expect("220")
            self.wrap(ctx)
        self.send("EHLO client.test")
        self.expect("250")

    def wrap(self, ctx):
        # Without suppress_ragged_eofs=False a TCP close without
        # close_notify reads as b"" too, and the test could not fail.
        self.sock = ctx.wrap_socket(self.raw, server_hostname=HOST, suppress_ragged_eofs=False)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def expect(self, code):
        """Reads one whole reply; returns its last line, checking the code."""
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(4096)
                if not data:
                    raise AssertionError(f"connection ended while waiting for {code}")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode()
            if not text.startswith(code):
                raise AssertionError(f"expected {code}, got {text!r}")
            if text[3:4] != "-":
                return text

    def read_to_close_notify(self):
        """Reads what remains; b"" means the server's close_notify came,
        SSLEOFError that TCP ended without one."""
        rest = b""
        while True:
            data = self.sock.recv(4096)
            if not data:
                return rest
            rest += data

    def finish(self):
        """Sends our close_notify (the server waits for it briefly)."""
        self.sock.unwrap().close()
        self.close()

    def close(self):
        for sock in (self.sock, self.raw):
            sock.close()


class TlsCloseTest(unittest.TestCase):
    def start(self, **kw):
        t = Tern(hostname=HOST, **kw)
        self.addCleanup(t.cleanup)
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        return t

    def check_clean_end(self, s, t):
        try:
            rest = s.read_to_close_notify()
        except ssl.SSLEOFError as e:
            self.fail(f"the server closed without close_notify: {e}\n{t.tail_log()}")
        self.assertEqual(rest, b"")
        s.finish()

    def test_quit(self):
        t = self.start()
        for kind in ("submissions", "smtp", "submission"):
            with self.subTest(kind=kind):
                s = Session(t, kind)
                self.addCleanup(s.close)
                s.send("QUIT")
                s.expect("221")
                self.check_clean_end(s, t)

    def test_too_many_errors(self):
        t = self.start(limits={"max_errors": 2})
        for kind in ("submissions", "smtp"):
            with self.subTest(kind=kind):
                s = Session(t, kind)
                self.addCleanup(s.close)
                s.send("BOGUS")
                s.expect("500")
                s.send("BOGUS")
                s.expect("500")  # the second error, then the session ends
                line = s.expect("421")
                self.assertIn("4.7.0", line)
                self.check_clean_end(s, t)

    def test_command_timeout(self):
        # Long enough for a handshake on a loaded machine; the session is
        # then idle and the server gives up after it.
        t = self.start(limits={"command_timeout": 3})
        for kind in ("submissions", "submission"):
            with self.subTest(kind=kind):
                s = Session(t, kind)
                self.addCleanup(s.close)
                line = s.expect("421")
                self.assertIn("4.4.2", line)
                self.check_clean_end(s, t)

    def test_openssl_s_client_sees_close_notify(self):
        t = self.start()
        for kind, starttls in (("submissions", []), ("smtp", ["-starttls", "smtp"])):
            with self.subTest(kind=kind):
                # -msg prints every TLS record; the server's close_notify is
                # a "<<< ... Alert ... close_notify" line (a message
                # received). -ign_eof keeps s_client reading after stdin ends.
                r = subprocess.run(
                    ["openssl", "s_client", "-connect", f"127.0.0.1:{t.port(kind)}", *starttls,
                     "-CAfile", t.cert_path(), "-verify_return_error", "-verify_hostname", HOST,
                     "-servername", HOST, "-crlf", "-ign_eof", "-msg", "-quiet"],
                    input=b"EHLO client.test\nQUIT\n", capture_output=True, timeout=TIMEOUT)
                out = (r.stdout + r.stderr).decode("utf-8", "replace")
                self.assertIn("221", out)
                received = [line for line in out.splitlines()
                            if line.startswith("<<<") and "Alert" in line]
                self.assertTrue(received, f"no alert received:\n{out}")
                self.assertIn("close_notify", received[-1], out)
                self.assertNotIn("unexpected eof", out.lower(), out)


if __name__ == "__main__":
    main()
