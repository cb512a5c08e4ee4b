"""Sender authentication of incoming mail (docs/dmarc.md, "Incoming mail"):
a tern whose smtp listener checks loopback clients (check_loopback) asks a
real DNS server (unbound on loopback, dns_server.py) for DKIM keys, DMARC
and SPF records of several test domains; messages come from smtplib, some
signed by dkimpy.

What this proves:
  - a message signed by dkimpy is stored with one Authentication-Results
    field (ours, on top) saying dkim=pass and dmarc=pass for its domain,
    which Python's email package parses back;
  - an unsigned message whose From domain publishes p=reject and whose SPF
    does not align is refused at the end of DATA with 550 5.7.1, and
    nothing is stored; the same with an aligned SPF pass is accepted;
  - a signed message altered in transit fails DKIM, hence DMARC: refused;
  - p=quarantine is delivered with X-Spam-Flag: YES; on_reject = "mark"
    delivers with dmarc=fail;
  - Authentication-Results fields claiming our host name are removed, other
    hosts' are kept; mail from an exempt (loopback) client is untouched;
  - each evaluation is recorded for the aggregate report, which
    `tern dmarc report --xml` turns into RFC 7489 XML.
"""
import base64
import email
import email.policy
import os
import smtplib
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from dns_server import DnsServer
from tern_harness import TERN_BIN, Tern, main

try:
    import dkim  # python3-dkim
except ImportError:
    dkim = None

HOST = "mx.example.test"
RCPT = "alice@example.test"
SIGNED = "signed.test"  # DKIM key, p=reject
REJECT = "reject.test"  # p=reject, no key, no SPF
SPFOK = "spfok.test"  # p=reject, SPF allows 127.0.0.1
QUAR = "quar.test"  # p=quarantine


def rsa_key():
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    text = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    return pem, " ".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))


def message(sender, subject, extra=""):
    return (f"{extra}From: Someone <{sender}>\r\nTo: {RCPT}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@test>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nHello.\r\n").encode()


class InboundAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pem, key_record = rsa_key()
        records = [
            f"sel._domainkey.{SIGNED}. 300 IN TXT {key_record}",
            f'_dmarc.{SIGNED}. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{SIGNED}"',
            f'_dmarc.{REJECT}. 300 IN TXT "v=DMARC1; p=reject"',
            f'_dmarc.{SPFOK}. 300 IN TXT "v=DMARC1; p=reject; aspf=s"',
            f'{SPFOK}. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"',
            f'_dmarc.{QUAR}. 300 IN TXT "v=DMARC1; p=quarantine"',
        ]
        cls.dns = DnsServer(zones=[SIGNED, REJECT, SPFOK, QUAR], records=records).start()
        cls.terns = []

    @classmethod
    def tearDownClass(cls):
        for t in cls.terns:
            t.cleanup()
        cls.dns.cleanup()

    def start_tern(self, check_loopback=True, dmarc=""):
        extra = (f"check_loopback = {'true' if check_loopback else 'false'}\n"
                 f'[dns]\nforward = ["{self.dns.forward}"]\ntimeout = 2\n'
                 f"[dmarc]\n{dmarc}\n")
        t = Tern(kinds=("smtp",), hostname=HOST, accept_any_local_part=True, extra=extra).start()
        self.terns.append(t)
        return t

    def send(self, t, mail_from, data):
        """MAIL, RCPT, DATA; returns the reply to the end of the data."""
        with smtplib.SMTP("127.0.0.1", t.port(), local_hostname="client.example.net",
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.mail(mail_from)[0], 250)
            self.assertEqual(s.rcpt(RCPT)[0], 250)
            return s.data(data)

    def stored(self, t, subject, count):
        msgs = t.wait_messages(RCPT, count)
        self.assertEqual(len(msgs), count, t.tail_log())
        [m] = [m for m in msgs if f"Subject: {subject}\r\n".encode() in m]
        return email.message_from_bytes(m, policy=email.policy.default)

    def ours(self, msg):
        """The Authentication-Results fields with our authserv-id."""
        return [v for v in msg.get_all("Authentication-Results", [])
                if str(v).split(";")[0].strip().lower() == HOST]

    def test_signed_message_passes_dkim_and_dmarc(self):
        if dkim is None:
            self.skipTest("python3-dkim missing")
        t = self.start_tern()
        data = message(f"news@{SIGNED}", "signed")
        data = dkim.sign(data, b"sel", SIGNED.encode(), self.pem) + data
        code, msg = self.send(t, f"bounce@other.{SIGNED}.invalid", data)
        self.assertEqual(code, 250, msg)
        m = self.stored(t, "signed", 1)
        [ar] = self.ours(m)
        ar = " ".join(str(ar).split())
        self.assertIn(f"dkim=pass header.d={SIGNED} header.s=sel header.a=rsa-sha256", ar)
        self.assertIn(f"dmarc=pass (p=reject dis=none) header.from={SIGNED}", ar)
        self.assertIn("spf=none", ar)
        # Ours is the first field of the message (above our Received).
        raw = t.wait_messages(RCPT, 1)[0].decode()
        body = raw[raw.index("Authentication-Results:"):]
        self.assertTrue(body.split("\r\n")[0].startswith(f"Authentication-Results: {HOST};"))
        self.assertLess(raw.index("Authentication-Results:"), raw.index("Received:"))
        self.assertIn("dmarc=pass", t.read_log())

        # Altered after signing: the body hash fails, so DMARC fails: refused.
        data = message(f"news@{SIGNED}", "tampered")
        sig = dkim.sign(data, b"sel", SIGNED.encode(), self.pem)
        code, msg = self.send(t, f"news@{SIGNED}", sig + data.replace(b"Hello.", b"Pay me."))
        self.assertEqual(code, 550, msg)
        self.assertTrue(msg.startswith(b"5.7.1 Email rejected per DMARC policy for signed.test"),
                        msg)

        # The evaluations are the day's aggregate data; the report has them.
        day = time.strftime("%Y-%m-%d", time.gmtime())
        p = subprocess.run([TERN_BIN, "dmarc", "report", "--dir",
                            os.path.join(t.data_dir, "dmarc"), "--day", day, "--xml"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        root = ET.fromstring(out[out.index("<feedback"):out.index("</feedback>") + 11])
        self.assertEqual(root.findtext("policy_published/domain"), SIGNED)
        self.assertEqual(root.findtext("policy_published/p"), "reject")
        rows = {r.findtext("row/policy_evaluated/disposition"): r for r in root.iter("record")}
        self.assertEqual(set(rows), {"none", "reject"})
        self.assertEqual(rows["none"].findtext("row/policy_evaluated/dkim"), "pass")
        self.assertEqual(rows["reject"].findtext("row/policy_evaluated/dkim"), "fail")
        self.assertEqual(rows["none"].findtext("row/source_ip"), "127.0.0.1")

    def test_reject_quarantine_and_spf_alignment(self):
        t = self.start_tern()
        code, msg = self.send(t, f"ceo@{REJECT}", message(f"ceo@{REJECT}", "spoof"))
        self.assertEqual(code, 550, msg)
        self.assertIn(b"DMARC policy for reject.test", msg)
        # SPF pass for the From domain (strict alignment): DMARC passes.
        code, msg = self.send(t, f"ceo@{SPFOK}", message(f"ceo@{SPFOK}", "aligned"))
        self.assertEqual(code, 250, msg)
        # p=quarantine: delivered, flagged for the Junk folder.
        code, msg = self.send(t, f"x@{QUAR}", message(f"x@{QUAR}", "quarantined"))
        self.assertEqual(code, 250, msg)
        m = self.stored(t, "aligned", 2)
        [ar] = self.ours(m)
        self.assertIn(f"spf=pass smtp.mailfrom=ceo@{SPFOK}", " ".join(str(ar).split()))
        self.assertIn("dmarc=pass", str(ar))
        self.assertIsNone(m["X-Spam-Flag"])
        q = self.stored(t, "quarantined", 2)
        self.assertEqual(q["X-Spam-Flag"], "YES")
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine)", " ".join(str(self.ours(q)[0]).split()))
        self.assertNotIn(b"Subject: spoof", b"".join(t.wait_messages(RCPT, 2)))

    def test_mark_instead_of_reject(self):
        t = self.start_tern(dmarc='on_reject = "mark"')
        code, msg = self.send(t, f"ceo@{REJECT}", message(f"ceo@{REJECT}", "marked"))
        self.assertEqual(code, 250, msg)
        [ar] = self.ours(self.stored(t, "marked", 1))
        self.assertIn("dmarc=fail (p=reject dis=none) header.from=reject.test",
                      " ".join(str(ar).split()))

    def test_forged_results_are_removed_and_exempt_clients_untouched(self):
        forged = (f"Authentication-Results: {HOST.upper()}; dkim=pass\r\n\theader.d=bank.test\r\n"
                  "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y\r\n")
        t = self.start_tern()
        code, msg = self.send(t, "x@nowhere.invalid", message("x@nowhere.invalid", "forged",
                                                               extra=forged))
        self.assertEqual(code, 250, msg)
        m = self.stored(t, "forged", 1)
        [ar] = self.ours(m)
        self.assertNotIn("bank.test", str(m))
        self.assertEqual(len(m.get_all("Authentication-Results")), 2)  # ours + other.example's
        self.assertIn("dkim=none", str(ar))

        # Loopback without check_loopback is a local client: nothing added
        # or removed, and no DMARC verdict (p=reject is not applied).
        e = self.start_tern(check_loopback=False)
        code, msg = self.send(e, f"ceo@{REJECT}", message(f"ceo@{REJECT}", "local",
                                                          extra=forged))
        self.assertEqual(code, 250, msg)
        m = self.stored(e, "local", 1)
        self.assertIn("bank.test", " ".join(str(v) for v in m.get_all("Authentication-Results")))
        self.assertEqual(len(m.get_all("Authentication-Results")), 2)


if __name__ == "__main__":
    main()
