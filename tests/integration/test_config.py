"""`tern serve` start-up: configuration errors, and the embedded default.

What this proves:
  - a TOML syntax error, an unknown key, a value of the wrong type, a bad
    listener address (host, port, form) and a bad listener kind each make
    `tern serve --config FILE` exit with status 2, quickly and without
    binding anything, and the message is "FILE:LINE:COL: key 'KEY': ..."
    naming the file, the line of the offending key and the key;
  - a missing config file is exit status 2 naming the file; a listener
    whose port is taken is a non-zero exit naming the listener;
  - `tern serve` with no --config runs the embedded default from the
    current directory: listeners on 127.0.0.1:2525/2587/2465, ./tern-data
    created (0700) with a self-signed certificate, mail for any local part
    at localhost accepted and delivered into its own Maildir, STARTTLS and
    AUTH offered on 2587 the way the submission kind says; SIGTERM stops it
    with exit status 0.
"""
import os
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

from tern_harness import TERN_BIN, Tern, free_port, main, wait_port

DEFAULT_PORTS = {"smtp": 2525, "submission": 2587, "submissions": 2465}


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class ConfigErrorTest(unittest.TestCase):
    """Each case is a whole config file; `line` is where the error is."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-cfg-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        self.port = free_port()

    def serve(self, text, name="tern.toml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text.replace("DATA", os.path.join(self.dir, "data"))
                        .replace("PORT", str(self.port)))
        try:
            r = subprocess.run([TERN_BIN, "serve", "--config", path], capture_output=True,
                               text=True, timeout=15)
        except subprocess.TimeoutExpired:
            self.fail(f"tern serve kept running with a bad config:\n{text}")
        return path, r

    def assertConfigError(self, text, line, key=None, words=()):
        path, r = self.serve(text)
        self.assertEqual(r.returncode, 2, f"exit status; stderr={r.stderr!r}")
        err = r.stderr.strip()
        lines = line if isinstance(line, tuple) else (line,)
        self.assertTrue(any(f"{path}:{n}:" in err for n in lines),
                        f"the message must name the file and the line {line}: {err!r}")
        if key is not None:
            self.assertIn(f"key '{key}'", err, "the message must name the key")
        for w in words:
            self.assertIn(w, err)
        self.assertEqual(err.count("\n"), 0, f"one line, please: {err!r}")
        # Nothing was started: no listener, no data dir.
        self.assertTrue(port_is_free(self.port))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "data")))
        return err

    def test_toml_syntax_error(self):
        err = self.assertConfigError(
            'hostname = "mx.example.test"\n'
            'data_dir = "DATA"\n'
            'domains = ["example.test"\n'  # unclosed array
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n', line=(3, 4))
        self.assertIn("syntax", err.lower())

    def test_syntax_error_unterminated_string(self):
        self.assertConfigError(
            'hostname = "mx.example.test\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n', line=1)

    def test_unknown_key(self):
        self.assertConfigError(
            'hostname = "mx.example.test"\n'
            'data_dir = "DATA"\n'
            'domain = ["example.test"]\n'  # a typo of "domains"
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n',
            line=3, key="domain", words=("unknown",))

    def test_unknown_key_in_table(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n'
            '[limits]\nmax_message_sise = 1000\n',
            line=6, key="limits.max_message_sise", words=("unknown",))

    def test_wrong_type(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            'accept_any_local_part = "yes"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n',
            line=2, key="accept_any_local_part")

    def test_wrong_type_in_table(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n'
            '[limits]\nmax_recipients = "lots"\n',
            line=6, key="limits.max_recipients")

    def test_bad_listener_host(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:PORT"\n'
            '[[listener]]\nkind = "submission"\naddress = "300.1.2.3:2587"\n',
            line=7, key="listener[1].address", words=("300.1.2.3",))

    def test_bad_listener_port(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:99999"\n',
            line=4, key="listener[0].address", words=("99999",))

    def test_listener_address_without_port(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1"\n',
            line=4, key="listener[0].address")

    def test_bad_listener_kind(self):
        self.assertConfigError(
            'data_dir = "DATA"\n'
            '[[listener]]\nkind = "lmtp"\naddress = "127.0.0.1:PORT"\n',
            line=3, key="listener[0].kind", words=("lmtp",))

    def test_missing_config_file(self):
        missing = os.path.join(self.dir, "absent.toml")
        r = subprocess.run([TERN_BIN, "serve", "--config", missing], capture_output=True,
                           text=True, timeout=15)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(missing, r.stderr)

    def test_listener_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            t = Tern(ports={"smtp": port}, kinds=())
            self.addCleanup(t.cleanup)
            r = subprocess.run([TERN_BIN, "serve", "--config", t.config_path],
                               capture_output=True, text=True, timeout=15)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"127.0.0.1:{port}", r.stderr)
        self.assertIn("smtp", r.stderr)


class EmbeddedDefaultTest(unittest.TestCase):
    def test_serve_without_config(self):
        busy = [f"127.0.0.1:{p} ({k})" for k, p in DEFAULT_PORTS.items() if not port_is_free(p)]
        if busy:
            self.fail("the embedded default listens on 127.0.0.1:2525, 2587 and 2465, but "
                      f"{', '.join(busy)} is in use on this machine (another tern or test?); "
                      "free them and run again")
        cwd = tempfile.mkdtemp(prefix="tern-default-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", cwd]))
        log_path = os.path.join(cwd, "tern.log")
        log = open(log_path, "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([TERN_BIN, "serve"], cwd=cwd, stdout=log,
                                stderr=subprocess.STDOUT)

        def read_log():
            with open(log_path, "rb") as f:
                return "--- tern log ---\n" + f.read().decode("utf-8", "replace")[-4000:]

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        try:
            for p in DEFAULT_PORTS.values():
                wait_port("127.0.0.1", p, timeout=15)
        except TimeoutError as e:
            self.fail(f"{e}\n{read_log()}")

        data = os.path.join(cwd, "tern-data")
        self.assertTrue(os.path.isdir(data), read_log())
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        cert = os.path.join(data, "tls", "cert.pem")
        self.assertTrue(os.path.isfile(cert), read_log())

        with smtplib.SMTP("127.0.0.1", DEFAULT_PORTS["smtp"], timeout=10) as s:
            s.ehlo("client.test")
            self.assertNotIn("auth", s.esmtp_features)
            self.assertEqual(s.sendmail("sender@remote.invalid",
                                        ["anyone@localhost", "Other.Person@LOCALHOST"],
                                        b"Subject: default config\r\n\r\nhi\r\n"), {})
            s.mail("sender@remote.invalid")
            code, text = s.rcpt("someone@example.com")
            self.assertEqual((code, text[:6]), (550, b"5.7.1 "), "an open relay")
            s.rset()

        ctx = ssl.create_default_context(cafile=cert)  # the SAN names localhost
        with smtplib.SMTP("localhost", DEFAULT_PORTS["submission"], timeout=10) as s:
            s.ehlo("client.test")
            self.assertIn("starttls", s.esmtp_features)
            s.starttls(context=ctx)
            s.ehlo("client.test")
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            self.assertEqual(s.mail("anyone@localhost")[0], 530)
        with smtplib.SMTP_SSL("localhost", DEFAULT_PORTS["submissions"], timeout=10,
                              context=ctx) as s:
            self.assertEqual(s.ehlo("client.test")[0], 250)

        for local in ("anyone", "other.person"):
            new = os.path.join(data, "mail", "localhost", local, "new")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (os.path.isdir(new) and os.listdir(new)):
                time.sleep(0.05)
            files = os.listdir(new) if os.path.isdir(new) else []
            self.assertEqual(len(files), 1, f"{new}\n{read_log()}")
            with open(os.path.join(new, files[0]), "rb") as f:
                self.assertIn(b"Subject: default config", f.read())

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("tern did not stop within 15 s of SIGTERM\n" + read_log())
        self.assertEqual(rc, 0, read_log())
        for p in DEFAULT_PORTS.values():
            self.assertTrue(port_is_free(p), f"port {p} still bound after exit")


if __name__ == "__main__":
    main()
