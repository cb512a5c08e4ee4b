"""REQUIRETLS (RFC 8689) from the sending side and at receipt, against real
servers on loopback.

What this proves:
  - receipt by tern (smtplib): EHLO in plaintext has no REQUIRETLS, EHLO
    after STARTTLS has it; MAIL FROM ... REQUIRETLS in plaintext is refused
    with 530 5.7.10, and accepted over TLS;
  - `tern send --require-tls` to tern over STARTTLS, its certificate issued
    by a test CA (local_ca.py) and checked against it: MAIL FROM carries
    REQUIRETLS, the message is accepted and stays queued (its domain's DNS
    never answers), and `tern queue list` (text and JSON), `tern queue
    show` and the queue file say it requires TLS; a message sent without
    the flag says it does not;
  - `tern send --require-tls` refuses, before connecting, a plaintext or
    unchecked connection asked for on the command line (64) or in the
    environment (78); `--tls-optional` writes "TLS-Required: No";
  - the library (client_tool) sends built and raw messages with
    REQUIRETLS and refuses it with verification off (kind tls,
    requiretls_refused, nothing sent);
  - the C API (send_letter): smtp_requireTls to tern is queued with the
    flag; smtp_tlsOptional writes the header;
  - to a real server without REQUIRETLS (a private Postfix, STARTTLS with a
    certificate we trust): `tern send --require-tls` and the C API fail
    with 5.7.30 and a clear message, no MAIL FROM goes out, and Postfix
    delivers nothing; the same send without the flag is delivered (so the
    refusal is REQUIRETLS's doing). Postfix needs root: skipped on a dev
    machine without it, failed under CI.
"""
import email
import email.policy
import json
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

import postfix_peer
from local_ca import TestCa
from postfix_peer import PostfixPeer
from tern_harness import TERN_BIN, Tern, free_port, main, unreachable_dns

BUILD = os.path.join(os.path.dirname(__file__), "..", "..", "build", "debug", "tests")
CLIENT_TOOL = os.environ.get("TERN_CLIENT_TOOL") or os.path.join(BUILD, "client_tool")
SEND_LETTER = os.environ.get("TERN_SEND_LETTER") or os.path.join(BUILD, "send_letter")

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "requiretls secret 8689"
REMOTE = "someone@remote.test"  # its DNS never answers: the message stays queued


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TERN_SMTP_") and k not in ("XDG_CONFIG_HOME", "TERN_CLIENT_CONFIG")}
    env["HOME"] = tempfile.gettempdir()  # no client.toml of the user running the tests
    env.pop("SSL_CERT_DIR", None)
    env.update(extra)
    return env


class RequireTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tern-requiretls-")
        cls.ca = TestCa(cls.tmp)
        cert, key = cls.ca.issue("localhost", "mx.example.test")
        cls.t = Tern(domains=["example.test"], kinds=("smtp", "submission"),
                     accept_any_local_part=True, extra=unreachable_dns(),
                     tls={"certificate": cert, "private_key": key})
        cls.t.add_users({ALICE: PASSWORD})
        cls.t.start()

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.t.assert_running()

    # -- helpers --
    def send(self, *args, input=b"body\n", env=None):
        """tern send to tern's submission port as alice, the CA trusted."""
        cmd = [TERN_BIN, "send", "--host", "localhost", "--port", str(self.t.port("submission")),
               "--ca-file", self.ca.cert, "--user", ALICE, "-r", ALICE, *args]
        return subprocess.run(cmd, input=input, capture_output=True, timeout=60,
                              env=env or clean_env(TERN_SMTP_PASSWORD=PASSWORD))

    def listed(self):
        return {m["id"]: m for m in self.t.queue_list()}

    def queued_id(self, stderr):
        m = re.search(r"queued as (\S+)", stderr)
        self.assertIsNotNone(m, stderr)
        return m.group(1)

    def queue_file_text(self, qid):
        path = os.path.join(self.t.data_dir, "queue", "msg", qid)
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # -- receipt --
    def test_ehlo_offers_requiretls_only_over_tls(self):
        with smtplib.SMTP("localhost", self.t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("requiretls"), s.esmtp_features)
            s.starttls(context=self.ca_context())
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("requiretls"), s.esmtp_features)

    def test_mail_requiretls_refused_in_plaintext_accepted_over_tls(self):
        with smtplib.SMTP("localhost", self.t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            code, text = s.docmd("MAIL", f"FROM:<{ALICE}> REQUIRETLS")
            self.assertEqual(code, 530, text)
            self.assertTrue(text.startswith(b"5.7.10"), text)
            s.starttls(context=self.ca_context())
            s.ehlo("client.test")
            code, text = s.docmd("MAIL", f"FROM:<{ALICE}> REQUIRETLS")
            self.assertEqual(code, 250, text)
            s.rset()

    def ca_context(self):
        import ssl
        return ssl.create_default_context(cafile=self.ca.cert)

    # -- tern send --
    def test_send_require_tls_is_queued_with_the_flag(self):
        r = self.send("--require-tls", "-v", "-s", "needs TLS", REMOTE)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertIn(">>> STARTTLS", err)
        self.assertRegex(err, rf"(?m)^>>> MAIL FROM:<{re.escape(ALICE)}>( \S+)* REQUIRETLS\b")
        flagged = self.queued_id(err)

        r = self.send("-v", "-s", "no flag", REMOTE)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        [mail] = [l for l in err.splitlines() if l.startswith(">>> MAIL")]
        self.assertNotIn("REQUIRETLS", mail)
        plain = self.queued_id(err)

        # Once the scheduler has tried it (its MX lookup times out), the
        # message is still there: deferred, not bounced.
        deadline = time.time() + 15
        while time.time() < deadline and self.listed()[flagged]["pending"] != [REMOTE]:
            time.sleep(0.1)
        listed = self.listed()
        self.assertEqual(listed[flagged]["pending"], [REMOTE], self.t.tail_log())
        self.assertIs(listed[flagged]["requiretls"], True)
        self.assertIs(listed[plain]["requiretls"], False)

        text = self.t.queue("list").stdout
        header = text.splitlines()[0]
        self.assertIn("REQUIRETLS", header)
        col = header.index("REQUIRETLS")
        [row] = [l for l in text.splitlines() if l.startswith(flagged)]
        self.assertEqual(row[col:col + 3], "yes", text)
        [row] = [l for l in text.splitlines() if l.startswith(plain)]
        self.assertEqual(row[col:col + 1], "-", text)

        show = self.t.queue("show", flagged).stdout
        self.assertRegex(show, r"(?m)^requiretls:\s+yes ")
        self.assertNotIn("requiretls:", self.t.queue("show", plain).stdout)
        js = json.loads(self.t.queue("show", flagged, "--json").stdout)
        self.assertIs(js["requiretls"], True)

        self.assertRegex(self.queue_file_text(flagged), r"(?m)^requiretls yes$")
        self.assertNotIn("requiretls", self.queue_file_text(plain))

    def test_send_require_tls_refuses_plaintext_and_unchecked(self):
        before = set(self.listed())
        r = self.send("--require-tls", "--security", "none", REMOTE)
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertIn(b"--require-tls needs TLS", r.stderr)
        r = self.send("--require-tls", "--insecure", REMOTE)
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertIn(b"drop --insecure", r.stderr)
        r = self.send("--require-tls", "--tls-optional", REMOTE)
        self.assertEqual(r.returncode, 64, r.stderr)
        # The same from the environment: a configuration error (78).
        r = self.send("--require-tls", REMOTE,
                      env=clean_env(TERN_SMTP_PASSWORD=PASSWORD, TERN_SMTP_VERIFY="false"))
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"verify is false", r.stderr)
        r = self.send("--require-tls", REMOTE,
                      env=clean_env(TERN_SMTP_PASSWORD=PASSWORD, TERN_SMTP_SECURITY="none"))
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertEqual(set(self.listed()), before)  # nothing was accepted

    def test_send_tls_optional_header(self):
        before = self.t.messages(BOB)
        r = self.send("--tls-optional", "-s", "optional", BOB)
        self.assertEqual(r.returncode, 0, r.stderr)
        [raw] = [m for m in self.t.wait_messages(BOB, len(before) + 1) if m not in before]
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(m["TLS-Required"], "No")
        self.assertEqual(raw.count(b"\r\nTLS-Required:"), 1)

    # -- the library and the C API --
    def tool(self, *args):
        p = subprocess.run([CLIENT_TOOL, "--host", "localhost", "--port",
                            str(self.t.port("submission")), "--security", "starttls",
                            "--user", ALICE, "--password", PASSWORD, "--from", ALICE,
                            "--to", REMOTE, *args],
                           capture_output=True, text=True, timeout=120)
        return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr

    def test_client_library(self):
        transcript = os.path.join(self.tmp, "lib.txt")
        for mode in ([], ["--raw"], ["--async"]):
            rc, results, err = self.tool("--ca-file", self.ca.cert, "--require-tls",
                                         "--transcript", transcript, *mode)
            self.assertEqual(rc, 0, (mode, results, err))
            self.assertIn("(verified)", results[0]["tls"])
            with open(transcript) as f:
                self.assertRegex(f.read(), rf"(?m)^C: MAIL FROM:<{re.escape(ALICE)}>( \S+)* REQUIRETLS\b")
        # Verification off: refused before connecting, told apart from other TLS errors.
        os.remove(transcript)
        rc, results, _ = self.tool("--no-verify", "--require-tls", "--transcript", transcript)
        self.assertEqual(rc, 1)
        e = results[0]["error"]
        self.assertEqual((e["kind"], e["phase"], e["enhanced"], e["code"], e["temporary"]),
                         ("tls", "mail", "5.7.30", 0, False), e)
        self.assertTrue(e["requiretls_refused"])
        self.assertIn("verify_certificate", e["text"])
        with open(transcript) as f:
            self.assertEqual(f.read(), "")  # not even a connection

    def letter(self, port, user, to, **env):
        attachment = os.path.join(self.tmp, "note.txt")
        with open(attachment, "w") as f:
            f.write("x\n")
        return subprocess.run([SEND_LETTER, "localhost", str(port), "tls", user, PASSWORD if user
                               else "", ALICE, to, "C letter", "<p>x</p>", attachment],
                              capture_output=True, text=True, timeout=120,
                              env=dict(clean_env(SSL_CERT_FILE=self.ca.cert), **env))

    def test_c_api(self):
        before = set(self.listed())
        p = self.letter(self.t.port("submission"), ALICE, REMOTE, SEND_LETTER_REQUIRETLS="1")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stderr, rf"(?m)^C: MAIL FROM:<{re.escape(ALICE)}>( \S+)* REQUIRETLS\b")
        [new] = [m for i, m in self.listed().items() if i not in before]
        self.assertIs(new["requiretls"], True)

        old = self.t.messages(BOB)
        p = self.letter(self.t.port("submission"), ALICE, BOB, SEND_LETTER_TLS_OPTIONAL="1")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        [raw] = [m for m in self.t.wait_messages(BOB, len(old) + 1) if m not in old]
        self.assertIn(b"\r\nTLS-Required: No\r\n", raw)


class NoRequireTlsPeerTest(unittest.TestCase):
    """A real server that offers STARTTLS (with a certificate we trust) but
    not REQUIRETLS: Postfix."""

    @classmethod
    def setUpClass(cls):
        why = postfix_peer.available()
        if why:
            if os.environ.get("CI"):
                raise AssertionError(f"Postfix peer missing under CI: {why}")
            raise unittest.SkipTest(why)
        cls.pf = PostfixPeer("127.0.0.1", free_port(), "pf.test", ["ok@pf.test"],
                             hostname="localhost")
        cls.pf.start()
        cls.cert = os.path.join(cls.pf.etc, "peer-cert.pem")  # self-signed: its own anchor

    @classmethod
    def tearDownClass(cls):
        cls.pf.cleanup()

    def send(self, *args):
        cmd = [TERN_BIN, "send", "--host", "localhost", "--port", str(self.pf.port),
               "--ca-file", self.cert, "-r", ALICE, "-v", *args]
        return subprocess.run(cmd, input=b"body\n", capture_output=True, timeout=60,
                              env=clean_env())

    def test_send_fails_with_5_7_30_and_nothing_is_sent(self):
        r = self.send("--require-tls", "-s", "must not arrive", "ok@pf.test")
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 69, err)  # EX_UNAVAILABLE: permanent
        self.assertIn("5.7.30", err)
        self.assertIn("does not offer REQUIRETLS", err)
        self.assertIn("nothing was sent", err)
        self.assertIn(">>> STARTTLS", err)  # it got as far as verified TLS...
        self.assertNotIn(">>> MAIL", err)  # ...and stopped before MAIL FROM

        attachment = tempfile.NamedTemporaryFile(suffix=".txt")
        attachment.write(b"x\n")
        attachment.flush()
        p = subprocess.run([SEND_LETTER, "localhost", str(self.pf.port), "tls", "", "", ALICE,
                            "ok@pf.test", "C letter", "<p>x</p>", attachment.name],
                           capture_output=True, text=True, timeout=120,
                           env=clean_env(SSL_CERT_FILE=self.cert, SEND_LETTER_REQUIRETLS="1"))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("smtp_sendLetter returned -4", p.stdout)  # SMTP_ERR_TLS
        self.assertIn("5.7.30", p.stdout)
        self.assertNotIn("C: MAIL", p.stderr)

        # The same message without REQUIRETLS is delivered: the peer works.
        r = self.send("-s", "control", "ok@pf.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.pf.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.pf.read_log())
        self.assertIn(b"Subject: control", msgs[0])
        time.sleep(0.5)  # nothing else turns up late
        self.assertEqual(len(self.pf.messages()), 1)


if __name__ == "__main__":
    main()
