"""ARC (RFC 8617; docs/arc.md) against an independent implementation, dkimpy's
ARC in Debian's python3-dkim (with python3-authres): a tern with [arc] seal on
forwards mail through an alias to an aiosmtpd peer found by MX through a real
DNS server (unbound on loopback, dns_server.py), which also serves tern's
sealing key and the keys of the test's own dkimpy sealers.

What this proves:
  - a message forwarded by an alias to an outside address arrives with
    tern's ARC set (i=1, cv=none) that dkimpy's arc_verify finds pass, whose
    ARC-Authentication-Results carry tern's inbound results;
  - a message that arrives already sealed by dkimpy and is forwarded gets
    tern's set on top (i=2, cv=pass), and dkimpy verifies the two-hop chain;
  - chains sealed by dkimpy (one and two hops) arriving at tern get
    arc=pass in tern's Authentication-Results, with the instance and the
    sealers; a tampered one gets arc=fail;
  - mail a trusted forwarder (an AUTH user in [arc] trusted_forwarders)
    sends outside is sealed, another user's is not;
  - with [arc] trusted_sealers, a DMARC p=reject fail is overridden when the
    trusted sealer's chain passes and its AAR says dmarc=pass (RFC 8617
    7.2.1), and only then; the aggregate report row gives the reason
    trusted_forwarder.
"""
import email
import email.policy
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

from dkim_setup import keygen, keygen_config, txt_record, unbound_line
from relay_setup import received, start_mx_peer
from tern_harness import ClassServers, Tern, dns_toml, main, relay_toml
from trace_field import without_trace
from test_inbound_auth import rsa_key  # an RSA PEM and its key record

try:
    import authres  # noqa: F401  python3-authres: dkimpy's arc_sign needs it
    import dkim  # python3-dkim
    import dns.resolver  # noqa: F401  python3-dnspython: dkimpy and dkim_setup.txt_record use it
except ImportError:
    dkim = None

Z = "arc.test"
SEAL = f"seal.{Z}"  # tern's domain and sealing domain
HOST = f"mx.{SEAL}"  # tern's host name: its authserv-id
OUT = f"out.{Z}"  # the peer's domain
HOP1 = f"hop1.{Z}"  # sealers played by dkimpy
HOP2 = f"hop2.{Z}"
AUTHOR = f"author.{Z}"  # p=reject, no SPF, no DKIM: DMARC fails after a forward
FWD = f"fwd@{SEAL}"
LOCAL = f"box@{SEAL}"
LIST = f"list@{SEAL}"  # a list server submitting through tern
ALICE = f"alice@{SEAL}"
PASSWORD = "arc test password"


def message(sender, to, subject):
    return (f"From: Author <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{re.sub(r'[^A-Za-z0-9]', '.', subject)}@{Z}>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            "\r\nHello,\r\nthis travels through forwarders.\r\n").encode()


class ArcTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        if dkim is None:
            return  # setUp skips each test (fails it under CI)
        cls.tmp = cls.tempdir("tern-arc-it-")
        cls.data = os.path.join(cls.tmp, "data")
        config = keygen_config(cls.tmp, cls.data)
        tern_key = keygen(config, SEAL, "rsa", "arc")
        tern_ed_key = keygen(config, SEAL, "ed25519", "arced")
        cls.pem1, rec1 = rsa_key()
        cls.pem2, rec2 = rsa_key()
        records = [
            unbound_line(tern_key),
            unbound_line(tern_ed_key),
            f"h1._domainkey.{HOP1}. 300 IN TXT {rec1}",
            f"h2._domainkey.{HOP2}. 300 IN TXT {rec2}",
            f'_dmarc.{AUTHOR}. 300 IN TXT "v=DMARC1; p=reject"',
        ]
        cls.dns, cls.peer, cls.P = start_mx_peer(cls.cleanups, Z, [OUT], records)
        cls.terns = {}

    @classmethod
    def tern(cls, trusted=None, forwarder=False, ed25519=False):
        """A tern sealing as SEAL; `trusted`: its [arc] trusted_sealers;
        `forwarder`: a submission listener too, LIST a trusted forwarder."""
        key = repr((trusted, forwarder, ed25519))
        if key in cls.terns:
            return cls.terns[key]
        extra = ("check_loopback = true\n" + dns_toml(cls.dns) + relay_toml(cls.P) +
                 f'[arc]\nseal = true\ndomain = "{SEAL}"\n')
        if trusted is not None:
            extra += "trusted_sealers = [" + ", ".join(f'"{d}"' for d in trusted) + "]\n"
        if ed25519:
            extra += 'algorithm = "ed25519-sha256"\n'
        if forwarder:
            extra += f'trusted_forwarders = ["{LIST}"]\n'
        data = os.path.join(cls.tmp, f"data{len(cls.terns)}")
        shutil.copytree(cls.data, data)
        kinds = ("smtp", "submission") if forwarder else ("smtp",)
        t = Tern(domains=[SEAL], hostname=HOST, kinds=kinds, extra=extra, data_dir=data,
                 accept_any_local_part=True)
        cls.cleanups.append(t.cleanup)
        if forwarder:
            t.add_users({LIST: PASSWORD, ALICE: PASSWORD})
        t.write_aliases(f"{FWD}: far@{OUT}\n")
        t.start()
        cls.terns[key] = t
        return t

    def setUp(self):
        if dkim is None:
            if os.environ.get("CI"):
                self.fail("python3-dkim, python3-authres or python3-dnspython is missing")
            self.skipTest("python3-dkim, python3-authres or python3-dnspython is missing")

    # -- helpers --
    def send(self, t, mail_from, rcpt, data):
        """MAIL, RCPT, DATA on the smtp listener; the reply to the data."""
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), local_hostname="client.example.net",
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.mail(mail_from)[0], 250)
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            return s.data(data)

    def submit(self, t, user, rcpt, data):
        with smtplib.SMTP("127.0.0.1", t.port("submission"), timeout=30) as s:
            s.starttls(context=t.ssl_context(check_hostname=False))
            s.login(user, PASSWORD)
            s.sendmail(user, [rcpt], data)

    def received(self, subject, timeout=10):
        return received(self, self.peer, subject,
                        lambda: next(iter(self.terns.values())).tail_log(40), timeout)

    def stored(self, t, subject, timeout=10):
        """The delivered copy of the message with `subject`."""
        needle = f"Subject: {subject}\r\n".encode()
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in t.messages(LOCAL):
                if needle in m:
                    return m
            time.sleep(0.05)
        self.fail(f"'{subject}' was not delivered\n{t.tail_log(40)}")

    def ours(self, raw):
        """Our Authentication-Results field, unfolded."""
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        fields = [" ".join(str(v).split()) for v in msg.get_all("Authentication-Results", [])
                  if str(v).split(";")[0].strip().lower() == HOST]
        self.assertEqual(len(fields), 1, raw[:2000])
        return fields[0]

    def dnsfunc(self, name, timeout=5):
        """dkimpy's key lookup, through the test DNS server."""
        return txt_record(self.dns.port, name, timeout)

    def arc_verify(self, data):
        cv, results, reason = dkim.arc_verify(data, dnsfunc=self.dnsfunc)
        return cv, results, reason

    def hop(self, data, sealer, selector, pem, results):
        """`data` as a dkimpy sealer passes it on: its Authentication-Results
        (`results`), then its ARC set on top."""
        data = f"Authentication-Results: {sealer}; {results}\r\n".encode() + data
        fields = dkim.arc_sign(data, selector.encode(), sealer.encode(), pem, sealer.encode(),
                               timestamp=1767268800)
        self.assertEqual(len(fields), 3, f"dkimpy did not seal: {data[:600]}")
        return b"".join(fields) + data

    # -- tests --
    def test_forwarded_copy_is_sealed_and_dkimpy_verifies_it(self):
        t = self.tern()
        subject = "forwarded once"
        code, msg = self.send(t, f"someone@{AUTHOR}", FWD, message(f"someone@{AUTHOR}", FWD,
                                                                      subject))
        self.assertEqual(code, 550, msg)  # p=reject and nothing passes: DMARC refuses it
        # A sender without DMARC policy: accepted and forwarded.
        sender = f"someone@other.{Z}"
        code, msg = self.send(t, sender, FWD, message(sender, FWD, subject))
        self.assertEqual(code, 250, msg)
        m = self.received(subject)
        self.assertTrue(without_trace(m.data).startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=" +
                                          SEAL.encode() + b"; s=arc;"), m.data[:400])
        cv, results, reason = self.arc_verify(m.data)
        self.assertEqual(cv, b"pass", f"{reason}\n{results}\n{m.data[:3000]}")
        self.assertEqual(results[0]["as-domain"], SEAL.encode())
        # The AAR carries what tern found on arrival.
        aar = " ".join(re.search(rb"^ARC-Authentication-Results:(.*?)\r\n(?![ \t])", m.data,
                                 re.M | re.S).group(1).decode().split())
        self.assertTrue(aar.startswith(f"i=1; {HOST}; spf=none"), aar)
        self.assertIn("arc=none", aar)
        self.assertTrue(t.wait_log(f"arc: i=1 cv=none d={SEAL} s=arc"), t.tail_log(40))

        # Changed after the seal: dkimpy says fail.
        cv, _, reason = self.arc_verify(m.data.replace(b"this travels", b"this was changed"))
        self.assertEqual(cv, b"fail", reason)

    def test_ed25519_seal(self):
        t = self.tern(ed25519=True)
        sender = f"someone@other.{Z}"
        code, msg = self.send(t, sender, FWD, message(sender, FWD, "sealed with ed25519"))
        self.assertEqual(code, 250, msg)
        m = self.received("sealed with ed25519")
        self.assertTrue(without_trace(m.data).startswith(b"ARC-Seal: i=1; cv=none; a=ed25519-sha256; d=" +
                                          SEAL.encode() + b"; s=arced;"), m.data[:400])
        # dkimpy's ARC knows only rsa-sha256 (RFC 8617 defines no other):
        cv, _, reason = self.arc_verify(m.data)
        self.assertEqual((cv, reason), (b"fail", "unknown signature algorithm: b'ed25519-sha256'"))
        # so tern's own verifier checks it, with the key from DNS (RFC 8463).
        code, msg = self.send(t, sender, LOCAL, m.data.replace(b"Subject: sealed with",
                                                               b"Subject: back, sealed with"))
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "back, sealed with ed25519"))
        self.assertIn("arc=fail (i=1)", ar)  # the subject changed after the seal
        code, msg = self.send(t, sender, LOCAL, m.data)
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "sealed with ed25519"))
        self.assertIn(f"arc=pass (i=1) header.oldest-pass=0 smtp.remote-ip=127.0.0.1 "
                      f"arc.chain={SEAL}", ar)

    def test_sealed_chain_forwarded_gets_a_second_set(self):
        t = self.tern()
        subject = "forwarded twice"
        sender = f"someone@other.{Z}"
        data = self.hop(message(sender, FWD, subject), HOP1, "h1", self.pem1,
                        f"spf=pass smtp.mailfrom={sender}")
        self.assertEqual(self.arc_verify(data)[0], b"pass")
        code, msg = self.send(t, sender, FWD, data)
        self.assertEqual(code, 250, msg)
        m = self.received(subject)
        self.assertTrue(without_trace(m.data).startswith(b"ARC-Seal: i=2; cv=pass;"), m.data[:400])
        cv, results, reason = self.arc_verify(m.data)
        self.assertEqual(cv, b"pass", f"{reason}\n{results}\n{m.data[:4000]}")
        self.assertEqual([r["as-domain"] for r in results], [SEAL.encode(), HOP1.encode()])

    def test_mail_of_a_trusted_forwarder_is_sealed(self):
        t = self.tern(forwarder=True)
        author = f"author@other.{Z}"  # the list keeps its posts' From
        self.submit(t, LIST, f"far@{OUT}", message(author, f"far@{OUT}", "list post"))
        m = self.received("list post")
        self.assertTrue(without_trace(m.data).startswith(b"ARC-Seal: i=1; cv=none;"), m.data[:400])
        # Submitted mail is not checked on arrival: the AAR says so.
        self.assertIn(f"ARC-Authentication-Results: i=1; {HOST}; none\r\n".encode(), m.data)
        cv, results, reason = self.arc_verify(m.data)
        self.assertEqual(cv, b"pass", f"{reason}\n{m.data[:3000]}")
        # Another user's mail is not sealed.
        self.submit(t, ALICE, f"far@{OUT}", message(author, f"far@{OUT}", "user mail"))
        m = self.received("user mail")
        self.assertNotIn(b"ARC-Seal:", m.data)

    def test_chains_sealed_by_dkimpy_pass_at_tern(self):
        t = self.tern()
        sender = f"someone@other.{Z}"
        one = self.hop(message(sender, LOCAL, "one hop"), HOP1, "h1", self.pem1, "spf=pass")
        code, msg = self.send(t, sender, LOCAL, one)
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "one hop"))
        self.assertIn("arc=pass (i=1) header.oldest-pass=0 smtp.remote-ip=127.0.0.1", ar)
        self.assertIn(f'arc.chain={HOP1}', ar)

        two = self.hop(message(sender, LOCAL, "two hops"), HOP1, "h1", self.pem1, "spf=pass")
        # The second hop with dkimpy's `arcsign` script, as a forwarder would run it.
        two = f"Authentication-Results: {HOP2}; spf=fail; arc=pass\r\n".encode() + two
        keyfile = os.path.join(self.tmp, "hop2.pem")
        with open(keyfile, "wb") as f:
            f.write(self.pem2)
        p = subprocess.run(["arcsign", "h2", HOP2, keyfile, HOP2], input=two,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"ARC-Seal: i=2; cv=pass;"), p.stdout[:300])
        two = p.stdout
        self.assertEqual(self.arc_verify(two)[0], b"pass")
        code, msg = self.send(t, sender, LOCAL, two)
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "two hops"))
        self.assertIn("arc=pass (i=2) header.oldest-pass=0", ar)
        self.assertIn(f'arc.chain="{HOP1}:{HOP2}"', ar)

        tampered = self.hop(message(sender, LOCAL, "tampered"), HOP1, "h1", self.pem1,
                            "spf=pass")
        tampered = tampered.replace(b"this travels", b"this was changed")
        code, msg = self.send(t, sender, LOCAL, tampered)
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "tampered"))
        self.assertIn("arc=fail (i=1) reason=", ar)
        self.assertIn("body hash did not verify", ar)

        plain = message(sender, LOCAL, "no chain")
        code, msg = self.send(t, sender, LOCAL, plain)
        self.assertEqual(code, 250, msg)
        self.assertIn("arc=none smtp.remote-ip=127.0.0.1", self.ours(self.stored(t, "no chain")))

    def test_trusted_sealer_overrides_dmarc_fail(self):
        author = f"someone@{AUTHOR}"
        # What the list (HOP1) saw: the author's mail passing DMARC.
        data = self.hop(message(author, LOCAL, "via trusted list"), HOP1, "h1", self.pem1,
                        f"spf=pass smtp.mailfrom={author}; dmarc=pass header.from={AUTHOR}")
        untrusting = self.tern(trusted=[])
        code, msg = self.send(untrusting, f"bounce@{HOP1}", LOCAL, data)
        self.assertEqual(code, 550, msg)

        t = self.tern(trusted=[HOP1])
        code, msg = self.send(t, f"bounce@{HOP1}", LOCAL, data)
        self.assertEqual(code, 250, msg)
        ar = self.ours(self.stored(t, "via trusted list"))
        self.assertIn(f"dmarc=fail (p=reject dis=none", ar)
        self.assertIn("arc=pass", ar)
        self.assertTrue(t.wait_log("dmarc override: trusted ARC sealer " + HOP1), t.tail_log(40))
        # The aggregate report row says why the policy was not applied
        # (RFC 7489 appendix C PolicyOverrideType).
        rows = []
        ddir = os.path.join(t.data_dir, "dmarc")
        for name in sorted(os.listdir(ddir)) if os.path.isdir(ddir) else []:
            with open(os.path.join(ddir, name)) as f:
                rows += [line for line in f if f"from={AUTHOR} " in line]
        self.assertEqual(len(rows), 1, rows)
        self.assertIn(" disp=none res=fail ", rows[0])
        self.assertIn(" why=trusted_forwarder ", rows[0])

        # A sealer that is not trusted, or a trusted sealer whose AAR says the
        # original failed, changes nothing.
        other = self.hop(message(author, LOCAL, "via other list"), HOP2, "h2", self.pem2,
                         f"dmarc=pass header.from={AUTHOR}")
        self.assertEqual(self.send(t, f"bounce@{HOP2}", LOCAL, other)[0], 550)
        failing = self.hop(message(author, LOCAL, "failed at list"), HOP1, "h1", self.pem1,
                           f"dmarc=fail header.from={AUTHOR}")
        self.assertEqual(self.send(t, f"bounce@{HOP1}", LOCAL, failing)[0], 550)


if __name__ == "__main__":
    main()
