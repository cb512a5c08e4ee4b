"""`tern check DOMAIN` (src/check/, docs/check.md) against a real DNS server:
unbound on loopback (dns_server.py) serving a domain set up as it should be
and several broken ones, with DKIM keys made by `tern dkim keygen` in the
data dir of the config, `[dns] forward` pointing at the server.

What this proves:
  - good.test (MX to this server's hostname, addresses with matching
    reverse DNS, "v=spf1 mx -all", the published DKIM key of the data dir,
    DMARC p=reject) gives only "ok" lines and exit status 0;
  - bad.test (MX host without reverse DNS and not this server, two SPF
    records, a DKIM record holding another key, no DMARC record) gives a
    FAIL line for each, with the exact record to publish under it, and
    exit status 1;
  - a null MX, a reverse DNS that does not resolve back, a DNS failure and
    a domain without any DKIM key are reported as FAIL;
  - bad arguments and configs give exit status 2;
  - --bulk (issue 15) adds the bulk sender requirements: all ok for
    good.test; a FAIL for DKIM on nokey.test, and for reverse DNS on
    helo.test, whose PTR resolves back but is not the EHLO name (its
    DMARC p=none is enough).
No query leaves the machine.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from dns_server import DnsServer
from tern_harness import TERN_BIN, main, root_opt_in

HOST = "mail.good.test"  # this server's hostname


def unbound_line(zone_line):
    """keygen's `name. IN TXT ( "a" "b" )` as an unbound local-data line."""
    name = zone_line.split()[0]
    strings = " ".join(f'"{s}"' for s in re.findall(r'"([^"]*)"', zone_line))
    return f"{name} 300 IN TXT {strings}"


def write_config(path, data_dir, forward=None):
    with open(path, "w") as f:
        f.write(root_opt_in() + f'data_dir = "{data_dir}"\nhostname = "{HOST}"\n'
                '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n')
        if forward:
            f.write(f'[dns]\nforward = ["{forward}"]\ntimeout = 3\n')


def keygen(config, domain, selector, kind="ed25519"):
    p = subprocess.run([TERN_BIN, "dkim", "keygen", domain, "--type", kind, "--selector",
                        selector, "--config", config], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tern-check-it-")
        cls.data = os.path.join(cls.tmp, "data")
        cls.config = os.path.join(cls.tmp, "tern.toml")
        write_config(cls.config, cls.data)  # keys first: keygen needs no DNS
        cls.good_rsa = keygen(cls.config, "good.test", "s-rsa", "rsa")
        cls.good_ed = keygen(cls.config, "good.test", "s-ed")
        cls.bad_key = keygen(cls.config, "bad.test", "s1")
        keygen(cls.config, "nullmx.test", "s1")
        cls.helo_key = keygen(cls.config, "helo.test", "s1")
        # Another key, published under bad.test's selector: not the one we hold.
        other_config = os.path.join(cls.tmp, "other.toml")
        write_config(other_config, os.path.join(cls.tmp, "other-data"))
        impostor = keygen(other_config, "bad.test", "s1")
        records = [
            unbound_line(cls.good_rsa),
            unbound_line(cls.good_ed),
            unbound_line(impostor),
            unbound_line(cls.helo_key),
            # good.test: as it should be.
            "good.test. 300 IN MX 10 mail.good.test.",
            "mail.good.test. 300 IN A 192.0.2.10",
            "mail.good.test. 300 IN AAAA 2001:db8::10",
            'good.test. 300 IN TXT "v=spf1 mx -all"',
            'good.test. 300 IN TXT "some-verification=abc"',
            '_dmarc.good.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"',
            '_smtp._tls.good.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@good.test"',
            # bad.test: an MX elsewhere without reverse DNS, two SPF records,
            # someone else's DKIM key (above), no DMARC.
            "bad.test. 300 IN MX 10 mx.bad.test.",
            "mx.bad.test. 300 IN A 192.0.2.20",
            'bad.test. 300 IN TXT "v=spf1 mx -all"',
            'bad.test. 300 IN TXT "v=spf1 ip4:192.0.2.20 ~all"',
            # nullmx.test: says it takes no mail.
            "nullmx.test. 300 IN MX 0 .",
            # ptr.test: sent from by a host whose reverse DNS does not lead back.
            "ptr.test. 300 IN MX 10 mail.good.test.",
            "mail2.ptr.test. 300 IN A 192.0.2.31",
            "mail9.ptr.test. 300 IN A 192.0.2.99",
            'ptr.test. 300 IN TXT "v=spf1 mx -all"',
            # nokey.test: everything but a DKIM key of ours.
            "nokey.test. 300 IN MX 10 mail.good.test.",
            'nokey.test. 300 IN TXT "v=spf1 mx -all"',
            '_dmarc.nokey.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@nokey.test"',
            # helo.test: sent from mail3.helo.test, whose PTR other.helo.test
            # resolves back to it but is not the EHLO name; DMARC p=none.
            "helo.test. 300 IN MX 10 mail3.helo.test.",
            "mail3.helo.test. 300 IN A 192.0.2.40",
            "other.helo.test. 300 IN A 192.0.2.40",
            'helo.test. 300 IN TXT "v=spf1 mx -all"',
            '_dmarc.helo.test. 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@helo.test"',
        ]
        ptr = [("192.0.2.10", HOST), ("2001:db8::10", HOST),
               ("192.0.2.31", "mail9.ptr.test"), ("192.0.2.40", "other.helo.test")]
        cls.dns = DnsServer(zones=["good.test", "bad.test", "nullmx.test", "ptr.test",
                                   "nokey.test", "helo.test"],
                            records=records, ptr=ptr, servfail=["flaky.test"]).start()
        write_config(cls.config, cls.data, cls.dns.forward)

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, domain, config=None, want_rc=None, bulk=False):
        p = subprocess.run([TERN_BIN, "check", domain, "--config", config or self.config]
                           + (["--bulk"] if bulk else []),
                           capture_output=True, text=True, timeout=120)
        if want_rc is not None:
            self.assertEqual(p.returncode, want_rc, p.stdout + p.stderr)
        return p

    def lines(self, out):
        """The finding lines: (level, topic, summary)."""
        found = []
        for line in out.splitlines():
            m = re.match(r"^(ok|warn|FAIL) +(\w+) +(.*)$", line)
            if m:
                found.append(m.groups())
        return found

    def finding(self, out, level, topic, text):
        for lv, tp, summary in self.lines(out):
            if lv == level and tp == topic and text in summary:
                return summary
        self.fail(f"no {level} {topic} finding with {text!r} in:\n{out}")

    def block(self, out, text):
        """The finding line holding `text` and the lines under it."""
        lines = out.splitlines()
        for i, line in enumerate(lines):
            if text in line and re.match(r"^(ok|warn|FAIL) ", line):
                block = [line]
                for more in lines[i + 1:]:
                    if not more.startswith(" "):
                        break
                    block.append(more.strip())
                return block
        self.fail(f"no finding with {text!r} in:\n{out}")

    def test_good_domain_is_all_ok(self):
        p = self.check("good.test", want_rc=0)
        levels = {lv for lv, _, _ in self.lines(p.stdout)}
        self.assertEqual(levels, {"ok"}, p.stdout)
        self.finding(p.stdout, "ok", "mx", "good.test has MX 10 mail.good.test")
        self.finding(p.stdout, "ok", "host", "192.0.2.10, 2001:db8::10")
        self.finding(p.stdout, "ok", "ptr", "192.0.2.10 has reverse DNS mail.good.test")
        self.finding(p.stdout, "ok", "ptr", "2001:db8::10 has reverse DNS mail.good.test")
        self.finding(p.stdout, "ok", "spf", "passes for this server's address 192.0.2.10")
        self.finding(p.stdout, "ok", "spf", "passes for this server's address 2001:db8::10")
        self.finding(p.stdout, "ok", "dkim", "selector s-rsa (rsa key")
        self.finding(p.stdout, "ok", "dkim", "selector s-ed (ed25519 key")
        self.finding(p.stdout, "ok", "dmarc", "p=reject")
        self.finding(p.stdout, "ok", "sts", "good.test has no MTA-STS record")
        self.finding(p.stdout, "ok", "tlsrpt", '"v=TLSRPTv1; rua=mailto:tls@good.test"')
        self.finding(p.stdout, "ok", "dane", "this server has no certificate yet")
        self.assertIn("0 failed, 0 warnings", p.stdout)
        # Case and a trailing dot do not matter.
        self.check("Good.Test.", want_rc=0)

    def test_broken_domain(self):
        p = self.check("bad.test", want_rc=1)
        out = p.stdout
        self.finding(out, "warn", "mx", f"none of the MX hosts of bad.test is this server ({HOST})")
        self.assertEqual(self.block(out, "192.0.2.20 (mx.bad.test) has no reverse DNS")[-1],
                         "20.2.0.192.in-addr.arpa. IN PTR mx.bad.test.")
        spf = self.block(out, "bad.test has more than one SPF record")
        self.assertTrue(spf[0].startswith("FAIL  spf"), spf)
        self.assertIn("found: v=spf1 ip4:192.0.2.20 ~all", spf)
        # Merged: both records' terms (in the order DNS gave them), this
        # server's addresses, and the stricter "all".
        m = re.fullmatch(r'bad\.test\. IN TXT "v=spf1 (.*) -all"', spf[-1])
        self.assertTrue(m, spf)
        self.assertEqual(sorted(m.group(1).split()),
                         ["ip4:192.0.2.10", "ip4:192.0.2.20", "ip6:2001:db8::10", "mx"])
        self.assertTrue(m.group(1).endswith("ip4:192.0.2.10 ip6:2001:db8::10"), spf)
        dkim = self.block(out, "selector s1 (ed25519 key")
        self.assertTrue(dkim[0].startswith("FAIL  dkim"), dkim)
        self.assertIn("is not this key", dkim[0])
        self.assertEqual(dkim[-1], self.bad_key)  # exactly what keygen printed
        dmarc = self.block(out, "bad.test has no DMARC record")
        self.assertTrue(dmarc[0].startswith("FAIL  dmarc"), dmarc)
        self.assertIn('_dmarc.bad.test. IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@bad.test"',
                      dmarc)
        # This server's own name is still checked: it is the EHLO name.
        self.finding(out, "ok", "ptr", "192.0.2.10 has reverse DNS mail.good.test")

    def test_null_mx(self):
        p = self.check("nullmx.test", want_rc=1)
        block = self.block(p.stdout, "has a null MX (RFC 7505)")
        self.assertTrue(block[0].startswith("FAIL  mx"), block)
        self.assertEqual(block[-1], f"nullmx.test. IN MX 10 {HOST}.")
        self.finding(p.stdout, "FAIL", "spf", "nullmx.test has no SPF record")
        self.finding(p.stdout, "FAIL", "dkim", "nothing published at s1._domainkey.nullmx.test")

    def test_reverse_dns_that_does_not_resolve_back(self):
        # A server named mail2.ptr.test (192.0.2.31) whose PTR names
        # mail9.ptr.test, which has another address.
        config = os.path.join(self.tmp, "ptr.toml")
        with open(config, "w") as f:
            f.write(f'data_dir = "{self.data}"\nhostname = "mail2.ptr.test"\n'
                    '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n'
                    f'[dns]\nforward = ["{self.dns.forward}"]\ntimeout = 3\n')
        p = self.check("ptr.test", config=config, want_rc=1)
        block = self.block(p.stdout, "192.0.2.31 has reverse DNS mail9.ptr.test, but")
        self.assertTrue(block[0].startswith("FAIL  ptr"), block)
        self.assertEqual(block[-1], "mail9.ptr.test. IN A 192.0.2.31")
        self.finding(p.stdout, "warn", "mx", "none of the MX hosts of ptr.test is this server")
        self.finding(p.stdout, "ok", "ptr", "192.0.2.10 has reverse DNS mail.good.test")
        # "mx" names mail.good.test, not this server: SPF fails for it.
        block = self.block(p.stdout, "does not authorise this server's address 192.0.2.31")
        self.assertEqual(block[-1], 'ptr.test. IN TXT "v=spf1 ip4:192.0.2.31 mx -all"')

    def test_no_dkim_key(self):
        p = self.check("nokey.test", want_rc=1)
        block = self.block(p.stdout, "no DKIM key for nokey.test")
        self.assertTrue(block[0].startswith("FAIL  dkim"), block)
        self.assertTrue(any("tern dkim keygen nokey.test" in line for line in block), block)
        self.finding(p.stdout, "ok", "spf", "passes for this server's address 192.0.2.10")
        self.finding(p.stdout, "ok", "dmarc", "p=quarantine")

    def bulk_lines(self, out):
        return [(lv, summary) for lv, tp, summary in self.lines(out) if tp == "bulk"]

    def test_bulk_good_domain(self):
        self.assertEqual(self.bulk_lines(self.check("good.test", want_rc=0).stdout), [])
        p = self.check("good.test", want_rc=0, bulk=True)
        bulk = self.bulk_lines(p.stdout)
        self.assertEqual([lv for lv, _ in bulk], ["ok"] * 6, p.stdout)
        self.finding(p.stdout, "ok", "bulk", "good.test meets the DNS requirements of Gmail")
        self.finding(p.stdout, "ok", "bulk", "SPF of good.test passes for this server (2 of 2")
        self.finding(p.stdout, "ok", "bulk", "signed with d=good.test by a published key")
        self.finding(p.stdout, "ok", "bulk", "DMARC: good.test has p=reject")
        self.finding(p.stdout, "ok", "bulk", f"2 of 2 addresses of this server have a PTR of {HOST}")
        self.finding(p.stdout, "ok", "bulk", "TLS: this server uses STARTTLS")
        # What DNS cannot tell is said under the first line.
        head = " ".join(self.block(p.stdout, "meets the DNS requirements"))
        self.assertIn("List-Unsubscribe-Post", head)
        self.assertIn("0.3%", head)

    def test_bulk_without_dkim(self):
        p = self.check("nokey.test", want_rc=1, bulk=True)
        self.finding(p.stdout, "FAIL", "bulk", "nokey.test misses 1 of the requirements")
        block = self.block(p.stdout, "DKIM: mail from nokey.test is signed")
        self.assertTrue(block[0].startswith("FAIL  bulk"), block)
        self.finding(p.stdout, "ok", "bulk", "SPF of nokey.test passes")
        self.finding(p.stdout, "ok", "bulk", "DMARC: nokey.test has p=quarantine")

    def test_bulk_reverse_dns_not_the_helo_name(self):
        config = os.path.join(self.tmp, "helo.toml")
        with open(config, "w") as f:
            f.write(f'data_dir = "{self.data}"\nhostname = "mail3.helo.test"\n'
                    '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n'
                    f'[dns]\nforward = ["{self.dns.forward}"]\ntimeout = 3\n')
        p = self.check("helo.test", config=config, want_rc=1, bulk=True)
        # Without --bulk a PTR naming another host is only a warning ...
        self.finding(p.stdout, "warn", "ptr", "192.0.2.40 has reverse DNS other.helo.test, not")
        self.finding(p.stdout, "warn", "dmarc", "p=none")
        # ... for bulk senders it is a requirement; p=none is enough.
        self.finding(p.stdout, "FAIL", "bulk", "helo.test misses 1 of the requirements")
        self.finding(p.stdout, "FAIL", "bulk", "0 of 1 addresses of this server have a PTR of "
                     "mail3.helo.test")
        self.finding(p.stdout, "ok", "bulk", "DMARC: helo.test has p=none")
        self.finding(p.stdout, "ok", "bulk", "signed with d=helo.test")

    def test_dns_failure(self):
        p = self.check("flaky.test", want_rc=1)
        self.finding(p.stdout, "FAIL", "mx", "could not look up the MX records of flaky.test")

    def test_usage_errors(self):
        self.check("not a domain", want_rc=2)
        self.check("localhost", want_rc=2)
        self.check("good.test", config=os.path.join(self.tmp, "missing.toml"), want_rc=2)
        p = subprocess.run([TERN_BIN, "check"], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
