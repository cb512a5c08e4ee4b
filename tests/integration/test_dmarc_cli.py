"""`tern dmarc` (src/dmarc/, RFC 7489) against a real DNS server: unbound on
loopback (dns_server.py) holding DMARC records. Nothing leaves the machine.

- lookup: policy discovery (6.6.3) through the configured resolver: the
  record at the From domain, the fallback to the organizational domain,
  several records, non-DMARC TXT, split strings, SERVFAIL, an unusable record.
  Where python3-authheaders (its own discovery over dnspython, and
  publicsuffix2 over the same Debian list) can judge a case, it must agree.
- record: the explanation of a record, and exit 1 for an unusable one.
- evaluate --log, then report: messages evaluated through real DNS are
  appended to the aggregate log by the library, and `tern dmarc report`
  turns the day into reports. The XML is read with xml.etree and checked
  against the element structure of RFC 7489 Appendix C; the message with
  the email package, its attachment with gzip.
"""
import email
import email.policy
import gzip
import os
import shutil
import subprocess
import tempfile
import unittest
import warnings
import xml.etree.ElementTree as ET

from dns_server import DnsServer
from tern_harness import TERN_BIN, main

try:  # Debian's python3-authheaders (scripts/deps.sh test)
    import dns.resolver
    from authheaders.dmarc_lookup import get_org_domain, receiver_record
except ImportError:  # pragma: no cover
    receiver_record = None

# authheaders 0.15 calls dnspython's deprecated dns.resolver.query().
warnings.filterwarnings("ignore", category=DeprecationWarning, module="authheaders")

DAY = "2024-03-10"
T = 1710028800 + 3600  # 2024-03-10 01:00 UTC


def txt(name, *strings):
    quoted = " ".join('"' + s.replace('"', '\\"') + '"' for s in strings)
    return f"{name}. 300 IN TXT {quoted}"


RECORDS = [
    txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; "
        "rua=mailto:agg@example.com,mailto:agg@reports.example.net!5m"),
    txt("_dmarc.own.example.com", "v=DMARC1; p=none; adkim=s"),
    txt("_dmarc.two.example.com", "v=DMARC1; p=none"),
    txt("_dmarc.two.example.com", "v=DMARC1; p=reject"),
    txt("_dmarc.noise.example.com", "v=spf1 -all"),
    txt("_dmarc.example.net", "v=DMARC1; p=quaran", "tine; pct=50; rua=mailto:d@example.net"),
    "example.org. 300 IN A 192.0.2.80",
    txt("_dmarc.bad.test", "v=DMARC1; p=bogus"),
]

# (From domain, status, policy domain, found at the organizational domain,
# p, sp shown, exit status)
LOOKUPS = [
    ("example.com", "found", "example.com", False, "reject", "quarantine", 0),
    ("mail.example.com", "found", "example.com", True, "reject", "quarantine", 0),
    ("a.b.c.example.com", "found", "example.com", True, "reject", "quarantine", 0),
    ("own.example.com", "found", "own.example.com", False, "none", None, 0),
    ("noise.example.com", "found", "example.com", True, "reject", "quarantine", 0),
    ("example.net", "found", "example.net", False, "quarantine", None, 0),
    ("two.example.com", "none", None, None, None, None, 1),
    ("example.org", "none", None, None, None, None, 1),
    ("sub.example.org", "none", None, None, None, None, 1),
    ("bad.test", "permerror", "bad.test", False, None, None, 1),
    ("mail.broken.test", "temperror", None, None, None, None, 75),
]

# Cases authheaders cannot judge: it falls back to the organizational
# domain when a name has two records (6.6.3 step 3 falls back only on an
# empty set), misreads multi-string TXT, accepts p=bogus and cannot tell
# SERVFAIL from no record.
NOT_FOR_AUTHHEADERS = {"two.example.com", "example.net", "bad.test", "mail.broken.test"}

# Names whose organizational domain tern and publicsuffix2 must agree on:
# ICANN and private rules, wildcards, exceptions, an A-label TLD.
ORG_DOMAINS = {
    "mail.example.com": "example.com",
    "a.b.example.co.uk": "example.co.uk",
    "x.alice.github.io": "alice.github.io",
    "mail.www.ck": "www.ck",
    "foo.bar.ck": "foo.bar.ck",
    "a.b.city.kawasaki.jp": "city.kawasaki.jp",
    "mail.example.xn--p1ai": "example.xn--p1ai",
}

# Appendix C, as element structure: (name, min, max) in sequence, or a set
# for xs:all (any order). Leaves are omitted.
SEQ, ALL = "sequence", "all"
SCHEMA = {
    "feedback": (SEQ, [("version", 1, 1), ("report_metadata", 1, 1),
                       ("policy_published", 1, 1), ("record", 1, None)]),
    "report_metadata": (SEQ, [("org_name", 1, 1), ("email", 1, 1),
                              ("extra_contact_info", 0, 1), ("report_id", 1, 1),
                              ("date_range", 1, 1), ("error", 0, None)]),
    "date_range": (ALL, {"begin": 1, "end": 1}),
    "policy_published": (ALL, {"domain": 1, "adkim": 0, "aspf": 0, "p": 1, "sp": 0,
                               "pct": 1, "fo": 0}),
    "record": (SEQ, [("row", 1, 1), ("identifiers", 1, 1), ("auth_results", 1, 1)]),
    "row": (ALL, {"source_ip": 1, "count": 1, "policy_evaluated": 1}),
    "policy_evaluated": (SEQ, [("disposition", 1, 1), ("dkim", 1, 1), ("spf", 1, 1),
                               ("reason", 0, None)]),
    "reason": (ALL, {"type": 1, "comment": 0}),
    "identifiers": (ALL, {"envelope_to": 0, "envelope_from": 1, "header_from": 1}),
    "auth_results": (SEQ, [("dkim", 0, None), ("spf", 1, None)]),
    "auth_results/dkim": (ALL, {"domain": 1, "selector": 0, "result": 1, "human_result": 0}),
    "auth_results/spf": (ALL, {"domain": 1, "scope": 1, "result": 1}),
}


def check_structure(test, elem, path="feedback"):
    """Checks `elem` and its children against SCHEMA; returns nothing."""
    key = path if path in SCHEMA else path.split("/")[-1]
    if key not in SCHEMA:
        test.assertEqual(len(elem), 0, f"{path} should be a leaf")
        return
    kind, spec = SCHEMA[key]
    names = [c.tag for c in elem]
    if kind == ALL:
        for n in names:
            test.assertIn(n, spec, f"unexpected <{n}> in <{path}>")
        for n, required in spec.items():
            test.assertLessEqual(names.count(n), 1, f"<{n}> twice in <{path}>")
            if required:
                test.assertIn(n, names, f"<{n}> missing in <{path}>")
    else:
        i = 0
        for n, lo, hi in spec:
            count = 0
            while i < len(names) and names[i] == n:
                i += 1
                count += 1
            test.assertGreaterEqual(count, lo, f"<{n}> missing in <{path}>: {names}")
            if hi is not None:
                test.assertLessEqual(count, hi, f"too many <{n}> in <{path}>")
        test.assertEqual(i, len(names), f"<{path}> children out of order: {names}")
    for c in elem:
        child = f"{key}/{c.tag}" if f"{key}/{c.tag}" in SCHEMA else c.tag
        check_structure(test, c, child)


def fields(text):
    out = {}
    for line in text.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out.setdefault(k, v)
    return out


class DmarcCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zones=["example.com", "example.net", "example.org", "bad.test"],
                            records=RECORDS, servfail=["broken.test"]).start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-dmarc-it-")
        cls.config = os.path.join(cls.tmp, "tern.toml")
        with open(cls.config, "w") as f:
            f.write(f'data_dir = "{cls.tmp}/data"\n'
                    'hostname = "mx.receiver.test"\n'
                    "[dns]\n"
                    f'forward = ["{cls.dns.forward}"]\n'
                    "timeout = 3\n"
                    '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n')
        cls.log_dir = os.path.join(cls.tmp, "dmarc")
        if receiver_record is not None:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
            resolver.port = cls.dns.port
            resolver.lifetime = 3
            cls.saved_resolver = dns.resolver.default_resolver
            dns.resolver.default_resolver = resolver

    @classmethod
    def tearDownClass(cls):
        if receiver_record is not None:
            dns.resolver.default_resolver = cls.saved_resolver
        cls.dns.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tern(self, *args, want_rc=None):
        p = subprocess.run([TERN_BIN, "dmarc", *args], capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        if want_rc is not None:
            self.assertEqual(p.returncode, want_rc, f"{args}: {out}{p.stderr.decode()}")
        return p, out

    def test_lookup(self):
        for domain, status, pd, org_level, p, sp, rc in LOOKUPS:
            with self.subTest(domain=domain):
                _, out = self.tern("lookup", domain, "--config", self.config, want_rc=rc)
                f = fields(out)
                self.assertEqual(f["status"], status, out)
                self.assertEqual(f.get("policy-domain"), pd, out)
                if org_level is not None:
                    want = "organizational domain" if org_level else "domain"
                    self.assertEqual(f["found-at"], want, out)
                self.assertEqual(f.get("p"), p, out)
                if sp:
                    self.assertEqual(f["sp"], sp, out)
        # The split record was joined (RFC 7489 6.6.3 via DKIM's rule).
        _, out = self.tern("lookup", "example.net", "--config", self.config, want_rc=0)
        self.assertEqual(fields(out)["pct"], "50")
        self.assertIn("record: v=DMARC1; p=quarantine; pct=50;", out)
        _, out = self.tern("lookup", "example.com", "--config", self.config, want_rc=0)
        self.assertIn("rua: mailto:agg@example.com, mailto:agg@reports.example.net!5242880", out)
        # The queries went where 6.6.3 says, and only there.
        queries = self.dns.queries()
        self.assertIn("_dmarc.mail.example.com. TXT", queries)
        self.assertNotIn("_dmarc.com. TXT", queries)

    @unittest.skipIf(receiver_record is None, "python3-authheaders is not installed")
    def test_lookup_agrees_with_authheaders(self):
        for domain, status, pd, org_level, p, _, _ in LOOKUPS:
            if domain in NOT_FOR_AUTHHEADERS:
                continue
            with self.subTest(domain=domain):
                record, org = receiver_record(domain)
                if status == "none":
                    self.assertEqual(record, {})
                    continue
                self.assertEqual(record.get("p"), p)
                self.assertEqual(bool(org), org_level)
                if org:
                    self.assertEqual(org, pd)

    @unittest.skipIf(receiver_record is None, "python3-authheaders is not installed")
    def test_organizational_domains_agree_with_publicsuffix2(self):
        for name, want in ORG_DOMAINS.items():
            with self.subTest(name=name):
                _, out = self.tern("lookup", name, "--config", self.config)
                self.assertEqual(fields(out)["organizational-domain"], want, out)
                self.assertEqual(get_org_domain(name), want)

    def test_record(self):
        _, out = self.tern("record", "v=DMARC1; p=reject; sp=none; pct=150; adkim=s; "
                           "rua=mailto:a@example.com!1k,https://x.example/", want_rc=0)
        f = fields(out)
        self.assertEqual(f["p"], "reject")
        self.assertEqual(f["sp"], "none")
        self.assertEqual(f["pct"], "100")
        self.assertEqual(f["adkim"], "s (strict)")
        self.assertEqual(f["rua"], "mailto:a@example.com!1024")
        self.assertIn("warning: pct=150 is above 100; using 100", out)
        self.assertIn("not a mailto: URI", out)
        _, out = self.tern("record", "v=DMARC1; p=bogus", want_rc=1)
        self.assertIn("error: p=bogus is not none, quarantine or reject", out)
        _, out = self.tern("record", "v=DMARC1; rua=mailto:a@example.com", want_rc=0)
        self.assertEqual(fields(out)["p"], "none (defaulted)")
        self.tern("record", "v=spf1 -all", want_rc=1)

    def evaluate(self, domain, *args, want_rc, log=True):
        extra = ["--log", self.log_dir, "--time", str(T)] if log else []
        _, out = self.tern("evaluate", domain, "--config", self.config, *args, *extra,
                           want_rc=want_rc)
        return fields(out)

    def test_evaluate_and_report(self):
        for _ in range(3):
            f = self.evaluate("example.com", "--dkim", "example.com:s1=pass", "--spf-domain",
                              "example.com", "--spf", "pass", "--ip", "192.0.2.1", want_rc=0)
            self.assertEqual(f["result"], "pass")
            self.assertEqual(f["logged"], f"{self.log_dir}/{DAY}")
        f = self.evaluate("example.com", "--dkim", "attacker.example:x=pass", "--spf-domain",
                          "attacker.example", "--spf", "pass", "--ip", "2001:db8::7", want_rc=1)
        self.assertEqual((f["result"], f["applied"]), ("fail", "reject"))
        f = self.evaluate("mail.example.com", "--spf-domain", "bounce.example.com", "--spf",
                          "pass", "--ip", "192.0.2.1", want_rc=0)
        self.assertEqual((f["result"], f["spf-aligned"]), ("pass", "yes"))
        f = self.evaluate("mail.example.com", "--spf-domain", "mail.example.com", "--spf",
                          "softfail", "--ip", "198.51.100.5", want_rc=1)
        self.assertEqual((f["requested"], f["applied"]), ("quarantine", "quarantine"))  # sp=
        f = self.evaluate("example.net", "--sample", "0.7", "--ip", "192.0.2.9", "--helo",
                          "--spf-domain", "helo.example.net", "--spf", "softfail", want_rc=1)
        self.assertEqual((f["requested"], f["applied"]), ("quarantine", "none"))  # pct=50
        f = self.evaluate("example.org", "--ip", "192.0.2.10", want_rc=1)
        self.assertEqual(f["result"], "none")
        self.assertNotIn("logged", f)  # nobody to report to
        f = self.evaluate("example.com", "--spf-domain", "example.com", "--spf", "temperror",
                          want_rc=75, log=False)
        self.assertEqual(f["result"], "temperror")

        report = ["report", "--dir", self.log_dir, "--day", DAY, "--hostname", "mx.receiver.test",
                  "--org", "Receiver & Co", "--email", "dmarc@receiver.test"]
        _, out = self.tern(*report, want_rc=0)
        ids = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("report: ")]
        self.assertEqual(ids, ["1710028800.example.com@mx.receiver.test",
                               "1710028800.example.net@mx.receiver.test"])

        _, xml_text = self.tern(*report, "--xml", "--domain", "example.com", want_rc=0)
        root = ET.fromstring(xml_text.encode())
        check_structure(self, root)
        self.assertEqual(root.findtext("version"), "1.0")
        meta = root.find("report_metadata")
        self.assertEqual(meta.findtext("org_name"), "Receiver & Co")
        self.assertEqual(meta.findtext("email"), "dmarc@receiver.test")
        self.assertEqual(meta.findtext("report_id"), "1710028800.example.com@mx.receiver.test")
        self.assertEqual(meta.findtext("date_range/begin"), "1710028800")
        self.assertEqual(meta.findtext("date_range/end"), "1710115199")
        pp = root.find("policy_published")
        self.assertEqual({c.tag: c.text for c in pp},
                         {"domain": "example.com", "adkim": "r", "aspf": "r", "p": "reject",
                          "sp": "quarantine", "pct": "100", "fo": "0"})
        rows = [(r.findtext("row/source_ip"), r.findtext("row/count"),
                 r.findtext("row/policy_evaluated/disposition"),
                 r.findtext("row/policy_evaluated/dkim"), r.findtext("row/policy_evaluated/spf"),
                 r.findtext("identifiers/header_from"), r.findtext("identifiers/envelope_from"))
                for r in root.findall("record")]
        self.assertEqual(rows, [
            ("192.0.2.1", "3", "none", "pass", "pass", "example.com", "example.com"),
            ("2001:db8:0:0:0:0:0:7", "1", "reject", "fail", "fail", "example.com",
             "attacker.example"),
            ("192.0.2.1", "1", "none", "fail", "pass", "mail.example.com", "bounce.example.com"),
            ("198.51.100.5", "1", "quarantine", "fail", "fail", "mail.example.com",
             "mail.example.com"),
        ])
        first = root.findall("record")[0]
        self.assertEqual([(d.findtext("domain"), d.findtext("selector"), d.findtext("result"))
                          for d in first.findall("auth_results/dkim")],
                         [("example.com", "s1", "pass")])
        self.assertEqual((first.findtext("auth_results/spf/domain"),
                          first.findtext("auth_results/spf/scope"),
                          first.findtext("auth_results/spf/result")),
                         ("example.com", "mfrom", "pass"))

        _, xml_net = self.tern(*report, "--xml", "--domain", "example.net", want_rc=0)
        net = ET.fromstring(xml_net.encode())
        check_structure(self, net)
        rec = net.find("record")
        self.assertEqual(rec.findtext("row/policy_evaluated/disposition"), "none")
        self.assertEqual(rec.findtext("row/policy_evaluated/reason/type"), "sampled_out")
        self.assertEqual(rec.findtext("auth_results/spf/scope"), "helo")
        self.assertEqual(rec.findtext("identifiers/envelope_from"), "")  # null sender: empty
        self.assertEqual(net.findtext("policy_published/pct"), "50")

        # The whole message, read by the email package.
        p = subprocess.run([TERN_BIN, "dmarc", *report, "--message", "--domain", "example.com"],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"\n", p.stdout.replace(b"\r\n", b""))  # CRLF only
        msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Report Domain: example.com Submitter: mx.receiver.test "
                                         "Report-ID: <1710028800.example.com@mx.receiver.test>")
        self.assertEqual([a.addr_spec for a in msg["To"].addresses],
                         ["agg@example.com", "agg@reports.example.net"])
        self.assertEqual(msg["From"].addresses[0].addr_spec, "dmarc@receiver.test")
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        parts = list(msg.iter_parts())
        self.assertEqual([x.get_content_type() for x in parts], ["text/plain", "application/gzip"])
        self.assertEqual(parts[1].get_filename(),
                         "mx.receiver.test!example.com!1710028800!1710115199.xml.gz")
        self.assertEqual(gzip.decompress(parts[1].get_content()).decode(), xml_text)

        # Nothing for a day without a log; a bad day is a usage error.
        self.tern("report", "--dir", self.log_dir, "--day", "2024-03-11", "--hostname", "h",
                  want_rc=1)
        self.tern("report", "--dir", self.log_dir, "--day", "2024-13-01", "--hostname", "h",
                  want_rc=2)


if __name__ == "__main__":
    main()
