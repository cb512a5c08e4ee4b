"""The client library (include/tern/client.h, async_client.h, smtp.h)
against real servers: tern itself and Python's aiosmtpd.

tests/tools/client_tool sends with tern::Client or tern::AsyncClient and
prints one JSON result per message; tests/c_api/send_letter is a C program
using the C API. Both come from the environment (TERN_CLIENT_TOOL,
TERN_SEND_LETTER; set by tests/CMakeLists.txt).

  - tern: STARTTLS + AUTH on submission and implicit TLS on submissions,
    certificates checked (trusted through --ca-file, or SSL_CERT_FILE for
    the C program), two messages over one connection; a certificate that
    is not trusted is refused unless checking is turned off; raw bytes
    with bare LFs and a leading dot arrive as CRLF text, unstuffed.
  - aiosmtpd with STARTTLS and AUTH (PLAIN, LOGIN), a handler that
    refuses one recipient of three: per-recipient results, a wrong
    password (535), the transcript hides the password (also in base64),
    connection reuse counted on the server, the awaitable client.
  - the C program sends an HTML letter with a binary attachment; the
    Maildir copy is parsed with Python's email and the bytes compared.
"""
import base64
import email
import email.policy
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import warnings

from tern_harness import Tern, free_port, main

BUILD = os.path.join(os.path.dirname(__file__), "..", "..", "build", "debug", "tests")
CLIENT_TOOL = os.environ.get("TERN_CLIENT_TOOL") or os.path.join(BUILD, "client_tool")
SEND_LETTER = os.environ.get("TERN_SEND_LETTER") or os.path.join(BUILD, "send_letter")

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "client-lib Secret 42"


def run_tool(*args, env=None):
    """Runs client_tool; returns (exit code, [result per message], stderr)."""
    p = subprocess.run([CLIENT_TOOL, *args], capture_output=True, text=True, timeout=120,
                       env=env)
    results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, results, p.stderr


def secret_forms(user, password):
    """Every way the password could leak into a transcript."""
    forms = [password, base64.b64encode(password.encode()).decode(),
             base64.b64encode(f"\0{user}\0{password}".encode()).decode()]
    return forms


class TernServerTest(unittest.TestCase):
    """Against a real `tern serve`."""

    @classmethod
    def setUpClass(cls):
        cls.t = Tern(domains=["example.test"])
        cls.t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        cls.t.start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-client-lib-", dir=cls.t.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()

    def tearDown(self):
        self.t.assert_running()

    def common(self, kind, security):
        return ["--host", "localhost", "--port", str(self.t.port(kind)), "--security", security,
                "--user", ALICE, "--password", PASSWORD, "--from", ALICE]

    def test_starttls_auth_two_messages_one_connection(self):
        before = len(self.t.messages(BOB))
        transcript = os.path.join(self.tmp, "starttls.txt")
        rc, results, err = run_tool(*self.common("submission", "starttls"), "--to", BOB,
                                    "--ca-file", self.t.cert_path(), "--count", "2",
                                    "--transcript", transcript)
        self.assertEqual(rc, 0, results or err)
        self.assertEqual(len(results), 2)
        for r in results:
            self.assertTrue(r["ok"], r["describe"])
            self.assertEqual(r["code"], 250)
            self.assertIn("(verified)", r["tls"])
            self.assertEqual(r["recipients"], [{"address": BOB, "accepted": True, "error": None}])
        msgs = self.t.wait_messages(BOB, before + 2)
        self.assertEqual(len(msgs), before + 2)
        with open(transcript) as f:
            lines = f.read().splitlines()
        # One connection: one greeting, one STARTTLS, one AUTH, one QUIT.
        self.assertEqual(sum(l.startswith("S: 220 ") and "ESMTP" in l for l in lines), 1, lines)
        self.assertEqual(lines.count("C: STARTTLS"), 1, lines)
        self.assertEqual(lines.count("C: AUTH PLAIN <redacted>"), 1, lines)
        self.assertEqual(lines.count("C: QUIT"), 1, lines)
        self.assertEqual(sum(l.startswith("C: MAIL FROM:") for l in lines), 2)
        text = "\n".join(lines)
        for secret in secret_forms(ALICE, PASSWORD):
            self.assertNotIn(secret, text)

    def test_implicit_tls_async(self):
        before = len(self.t.messages(BOB))
        rc, results, err = run_tool(*self.common("submissions", "tls"), "--to", BOB,
                                    "--ca-file", self.t.cert_path(), "--async", "--count", "2")
        self.assertEqual(rc, 0, results or err)
        self.assertEqual([r["ok"] for r in results], [True, True])
        self.assertIn("(verified)", results[0]["tls"])
        self.assertEqual(len(self.t.wait_messages(BOB, before + 2)), before + 2)

    def test_untrusted_certificate_refused_by_default(self):
        for security, kind in (("starttls", "submission"), ("tls", "submissions")):
            rc, results, _ = run_tool(*self.common(kind, security), "--to", BOB)
            self.assertEqual(rc, 1)
            e = results[0]["error"]
            self.assertEqual(e["kind"], "tls", e)
            self.assertIn("self-signed certificate", e["text"])

    def test_verification_opt_out(self):
        rc, results, err = run_tool(*self.common("submission", "starttls"), "--to", BOB,
                                    "--no-verify")
        self.assertEqual(rc, 0, results or err)
        self.assertIn("(not verified: self-signed certificate)", results[0]["tls"])

    def test_certificate_name_checked(self):
        # 127.0.0.1 is not among the certificate's names (mx.example.test, localhost).
        args = self.common("submission", "starttls")
        args[1] = "127.0.0.1"
        rc, results, _ = run_tool(*args, "--to", BOB, "--ca-file", self.t.cert_path())
        self.assertEqual(rc, 1)
        self.assertEqual(results[0]["error"]["kind"], "tls")
        self.assertIn("mismatch", results[0]["error"]["text"])

    def test_wrong_password(self):
        args = self.common("submission", "starttls")
        args[args.index("--password") + 1] = "wrong"
        rc, results, _ = run_tool(*args, "--to", BOB, "--ca-file", self.t.cert_path())
        self.assertEqual(rc, 1)
        e = results[0]["error"]
        self.assertEqual((e["kind"], e["phase"], e["code"]), ("auth", "auth", 535), e)
        self.assertFalse(e["temporary"])
        self.assertEqual(results[0]["recipients"][0]["accepted"], False)

    def test_raw_bytes_normalised_and_unstuffed(self):
        before = self.t.messages(BOB)
        rc, results, err = run_tool(*self.common("submission", "starttls"), "--to", BOB,
                                    "--ca-file", self.t.cert_path(), "--raw")
        self.assertEqual(rc, 0, results or err)
        # The new one, whatever the Maildir names' order (two messages of an
        # earlier test may share this second).
        [msg] = [m for m in self.t.wait_messages(BOB, len(before) + 1) if m not in before]
        body = msg.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(body, b".leading dot\r\nMessage 1, raw.\r\n")
        self.assertNotIn(b"\n", msg.replace(b"\r\n", b""))

    def test_connect_refused(self):
        rc, results, _ = run_tool("--host", "127.0.0.1", "--port", str(free_port()),
                                  "--security", "none", "--from", ALICE, "--to", BOB)
        self.assertEqual(rc, 1)
        e = results[0]["error"]
        self.assertEqual((e["kind"], e["phase"], e["temporary"]), ("connect", "connect", True), e)

    def test_reconnects_after_idle_close(self):
        # This server drops a connection idle for 2 s (421 first); the
        # second message finds it dead and goes over a new connection.
        with Tern(domains=["example.test"], kinds=("smtp",), accept_any_local_part=True,
                  limits={"command_timeout": 2}) as t:
            transcript = os.path.join(self.tmp, "idle.txt")
            for mode in ([], ["--async"]):
                rc, results, err = run_tool("--host", "127.0.0.1", "--port", str(t.port("smtp")),
                                            "--security", "none", "--from", ALICE, "--to", BOB,
                                            "--count", "2", "--pause", "3", "--transcript",
                                            transcript, *mode)
                self.assertEqual(rc, 0, results or err)
                self.assertEqual([r["ok"] for r in results], [True, True])
                with open(transcript) as f:
                    lines = f.read().splitlines()
                self.assertEqual(sum(l.startswith("S: 220 ") for l in lines), 2, lines)
            self.assertEqual(len(t.wait_messages(BOB, 4)), 4)

    def test_c_program_html_letter_with_attachment(self):
        attachment = os.path.join(self.tmp, "data.bin")
        payload = os.urandom(40000) + bytes(range(256)) + b"\r\n.\r\n"  # smuggling-shaped too
        with open(attachment, "wb") as f:
            f.write(payload)
        html = "<html><body><p>Hello from <b>C</b>, \u00e7a marche.</p></body></html>"
        before = self.t.messages(BOB)
        env = dict(os.environ, SSL_CERT_FILE=self.t.cert_path(),
                   SEND_LETTER_UNSUBSCRIBE="https://example.test/u?a=1,2, mailto:u@example.test")
        env.pop("SSL_CERT_DIR", None)
        p = subprocess.run([SEND_LETTER, "localhost", str(self.t.port("submission")), "tls", ALICE,
                            PASSWORD, ALICE, BOB, "Letter from C", html, attachment],
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # debugPrint: the dialogue on debugStream, without the password.
        self.assertIn("C: STARTTLS", p.stderr)
        self.assertIn("C: AUTH PLAIN <redacted>", p.stderr)
        for secret in secret_forms(ALICE, PASSWORD):
            self.assertNotIn(secret, p.stderr)

        [raw] = [m for m in self.t.wait_messages(BOB, len(before) + 1) if m not in before]
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(m["Subject"], "Letter from C")
        self.assertEqual(m["From"].addresses[0].addr_spec, ALICE)
        self.assertEqual(m["From"].addresses[0].display_name, "C Program")
        self.assertEqual(m["To"].addresses[0].display_name, "Reader")
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        # smtp_listUnsubscribe (RFC 2369, RFC 8058 one-click).
        self.assertIn(b"List-Unsubscribe: <https://example.test/u?a=1,2>, <mailto:u@example.test>\r\n"
                      b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", raw)
        body = m.get_body(preferencelist=("html",))
        self.assertEqual(body.get_content().replace("\r\n", "\n").rstrip("\n"), html)
        attachments = list(m.iter_attachments())
        self.assertEqual(len(attachments), 1)
        self.assertEqual(attachments[0].get_filename(), "data.bin")
        self.assertEqual(attachments[0].get_content(), payload)

    def test_c_program_verifies_by_default(self):
        attachment = os.path.join(self.tmp, "small.txt")
        with open(attachment, "w") as f:
            f.write("x\n")
        env = dict(os.environ)
        env.pop("SSL_CERT_FILE", None)
        env.pop("SSL_CERT_DIR", None)
        args = [SEND_LETTER, "localhost", str(self.t.port("submissions")), "ssl", ALICE, PASSWORD,
                ALICE, BOB, "Unverified", "<p>x</p>", attachment]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("smtp_connect returned -4", p.stdout)  # SMTP_ERR_TLS
        self.assertIn("self-signed certificate", p.stdout)
        before = len(self.t.messages(BOB))
        p = subprocess.run(args + ["noverify"], capture_output=True, text=True, timeout=120,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(self.t.wait_messages(BOB, before + 1)), before + 1)

    def test_c_program_one_click_needs_https(self):
        attachment = os.path.join(self.tmp, "small3.txt")
        with open(attachment, "w") as f:
            f.write("x\n")
        env = dict(os.environ, SSL_CERT_FILE=self.t.cert_path(),
                   SEND_LETTER_UNSUBSCRIBE="mailto:u@example.test")
        p = subprocess.run([SEND_LETTER, "localhost", str(self.t.port("submission")), "tls", ALICE,
                            PASSWORD, ALICE, BOB, "x", "<p>x</p>", attachment],
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("smtp_listUnsubscribe returned", p.stdout)
        self.assertIn("needs an https: URI", p.stdout)

    def test_c_program_wrong_password(self):
        attachment = os.path.join(self.tmp, "small2.txt")
        with open(attachment, "w") as f:
            f.write("x\n")
        env = dict(os.environ, SSL_CERT_FILE=self.t.cert_path())
        p = subprocess.run([SEND_LETTER, "localhost", str(self.t.port("submission")), "tls", ALICE,
                            "wrong", ALICE, BOB, "x", "<p>x</p>", attachment],
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("smtp_login returned -5", p.stdout)  # SMTP_ERR_AUTH
        self.assertIn("535", p.stdout)


class AiosmtpdTest(unittest.TestCase):
    """Against aiosmtpd with STARTTLS and AUTH required, refusing
    recipients whose local part starts with "refuse"."""

    USER = "user@example.test"

    @classmethod
    def setUpClass(cls):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
        import ssl

        # aiosmtpd 1.4 warns about its own use of a deprecated attribute.
        warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
        cls.tmp = tempfile.mkdtemp(prefix="tern-aiosmtpd-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cls.cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cls.cert, key)

        handler = cls.handler = Handler()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == cls.USER.encode()
                  and auth_data.password == PASSWORD.encode())
            handler.auths.append((mechanism, ok))
            # handled=False: aiosmtpd sends the 235 / 535 itself.
            return AuthResult(success=ok, handled=False)

        cls.port = free_port()
        cls.controller = Controller(handler, hostname="127.0.0.1", port=cls.port,
                                    tls_context=tls, require_starttls=True,
                                    auth_required=True, auth_require_tls=True,
                                    authenticator=authenticator)
        cls.controller.start()

    @classmethod
    def tearDownClass(cls):
        cls.controller.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.handler.reset()

    def args(self, *extra, password=PASSWORD):
        # By IP address: the certificate names 127.0.0.1 in subjectAltName.
        return ["--host", "127.0.0.1", "--port", str(self.port), "--security", "starttls",
                "--ca-file", self.cert, "--user", self.USER, "--password", password,
                "--from", "sender@example.test", *extra]

    def test_one_recipient_of_three_refused(self):
        rc, results, err = run_tool(*self.args("--to", "a@example.test", "--to",
                                               "refuse@example.test", "--to", "c@example.test"))
        self.assertEqual(rc, 1, err)  # not every recipient took it
        r = results[0]
        self.assertIsNone(r["error"])
        self.assertFalse(r["ok"])
        self.assertEqual(r["code"], 250)
        self.assertEqual([x["accepted"] for x in r["recipients"]], [True, False, True])
        self.assertEqual([x["address"] for x in r["recipients"]],
                         ["a@example.test", "refuse@example.test", "c@example.test"])
        e = r["recipients"][1]["error"]
        self.assertEqual((e["kind"], e["phase"], e["code"], e["enhanced"]),
                         ("refused", "rcpt", 550, "5.1.1"), e)
        self.assertFalse(e["temporary"])
        self.assertIn("refuse@example.test", r["describe"])
        self.assertEqual(len(self.handler.messages), 1)
        self.assertEqual(self.handler.messages[0]["rcpts"], ["a@example.test", "c@example.test"])

    def test_transcript_hides_password(self):
        for mechanism in ("PLAIN", "LOGIN"):
            transcript = os.path.join(self.tmp, f"transcript-{mechanism}.txt")
            rc, results, err = run_tool(*self.args("--to", "a@example.test", "--mechanism",
                                                   mechanism, "--transcript", transcript))
            self.assertEqual(rc, 0, results or err)
            with open(transcript) as f:
                text = f.read()
            self.assertIn(f"C: AUTH {mechanism}", text)
            self.assertIn("<redacted>", text)
            self.assertIn("S: 235", text)
            self.assertIn("C: DATA", text)
            self.assertIn("octets of message data>", text)
            for secret in secret_forms(self.USER, PASSWORD):
                self.assertNotIn(secret, text, mechanism)
        self.assertEqual(self.handler.auths, [("PLAIN", True), ("LOGIN", True)])

    def test_wrong_password(self):
        rc, results, _ = run_tool(*self.args("--to", "a@example.test", password="nope"))
        self.assertEqual(rc, 1)
        e = results[0]["error"]
        self.assertEqual((e["kind"], e["phase"], e["code"]), ("auth", "auth", 535), e)
        self.assertEqual(self.handler.messages, [])

    def test_connection_reuse(self):
        rc, results, err = run_tool(*self.args("--to", "a@example.test", "--count", "3"))
        self.assertEqual(rc, 0, results or err)
        self.assertEqual(len(self.handler.messages), 3)
        self.assertEqual(len({m["session"] for m in self.handler.messages}), 1)

    def test_async_client(self):
        rc, results, err = run_tool(*self.args("--to", "a@example.test", "--to",
                                               "refuse@example.test", "--count", "2", "--async"))
        self.assertEqual(rc, 1, err)  # one refused recipient each time
        self.assertEqual([[x["accepted"] for x in r["recipients"]] for r in results],
                         [[True, False], [True, False]])
        self.assertEqual(len({m["session"] for m in self.handler.messages}), 1)


class Handler:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.messages = []
        self.auths = []
        self._sessions = []  # kept alive so that their ids stay distinct

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self._sessions.append(session)
            self.messages.append({"from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                                  "session": id(session), "content": envelope.content})
        return "250 2.0.0 OK queued"


if __name__ == "__main__":
    main()
