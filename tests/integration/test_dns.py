"""tern resolve against a real DNS server: unbound on loopback
(dns_server.py), reached through [dns] forward. Covers MX routing (RFC 5321
5.1, RFC 7505) and the result types: NXDOMAIN and null MX are permanent
(exit 1), SERVFAIL and timeouts temporary (exit 75). No query leaves the
machine.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from dns_server import DnsServer
from tern_harness import TERN_BIN, main

Z = "tern.test"  # the zone served
RECORDS = [
    # Preferences out of order in the zone; hosts with both families or one.
    f"pref.{Z}. 300 IN MX 30 mx3.{Z}.",
    f"pref.{Z}. 300 IN MX 10 mx1.{Z}.",
    f"pref.{Z}. 300 IN MX 20 mx2.{Z}.",
    f"mx1.{Z}. 300 IN A 192.0.2.1",
    f"mx1.{Z}. 300 IN AAAA 2001:db8::1",
    f"mx2.{Z}. 300 IN A 192.0.2.2",
    f"mx3.{Z}. 300 IN AAAA 2001:db8::3",
    # Two hosts of equal preference, one behind.
    f"equal.{Z}. 300 IN MX 10 eq-a.{Z}.",
    f"equal.{Z}. 300 IN MX 10 eq-b.{Z}.",
    f"equal.{Z}. 300 IN MX 20 eq-c.{Z}.",
    f"eq-a.{Z}. 300 IN A 192.0.2.11",
    f"eq-b.{Z}. 300 IN A 192.0.2.12",
    f"eq-c.{Z}. 300 IN A 192.0.2.13",
    # No MX: the implicit MX.
    f"nomx.{Z}. 300 IN A 192.0.2.20",
    f"nomx.{Z}. 300 IN AAAA 2001:db8::20",
    f"txtonly.{Z}. 300 IN TXT \"no mail here\"",
    # Null MX, with an address that must not be used.
    f"nullmx.{Z}. 300 IN MX 0 .",
    f"nullmx.{Z}. 300 IN A 192.0.2.30",
    # CNAMEs at the domain.
    f"alias.{Z}. 300 IN CNAME pref.{Z}.",
    f"alias-nomx.{Z}. 300 IN CNAME nomx.{Z}.",
    # MX hosts that fail: SERVFAIL, NXDOMAIN, then one that works.
    f"partial.{Z}. 300 IN MX 10 mx.broken.test.",
    f"partial.{Z}. 300 IN MX 20 gone.{Z}.",
    f"partial.{Z}. 300 IN MX 30 mx2.{Z}.",
    f"deadhosts.{Z}. 300 IN MX 10 gone.{Z}.",
    f"deadhosts.{Z}. 300 IN MX 20 gone2.{Z}.",
    f"slowhosts.{Z}. 300 IN MX 10 mx.broken.test.",
    f"slowhosts.{Z}. 300 IN MX 20 gone.{Z}.",
    # TXT: a record of several strings, and a second record.
    f"txt.{Z}. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24\" \" -all\"",
    f"txt.{Z}. 300 IN TXT \"second \\\"quoted\\\" record\"",
]
PTR = [("192.0.2.1", f"mx1.{Z}"), ("2001:db8::1", f"mx1.{Z}")]
TIMEOUT = 2  # seconds, [dns] timeout


class DnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zones=[Z], records=RECORDS, ptr=PTR, servfail=["broken.test"],
                            drop=["silent.test"]).start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-dns-it-")
        cls.config = os.path.join(cls.tmp, "tern.toml")
        with open(cls.config, "w") as f:
            f.write(f'data_dir = "{cls.tmp}/data"\n'
                    "[dns]\n"
                    f'forward = ["{cls.dns.forward}"]\n'
                    f"timeout = {TIMEOUT}\n"
                    '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n')

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def resolve(self, *args, expect=None):
        p = subprocess.run([TERN_BIN, "resolve", *args, "--config", self.config],
                           capture_output=True, text=True, timeout=60)
        if expect is not None:
            self.assertEqual(p.returncode, expect,
                             f"tern resolve {' '.join(args)}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
        return p

    def routes(self, stdout):
        return [line for line in stdout.splitlines() if line.startswith("route")]

    # -- MX routing --

    def test_mx_sorted_by_preference_ipv6_first(self):
        p = self.resolve("mx", f"pref.{Z}", expect=0)
        self.assertEqual(sorted(l for l in p.stdout.splitlines() if " MX " in l),
                         [f"pref.{Z} 300 MX 10 mx1.{Z}", f"pref.{Z} 300 MX 20 mx2.{Z}",
                          f"pref.{Z} 300 MX 30 mx3.{Z}"])
        self.assertEqual(self.routes(p.stdout), [
            f"route mx1.{Z} (MX 10): 2001:db8::1 192.0.2.1",
            f"route mx2.{Z} (MX 20): 192.0.2.2",
            f"route mx3.{Z} (MX 30): 2001:db8::3",
        ])

    def test_equal_preferences_in_both_orders(self):
        seen = set()
        for _ in range(60):
            routes = self.routes(self.resolve("mx", f"equal.{Z}", expect=0).stdout)
            self.assertEqual(len(routes), 3, routes)
            self.assertEqual(routes[2], f"route eq-c.{Z} (MX 20): 192.0.2.13")
            seen.add(tuple(routes[:2]))
            if len(seen) == 2:
                break
        self.assertEqual(seen, {
            (f"route eq-a.{Z} (MX 10): 192.0.2.11", f"route eq-b.{Z} (MX 10): 192.0.2.12"),
            (f"route eq-b.{Z} (MX 10): 192.0.2.12", f"route eq-a.{Z} (MX 10): 192.0.2.11"),
        })

    def test_no_mx_means_implicit_mx(self):
        p = self.resolve("mx", f"nomx.{Z}", expect=0)
        self.assertEqual(self.routes(p.stdout),
                         [f"route nomx.{Z} (implicit MX): 2001:db8::20 192.0.2.20"])
        self.assertEqual(p.stderr, "")

    def test_no_mx_and_no_address_is_permanent(self):
        p = self.resolve("mx", f"txtonly.{Z}", expect=1)
        self.assertIn(f"route failed: 550 5.1.2 Domain txtonly.{Z} has no MX and no address",
                      p.stdout)

    def test_null_mx_is_permanent_and_looks_up_no_address(self):
        p = self.resolve("mx", f"nullmx.{Z}", expect=1)
        self.assertIn(f"nullmx.{Z} 300 MX 0 .", p.stdout)
        self.assertIn(f"route failed: 556 5.1.10 Recipient address has null MX (nullmx.{Z})",
                      p.stdout)
        self.assertIn("556 5.1.10", p.stderr)
        asked = [q for q in self.dns.queries() if q.startswith(f"nullmx.{Z}.")]
        self.assertIn(f"nullmx.{Z}. MX", asked)
        self.assertNotIn(f"nullmx.{Z}. A", asked)
        self.assertNotIn(f"nullmx.{Z}. AAAA", asked)

    def test_cname_at_the_domain_is_followed(self):
        p = self.resolve("mx", f"alias.{Z}", expect=0)
        self.assertIn(f"pref.{Z} 300 MX 10 mx1.{Z}", p.stdout)  # the canonical name
        self.assertEqual(self.routes(p.stdout), self.routes(
            self.resolve("mx", f"pref.{Z}", expect=0).stdout))
        p = self.resolve("mx", f"alias-nomx.{Z}", expect=0)
        self.assertEqual(self.routes(p.stdout),
                         [f"route nomx.{Z} (implicit MX): 2001:db8::20 192.0.2.20"])

    def test_nxdomain_is_permanent(self):
        p = self.resolve("mx", f"nowhere.{Z}", expect=1)
        self.assertIn(f"route failed: 550 5.1.2 Domain nowhere.{Z} does not exist", p.stdout)
        p = self.resolve("a", f"nowhere.{Z}", expect=1)
        self.assertEqual(p.stdout, "")
        self.assertIn("NXDOMAIN", p.stderr)

    def test_servfail_is_temporary(self):
        p = self.resolve("mx", "x.broken.test", expect=75)
        self.assertIn("route failed: 451 4.4.3 MX lookup for x.broken.test failed: SERVFAIL",
                      p.stdout)
        p = self.resolve("a", "x.broken.test", expect=75)
        self.assertIn("SERVFAIL", p.stderr)

    def test_timeout_is_temporary(self):
        start = time.monotonic()
        p = self.resolve("mx", "x.silent.test", expect=75)
        elapsed = time.monotonic() - start
        self.assertIn(f"MX lookup for x.silent.test failed: timed out after {TIMEOUT}s", p.stdout)
        self.assertGreaterEqual(elapsed, TIMEOUT - 0.1)
        self.assertLess(elapsed, TIMEOUT + 5)
        p = self.resolve("txt", "x.silent.test", expect=75)
        self.assertIn(f"timed out after {TIMEOUT}s", p.stderr)

    def test_failing_mx_hosts_are_skipped(self):
        p = self.resolve("mx", f"partial.{Z}", expect=0)
        self.assertEqual(self.routes(p.stdout), [f"route mx2.{Z} (MX 30): 192.0.2.2"])

    def test_no_mx_host_with_an_address(self):
        p = self.resolve("mx", f"deadhosts.{Z}", expect=1)
        self.assertIn(f"route failed: 550 5.4.4 No MX host of deadhosts.{Z} has an address",
                      p.stdout)
        # One of them only temporarily unresolvable: try later.
        p = self.resolve("mx", f"slowhosts.{Z}", expect=75)
        self.assertIn(f"route failed: 451 4.4.3 Address lookup for slowhosts.{Z} failed", p.stdout)

    def test_address_literal_needs_no_dns(self):
        p = self.resolve("mx", "[192.0.2.77]", expect=0)
        self.assertEqual(self.routes(p.stdout), ["route [192.0.2.77] (MX 0): 192.0.2.77"])

    def test_names_outside_the_test_zones_fail_without_leaving_the_machine(self):
        p = self.resolve("mx", "example.com", expect=75)
        self.assertIn("SERVFAIL", p.stdout)

    # -- other record types --

    def test_txt_keeps_the_strings_of_each_record(self):
        p = self.resolve("txt", f"txt.{Z}", expect=0)
        self.assertEqual(sorted(p.stdout.splitlines()), [
            f'txt.{Z} 300 TXT "second \\"quoted\\" record"',
            f'txt.{Z} 300 TXT "v=spf1 ip4:192.0.2.0/24" " -all"',
        ])

    def test_a_and_aaaa(self):
        self.assertEqual(self.resolve("a", f"mx1.{Z}", expect=0).stdout,
                         f"mx1.{Z} 300 A 192.0.2.1\n")
        self.assertEqual(self.resolve("AAAA", f"MX1.{Z}.", expect=0).stdout,
                         f"mx1.{Z} 300 AAAA 2001:db8::1\n")
        p = self.resolve("aaaa", f"mx2.{Z}", expect=1)  # NODATA
        self.assertIn("no AAAA record", p.stderr)

    def test_ptr(self):
        self.assertEqual(self.resolve("ptr", "192.0.2.1", expect=0).stdout,
                         f"1.2.0.192.in-addr.arpa 300 PTR mx1.{Z}\n")
        p = self.resolve("ptr", "2001:db8::1", expect=0)
        self.assertEqual(p.stdout, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                                   f".ip6.arpa 300 PTR mx1.{Z}\n")
        self.resolve("ptr", "192.0.2.99", expect=1)
        p = self.resolve("ptr", f"mx1.{Z}", expect=2)
        self.assertIn("wants an IP address", p.stderr)

    def test_usage_errors(self):
        p = self.resolve("srv", f"pref.{Z}", expect=2)
        self.assertIn("unknown record type 'srv'", p.stderr)


if __name__ == "__main__":
    main()
