"""`tern spf check` (src/spf/, RFC 7208) against pyspf (Debian's python3-spf),
both asking the same real DNS server: unbound on loopback (dns_server.py)
holding SPF records for a corpus of test domains. Every case checks that
our result is the expected one and the same as pyspf's, covering each
mechanism (all, include, a, mx, ptr, ip4, ip6, exists), both modifiers
(redirect, exp), macros, the limits, and every result (pass, fail,
softfail, neutral, none, temperror, permerror). No query leaves the machine.
"""
import os
import shutil
import subprocess
import tempfile
import unittest
import warnings

import dns.resolver
import spf

from dns_server import DnsServer
from tern_harness import TERN_BIN, main

# pyspf 2.0.14 calls dnspython's deprecated dns.resolver.query().
warnings.filterwarnings("ignore", category=DeprecationWarning, module="spf")

Z = "spf.test"


def txt(name, *strings):
    quoted = " ".join('"' + s.replace('"', '\\"') + '"' for s in strings)
    return f"{name}.{Z}. 300 IN TXT {quoted}"


RECORDS = [
    txt("ip4", "v=spf1 ip4:192.0.2.0/24 -all"),
    txt("ip6", "v=spf1 ip6:2001:db8::/32 ~all"),
    txt("a", "v=spf1 a -all"),
    f"a.{Z}. 300 IN A 192.0.2.20",
    txt("acidr", f"v=spf1 a:host.{Z}/24 -all"),
    f"host.{Z}. 300 IN A 198.51.100.1",
    txt("mx", "v=spf1 mx -all"),
    f"mx.{Z}. 300 IN MX 10 mail.{Z}.",
    f"mail.{Z}. 300 IN A 192.0.2.30",
    f"mail.{Z}. 300 IN AAAA 2001:db8::30",
    txt("inc", f"v=spf1 include:ip4.{Z} ?all"),
    txt("exists", f"v=spf1 exists:%{{ir}}.%{{l}}.list.{Z} -all"),
    f"10.2.0.192.alice.list.{Z}. 300 IN A 127.0.0.2",
    txt("ptr", "v=spf1 ptr -all"),
    f"h40.ptr.{Z}. 300 IN A 192.0.2.40",
    f"h41.other.{Z}. 300 IN A 192.0.2.41",
    txt("redir", f"v=spf1 redirect=ip4.{Z}"),
    txt("exp", f"v=spf1 ip4:192.0.2.1 -all exp=why.{Z}"),
    txt("why", "%{i} is not allowed to send mail as %{s} (%{d})"),
    txt("soft", "v=spf1 ~all"),
    txt("neutral", "v=spf1 ?all"),
    txt("nomatch", "v=spf1 ip4:192.0.2.1"),
    txt("none", "just some text"),
    txt("two", "v=spf1 -all"),
    txt("two", "v=spf1 +all"),
    txt("syntax", "v=spf1 ip4:192.0.2.300 -all"),
    txt("incnone", f"v=spf1 include:nothing.{Z} -all"),
    txt("redirnone", f"v=spf1 redirect=none.{Z}"),
    txt("incbroken", "v=spf1 include:x.broken.test -all"),
    # 11 DNS mechanisms: a chain of includes, each costing one.
    *[txt(f"l{i}", f"v=spf1 include:l{i + 1}.{Z} -all") for i in range(11)],
    txt("l11", "v=spf1 +all"),
    # Three void lookups (names with no A).
    txt("void", f"v=spf1 a:v1.{Z} a:v2.{Z} a:v3.{Z} +all"),
    txt("helo", "v=spf1 a -all"),
    f"helo.{Z}. 300 IN A 192.0.2.50",
    txt("macro", f"v=spf1 a:%{{l1-}}.%{{o}} -all"),
    f"bob.macro.{Z}. 300 IN A 192.0.2.60",
]
PTR = [("192.0.2.40", f"h40.ptr.{Z}"), ("192.0.2.41", f"h41.other.{Z}")]

# (ip, sender, helo, expected result)
CASES = [
    ("192.0.2.10", f"u@ip4.{Z}", "h", "pass"),
    ("198.51.100.1", f"u@ip4.{Z}", "h", "fail"),
    ("2001:db8::5", f"u@ip6.{Z}", "h", "pass"),
    ("2001:db9::1", f"u@ip6.{Z}", "h", "softfail"),
    ("192.0.2.20", f"u@a.{Z}", "h", "pass"),
    ("198.51.100.77", f"u@acidr.{Z}", "h", "pass"),
    ("198.51.101.1", f"u@acidr.{Z}", "h", "fail"),
    ("192.0.2.30", f"u@mx.{Z}", "h", "pass"),
    ("2001:db8::30", f"u@mx.{Z}", "h", "pass"),
    ("192.0.2.31", f"u@mx.{Z}", "h", "fail"),
    ("192.0.2.10", f"u@inc.{Z}", "h", "pass"),
    ("203.0.113.1", f"u@inc.{Z}", "h", "neutral"),
    ("192.0.2.10", f"alice@exists.{Z}", "h", "pass"),
    ("192.0.2.10", f"bob@exists.{Z}", "h", "fail"),
    ("192.0.2.40", f"u@ptr.{Z}", "h", "pass"),
    ("192.0.2.41", f"u@ptr.{Z}", "h", "fail"),
    ("192.0.2.10", f"u@redir.{Z}", "h", "pass"),
    ("203.0.113.9", f"u@redir.{Z}", "h", "fail"),
    ("203.0.113.9", f"u@exp.{Z}", "h", "fail"),
    ("203.0.113.9", f"u@soft.{Z}", "h", "softfail"),
    ("203.0.113.9", f"u@neutral.{Z}", "h", "neutral"),
    ("203.0.113.9", f"u@nomatch.{Z}", "h", "neutral"),
    ("203.0.113.9", f"u@none.{Z}", "h", "none"),
    ("203.0.113.9", f"u@nxdomain.{Z}", "h", "none"),
    ("203.0.113.9", f"u@two.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@syntax.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@incnone.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@redirnone.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@l0.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@l1.{Z}", "h", "pass"),
    ("203.0.113.9", f"u@void.{Z}", "h", "permerror"),
    ("203.0.113.9", f"u@incbroken.{Z}", "h", "temperror"),
    ("203.0.113.9", "u@mail.broken.test", "h", "temperror"),
    ("192.0.2.50", "", f"helo.{Z}", "pass"),
    ("192.0.2.51", "", f"helo.{Z}", "fail"),
    ("192.0.2.60", f"x-bob@macro.{Z}", "h", "pass"),
]


class SpfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zones=[Z], records=RECORDS, ptr=PTR,
                            servfail=["broken.test"]).start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-spf-it-")
        cls.config = os.path.join(cls.tmp, "tern.toml")
        with open(cls.config, "w") as f:
            f.write(f'data_dir = "{cls.tmp}/data"\n'
                    'hostname = "mx.receiver.test"\n'
                    "[dns]\n"
                    f'forward = ["{cls.dns.forward}"]\n'
                    "timeout = 3\n"
                    '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n')
        # pyspf asks dnspython's default resolver: point it at our server.
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = cls.dns.port
        resolver.lifetime = 3
        cls.saved_resolver = dns.resolver.default_resolver
        dns.resolver.default_resolver = resolver

    @classmethod
    def tearDownClass(cls):
        dns.resolver.default_resolver = cls.saved_resolver
        cls.dns.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tern(self, ip, sender, helo):
        p = subprocess.run([TERN_BIN, "spf", "check", ip, sender, "--helo", helo,
                            "--config", self.config],
                           capture_output=True, text=True, timeout=60)
        fields = dict(line.split(": ", 1) for line in p.stdout.splitlines() if ": " in line)
        self.assertIn("result", fields, p.stdout + p.stderr)
        want_rc = {"pass": 0, "temperror": 75}.get(fields["result"], 1)
        self.assertEqual(p.returncode, want_rc, p.stdout + p.stderr)
        return fields

    def test_cases_agree_with_pyspf(self):
        for ip, sender, helo, want in CASES:
            with self.subTest(ip=ip, sender=sender, helo=helo):
                ours = self.tern(ip, sender, helo)
                theirs, _ = spf.check2(i=ip, s=sender, h=helo)
                self.assertEqual(ours["result"], want, ours)
                self.assertEqual(theirs, want, "pyspf")

    def test_every_result_and_mechanism_is_covered(self):
        self.assertEqual({c[3] for c in CASES},
                         {"pass", "fail", "softfail", "neutral", "none", "temperror",
                          "permerror"})
        text = " ".join(RECORDS)
        for term in ["all", "include:", " a ", "mx", "ptr", "ip4:", "ip6:", "exists:",
                     "redirect=", "exp="]:
            self.assertIn(term, text)

    def test_explanation_and_mechanism(self):
        ours = self.tern("203.0.113.9", f"u@exp.{Z}", "h")
        _, theirs = spf.check2(i="203.0.113.9", s=f"u@exp.{Z}", h="h")
        want = f"203.0.113.9 is not allowed to send mail as u@exp.{Z} (exp.{Z})"
        self.assertEqual(ours["explanation"], want)
        self.assertEqual(theirs, want)
        self.assertEqual(ours["mechanism"], "-all")
        self.assertEqual(ours["domain"], f"exp.{Z}")
        ours = self.tern("192.0.2.10", f"u@redir.{Z}", "h")
        self.assertEqual(ours["mechanism"], "ip4:192.0.2.0/24")
        self.assertEqual(ours["domain"], f"ip4.{Z}")
        # Without exp=, the default explanation names the client and domain.
        ours = self.tern("198.51.100.1", f"u@ip4.{Z}", "h")
        self.assertIn("198.51.100.1", ours["explanation"])
        self.assertIn("problem", self.tern("203.0.113.9", f"u@l0.{Z}", "h"))

    def test_usage_errors(self):
        p = subprocess.run([TERN_BIN, "spf", "check", "not-an-ip", "u@ip4.spf.test",
                            "--config", self.config], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        p = subprocess.run([TERN_BIN, "spf", "check", "192.0.2.1", "<>",
                            "--config", self.config], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    main()
