"""openssl s_client against tern's TLS: protocol versions, certificate,
and what the Received header records.

What this proves:
  - STARTTLS on smtp and submission, and implicit TLS on submissions,
    negotiate TLS 1.3 by default and TLS 1.2 when the client caps it; the
    certificate verifies against the generated one for mx.example.test;
  - TLS 1.1 and TLS 1.0 are refused by the server itself: the client is
    configured to allow them (SECLEVEL=0, and no system openssl.cnf), and
    the handshake ends with the server's protocol_version alert (70);
  - a message sent through s_client over TLS gets a Received header that
    names the negotiated protocol version and cipher, exactly as the client
    reports them, and says ESMTPS (RFC 3848).
"""
import base64
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import unittest

from tern_harness import Tern, main

HOST = "mx.example.test"
ALICE = "alice@example.test"
TIMEOUT = 10


class SClient:
    """An `openssl s_client` session driven line by line through its stdin
    and stdout. -brief prints the protocol and cipher on stderr; -nocommands
    and -ign_eof keep lines such as "RCPT TO" (R = renegotiate) and the end
    of our input from being taken as s_client commands."""

    def __init__(self, test, t, port, *args, starttls=True):
        self.test = test
        self.t = t
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-crlf", "-brief",
               "-nocommands", "-ign_eof", "-CAfile", t.cert_path(), "-verify_return_error",
               "-verify_hostname", HOST, "-servername", HOST, *args]
        if starttls:
            cmd[2:2] = ["-starttls", "smtp", "-name", "client.test"]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=client_env(t))
        self.lines = queue.Queue()
        self.err = []
        self.threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err.append),
                             daemon=True)]
        for th in self.threads:
            th.start()

    @staticmethod
    def _pump(stream, put):
        for line in iter(stream.readline, b""):
            put(line.decode("utf-8", "replace").rstrip("\r\n"))
        put(None)

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")  # -crlf makes it CRLF
        self.proc.stdin.flush()

    def reply(self, timeout=TIMEOUT):
        """The next complete reply, as (code, [lines])."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.test.fail(f"no complete reply from s_client (got {got}); stderr:\n"
                               + "\n".join(filter(None, self.err)) + "\n" + self.t.tail_log())
            if not re.match(r"^\d{3}[ -]", line):
                continue  # s_client's own chatter
            got.append(line)
            if line[3] == " ":
                return int(line[:3]), got

    def expect(self, code, line=None, timeout=TIMEOUT):
        if line is not None:
            self.send(line)
        got_code, lines = self.reply(timeout)
        if got_code != code:
            self.test.fail(f"after {line!r}: expected {code}, got {lines}\n" + self.t.tail_log())
        return lines

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for th in self.threads:  # they end at EOF, now that s_client is gone
            th.join(TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def summary(self):
        """{"Protocol version": ..., "Ciphersuite": ...} from -brief."""
        out = {}
        for line in self.err:
            if line is None:
                continue
            k, sep, v = line.partition(": ")
            if sep:
                out[k.strip()] = v.strip()
        return out


def client_env(t):
    # An empty openssl.cnf: no distribution policy (MinProtocol, SECLEVEL)
    # on the client side, so only the server decides what is refused.
    conf = os.path.join(t.tmp, "client-openssl.cnf")
    if not os.path.exists(conf):
        with open(conf, "w") as f:
            f.write("# empty: OpenSSL built-in defaults\n")
    return dict(os.environ, OPENSSL_CONF=conf)


class OpensslTest(unittest.TestCase):
    def start(self):
        if shutil.which("openssl") is None:
            self.fail("openssl is not installed: run scripts/deps.sh test")
        t = Tern(hostname=HOST, accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        t.add_users({ALICE: "s_client password"})
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        return t

    def handshake_only(self, port, *args, starttls=True):
        t = self.t
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
               "-CAfile", t.cert_path(), "-verify_return_error", "-verify_hostname", HOST, *args]
        if starttls:
            cmd[2:2] = ["-starttls", "smtp"]
        r = subprocess.run(cmd, input=b"QUIT\n", capture_output=True, timeout=30,
                           env=client_env(t))
        return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")

    def send_over_tls(self, kind, *args, starttls=True, auth=False):
        """Sends one message through s_client; returns (s_client summary,
        delivered message)."""
        t = self.t
        rcpt = f"tls-{kind}-{len(args)}@example.test"
        c = SClient(self, t, t.port(kind), *args, starttls=starttls)
        self.addCleanup(c.close)
        if not starttls:
            c.expect(220)  # the greeting, after the implicit handshake
        c.expect(250, "EHLO client.test")
        if auth:
            token = base64.b64encode(f"\0{ALICE}\0s_client password".encode()).decode()
            c.expect(235, f"AUTH PLAIN {token}")
        c.expect(250, f"MAIL FROM:<{ALICE}>")
        c.expect(250, f"RCPT TO:<{rcpt}>")
        c.expect(354, "DATA")
        c.send(f"Subject: over {kind}")
        c.send("")
        c.send("sent through openssl s_client")
        c.expect(250, ".")
        c.expect(221, "QUIT")
        c.close()
        msgs = t.wait_messages(rcpt, 1)
        if len(msgs) != 1:
            self.fail(f"{rcpt}: not delivered\n" + "\n".join(filter(None, c.err)) + "\n"
                      + t.tail_log())
        return c.summary(), msgs[0]

    def assertReceivedNamesTls(self, summary, msg, version):
        self.assertEqual(summary.get("Protocol version"), version, summary)
        self.assertEqual(summary.get("Verification"), "OK", summary)
        cipher = summary.get("Ciphersuite")
        self.assertTrue(cipher, summary)
        self.assertIn(f"(version={version} cipher={cipher})".encode(), msg,
                      msg.split(b"\r\n\r\n")[0].decode("utf-8", "replace"))

    def test_starttls_tls13_received_header(self):
        self.start()
        summary, msg = self.send_over_tls("smtp")
        self.assertReceivedNamesTls(summary, msg, "TLSv1.3")
        self.assertIn(b"with ESMTPS id", msg)

    def test_starttls_tls12_received_header(self):
        self.start()
        summary, msg = self.send_over_tls("smtp", "-tls1_2")
        self.assertReceivedNamesTls(summary, msg, "TLSv1.2")
        # ECDSA certificate, forward secrecy, AEAD.
        self.assertRegex(summary["Ciphersuite"], r"^ECDHE-ECDSA-.*(GCM|CHACHA20)")

    def test_submission_starttls_with_auth(self):
        self.start()
        summary, msg = self.send_over_tls("submission", auth=True)
        self.assertReceivedNamesTls(summary, msg, "TLSv1.3")
        self.assertIn(b"with ESMTPSA id", msg)

    def test_implicit_tls_on_submissions(self):
        self.start()
        summary, msg = self.send_over_tls("submissions", "-tls1_2", starttls=False, auth=True)
        self.assertReceivedNamesTls(summary, msg, "TLSv1.2")

    def test_old_protocols_refused(self):
        t = self.start()
        weak = ["-cipher", "DEFAULT@SECLEVEL=0"]
        cases = [("smtp", True), ("submission", True), ("submissions", False)]
        for kind, starttls in cases:
            for proto in ("-tls1_1", "-tls1"):
                with self.subTest(kind=kind, proto=proto):
                    rc, out = self.handshake_only(t.port(kind), proto, *weak, starttls=starttls)
                    self.assertNotEqual(rc, 0, out)
                    self.assertNotIn("CONNECTION ESTABLISHED", out)
                    # The server's alert, not a client-side refusal.
                    self.assertIn("alert protocol version", out, out)
            # Control: the same permissive client gets TLS 1.2.
            rc, out = self.handshake_only(t.port(kind), "-tls1_2", *weak, starttls=starttls)
            self.assertEqual(rc, 0, out)
            self.assertIn("Protocol version: TLSv1.2", out)
        # The server is still healthy after the refusals.
        self.assertIsNone(t.proc.poll(), t.tail_log())


if __name__ == "__main__":
    main()
