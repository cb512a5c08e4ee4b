"""DKIM signing of outgoing mail (docs/dkim.md, "Signing outgoing mail"):
a tern with an RSA and an Ed25519 key made by `tern dkim keygen` relays to
an aiosmtpd peer found by MX through a real DNS server (unbound on loopback,
dns_server.py), which also serves the key records.

What this proves:
  - a message submitted on 587 by an authenticated user, whose From domain
    has keys, arrives with two DKIM-Signature fields (rsa-sha256 and
    ed25519-sha256, d= the From domain) that dkimpy verifies with the keys
    it looks up in that DNS server; SIZE= counted the added fields;
  - a message from an authenticated user of a domain without keys arrives
    unsigned;
  - `tern send --list-unsubscribe URI --one-click` as an authenticated user
    arrives with List-Unsubscribe and List-Unsubscribe-Post signed and
    oversigned (dkimpy passes it, and fails it with one more added);
  - a message from a foreign sender that an alias forwards outside arrives
    without our signature, even when its From claims our domain; our own
    user's message forwarded by an alias arrives signed;
  - a key made while the server runs is used after SIGHUP, and a bad key
    file is logged and skipped without stopping the server.
"""
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import unittest

from dkim_setup import keygen, keygen_config, txt_record, unbound_line  # noqa: F401 (re-exported)
from relay_setup import received, start_mx_peer
from tern_harness import TERN_BIN, ClassServers, Tern, dns_toml, main, relay_toml
from trace_field import without_trace

try:
    import dkim  # python3-dkim
    import dns.resolver  # noqa: F401  python3-dnspython: dkimpy and dkim_setup.txt_record use it
except ImportError:
    dkim = None

PASSWORD = "signing test password"
Z = "sign.test"
A = f"a.{Z}"  # has keys
B = f"b.{Z}"  # no keys (until the SIGHUP test)
ALICE = f"alice@{A}"
BOB = f"bob@{B}"
OUT = f"out.{Z}"  # the peer's domain


def message(sender, to, subject):
    return (f"From: Sender <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{re.sub(r'[^A-Za-z0-9]', '.', subject)}@{Z}>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            f"\r\nHello,\r\n.a line with a dot\r\nbye\r\n").encode()


class DkimSigningTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-dkim-sign-it-")
        cls.data = os.path.join(cls.tmp, "data")
        # Keys first (keygen needs only data_dir), so that DNS can publish them.
        cls.keygen_config = keygen_config(cls.tmp, cls.data)
        zone_lines = [keygen(cls.keygen_config, A, "rsa", "it-rsa"),
                      keygen(cls.keygen_config, A, "ed25519", "it-ed25519")]
        # B's key, published now, but made only in the SIGHUP test.
        cls.b_key_dir = os.path.join(cls.tmp, "b-key")
        b_config = keygen_config(cls.tmp, cls.b_key_dir, "b-keygen.toml")
        zone_lines.append(keygen(b_config, B, "ed25519", "it-b"))
        cls.dns, cls.peer, cls.P = start_mx_peer(cls.cleanups, Z, [OUT],
                                                 [unbound_line(z) for z in zone_lines])
        cls.t = Tern(domains=[A, B], hostname=f"mail.{Z}", kinds=("smtp", "submission"),
                     extra=dns_toml(cls.dns) + relay_toml(cls.P), data_dir=cls.data)
        cls.cleanups.append(cls.t.cleanup)
        cls.t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        cls.t.write_aliases(f"fwd@{A}: far@{OUT}\n")
        cls.t.start()

    def setUp(self):
        self.addCleanup(self.t.assert_running)

    # -- helpers --
    def submit(self, user, rcpt, data):
        with smtplib.SMTP(self.t.host, self.t.port("submission"), timeout=10) as s:
            s.starttls(context=self.t.ssl_context(check_hostname=False))
            s.login(user, PASSWORD)
            s.sendmail(user, [rcpt], data)

    def received(self, subject, timeout=10):
        """The peer's copy of the message with `subject`."""
        return received(self, self.peer, subject, lambda: self.t.tail_log(40), timeout)

    def dnsfunc(self, name, timeout=5):
        """dkimpy's key lookup, through the test DNS server."""
        return txt_record(self.dns.port, name, timeout)

    def signatures(self, data):
        """[(d=, s=, a=, verified)] for each DKIM-Signature field."""
        fields = re.findall(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", data, re.M | re.S | re.I)
        d = dkim.DKIM(data)
        out = []
        for i, f in enumerate(fields):
            tags = dict(re.findall(rb"\b([a-z]+)=([^;]*)", re.sub(rb"\s+", b"", f)))
            try:
                ok = d.verify(idx=i, dnsfunc=self.dnsfunc)
            except dkim.ValidationError as e:
                ok = f"ValidationError: {e}"
            out.append((tags[b"d"].decode(), tags[b"s"].decode(), tags[b"a"].decode(), ok))
        return sorted(out)

    def need_dkimpy(self):
        if dkim is None:
            self.skipTest("python3-dkim or python3-dnspython is not installed (scripts/deps.sh test)")

    # -- tests --
    def test_authenticated_mail_is_signed_with_both_keys(self):
        self.need_dkimpy()
        self.submit(ALICE, f"someone@{OUT}", message(ALICE, f"someone@{OUT}", "signed twice"))
        m = self.received("signed twice")
        self.assertEqual(self.signatures(m.data),
                         [(A, "it-ed25519", "ed25519-sha256", True),
                          (A, "it-rsa", "rsa-sha256", True)], m.data[:1500])
        # The fields come first, before our Received; only the trace of the
        # hop (docs/tls.md, "The outbound trace") is above them.
        self.assertTrue(without_trace(m.data).startswith(b"DKIM-Signature: "), m.data[:200])
        # SIZE= counted them: it is exactly what arrived.
        size = [o for o in m.mail_options if o.upper().startswith("SIZE=")]
        self.assertEqual(size, [f"SIZE={len(m.data)}"])
        self.assertTrue(self.t.wait_log(f"dkim=signed d={A} s=it-rsa,it-ed25519"),
                        self.t.tail_log(40))

    def test_tern_send_one_click_unsubscribe_is_signed_and_oversigned(self):
        # issue 15, bulk mail: `tern send --list-unsubscribe --one-click`
        # as Alice (no -r, no configured from: the AUTH user is the sender),
        # signed with both fields covered and oversigned (RFC 8058 3.1, 4),
        # so dkimpy passes it and fails it once a List-Unsubscribe is added.
        self.need_dkimpy()
        home = tempfile.mkdtemp(prefix="tern-send-home-", dir=self.tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TERN_")}
        env["HOME"] = home
        r = subprocess.run(
            [TERN_BIN, "send", "--host", "localhost", "--port", str(self.t.port("submission")),
             "--security", "starttls", "--ca-file", self.t.cert_path(), "--user", ALICE,
             "--password-command", f"echo '{PASSWORD}'", "-s", "bulk one-click",
             "--list-unsubscribe", f"https://{A}/u?x=1",
             "--list-unsubscribe", f"mailto:unsub@{A}?subject=unsubscribe", "--one-click",
             f"someone@{OUT}"], input=b"news\n", capture_output=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.received("bulk one-click")
        self.assertIn(f"List-Unsubscribe: <https://{A}/u?x=1>,".encode(), m.data)
        self.assertIn(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", m.data)
        self.assertIn(f"From: {ALICE}\r\n".encode(), m.data)
        self.assertEqual(self.signatures(m.data),
                         [(A, "it-ed25519", "ed25519-sha256", True),
                          (A, "it-rsa", "rsa-sha256", True)], m.data[:1500])
        h = re.search(rb"\bh=([^;]*);", re.sub(rb"\s+", b"", m.data.split(b"\r\n\r\n")[0]))
        names = h.group(1).decode().split(":")
        self.assertEqual(names.count("list-unsubscribe"), 2, names)
        self.assertEqual(names.count("list-unsubscribe-post"), 2, names)
        forged = m.data.replace(b"Subject:", b"List-Unsubscribe: <https://evil.test/>\r\nSubject:", 1)
        verdicts = [s[3] for s in self.signatures(forged)]
        self.assertEqual(len(verdicts), 2)
        self.assertNotIn(True, verdicts)

    def test_a_domain_without_keys_is_not_signed(self):
        self.submit(BOB, f"someone@{OUT}", message(BOB, f"someone@{OUT}", "no keys"))
        m = self.received("no keys")
        self.assertNotIn(b"DKIM-Signature", m.data)
        self.assertTrue(self.t.wait_log(f"dkim=none (no key for {B})"), self.t.tail_log(40))

    def test_mail_forwarded_for_a_foreign_sender_is_not_signed(self):
        # Unauthenticated, from outside, to an alias that forwards outside;
        # the From even claims our domain: it must not get our signature.
        data = message(ALICE, f"fwd@{A}", "forwarded")
        with smtplib.SMTP(self.t.host, self.t.port("smtp"), timeout=10) as s:
            s.sendmail(f"stranger@elsewhere.{Z}", [f"fwd@{A}"], data)
        m = self.received("forwarded")
        self.assertEqual(m.rcpts, [f"far@{OUT}"])
        self.assertNotIn(b"DKIM-Signature", m.data)

    def test_mail_of_our_user_forwarded_by_an_alias_is_signed(self):
        # Alice (authenticated) writes to an alias that forwards outside:
        # the copy is still hers and leaves signed.
        self.need_dkimpy()
        self.submit(ALICE, f"fwd@{A}", message(ALICE, f"fwd@{A}", "own forwarded"))
        m = self.received("own forwarded")
        self.assertEqual(m.rcpts, [f"far@{OUT}"])
        self.assertEqual([s[:2] + s[3:] for s in self.signatures(m.data)],
                         [(A, "it-ed25519", True), (A, "it-rsa", True)], m.data[:1500])

    def test_sighup_loads_new_keys_and_skips_bad_ones(self):
        self.need_dkimpy()
        dkim_dir = os.path.join(self.data, "dkim")
        os.makedirs(os.path.join(dkim_dir, B), exist_ok=True)
        shutil.copy(os.path.join(self.b_key_dir, "dkim", B, "it-b.key"),
                    os.path.join(dkim_dir, B, "it-b.key"))
        with open(os.path.join(dkim_dir, B, "broken.key"), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        self.addCleanup(lambda: shutil.rmtree(os.path.join(dkim_dir, B), ignore_errors=True))
        self.t.proc.send_signal(1)  # SIGHUP
        self.assertTrue(self.t.wait_log(f"dkim: signing for {B} (it-b)"), self.t.tail_log(40))
        self.assertTrue(self.t.wait_log(f"{B}/broken.key: "), self.t.tail_log(40))
        self.submit(BOB, f"someone@{OUT}", message(BOB, f"someone@{OUT}", "after reload"))
        m = self.received("after reload")
        self.assertEqual(self.signatures(m.data), [(B, "it-b", "ed25519-sha256", True)])


if __name__ == "__main__":
    main()
