"""DNSBL and DNSWL checks at connect (docs/filtering.md), end to end: tern
with [dns] forward to a real unbound on loopback (dns_server.py) serving
two block lists and an allow list, and clients connecting from distinct
127.0.x.y source addresses (all of 127/8 is loopback on Linux; the
loopback exemption is turned off with check_loopback = true).

- bl1.test (weight 1) alone is below the threshold of 2: served.
- bl1.test and bl2.test (weight 2, filter 127.0.0.[2..11]): 554 5.7.1
  naming bl2.test (the heavier) with its TXT reason; every command then
  gets 503 5.5.1 until QUIT (RFC 5321 3.1), which gets 221.
- A code outside bl2.test's filter does not count.
- wl.test (weight -5) cancels both.
- A list that answers SERVFAIL counts as not listed and is logged.
- The answer is cached: a second connection asks the DNS server nothing.
- The submission listener and (without check_loopback) loopback are exempt.
"""
import subprocess
import time
import unittest
import urllib.request

from dialog import SmtpClient
from dns_server import DnsServer
from tern_harness import TERN_BIN, Tern, free_port, main

RECORDS = [
    # 127.0.5.2: bl1 only
    "2.5.0.127.bl1.test. 300 IN A 127.0.0.2",
    # 127.0.5.3: bl1 and bl2 (with a reason)
    "3.5.0.127.bl1.test. 300 IN A 127.0.0.2",
    "3.5.0.127.bl2.test. 300 IN A 127.0.0.4",
    '3.5.0.127.bl2.test. 300 IN TXT "Listed by bl2, see https://bl2.test/q?127.0.5.3"',
    # 127.0.5.4: both block lists and the allow list
    "4.5.0.127.bl1.test. 300 IN A 127.0.0.2",
    "4.5.0.127.bl2.test. 300 IN A 127.0.0.3",
    "4.5.0.127.wl.test. 300 IN A 127.0.10.1",
    # 127.0.5.5: bl1, and bl2 with a code outside its filter
    "5.5.0.127.bl1.test. 300 IN A 127.0.0.2",
    "5.5.0.127.bl2.test. 300 IN A 127.0.0.255",
]
# ::1, RFC 5782 2.4: 32 nibbles, least significant first.
V6 = "1." + "0." * 31
RECORDS += [f"{V6}bl1.test. 300 IN A 127.0.0.2", f"{V6}bl2.test. 300 IN A 127.0.0.5"]
SITES = '["bl1.test*1", "bl2.test=127.0.0.[2..11]*2", "wl.test=127.0.[0..255].[1..3]*-5"]'


def config(forward, sites=SITES, check_loopback=True, metrics_port=None):
    return (f"check_loopback = {'true' if check_loopback else 'false'}\n"
            + (f'[metrics]\nlisten = "{metrics_port}"\n' if metrics_port else "") +
            f'[dns]\nforward = ["{forward}"]\ntimeout = 3\n'
            f"[dnsbl]\nsites = {sites}\nthreshold = 2\ntimeout = 3\n"
            # Sender authentication is not what is tested (it would ask for client.example.net).
            "[spf]\nenabled = false\n[dkim]\nverify = false\n[dmarc]\nenabled = false\n")


class Dnsbl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zones=["bl1.test", "bl2.test", "wl.test"], records=RECORDS,
                            servfail=["broken.test"], drop=["silent.test"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()

    def tern(self, **kw):
        t = Tern(kinds=("smtp", "submission"), accept_any_local_part=True,
                 extra=config(self.dns.forward, **kw))
        self.addCleanup(t.cleanup)
        return t.start()

    def greeting(self, t, source, kind="smtp"):
        c = SmtpClient("127.0.0.1", t.port(kind), source=source)
        self.addCleanup(c.close)
        return c, c.reply()

    def test_weights_threshold_and_allow_list(self):
        t = self.tern()
        for source in ("127.0.5.2", "127.0.5.4", "127.0.5.5", "127.0.5.6"):
            c, r = self.greeting(t, source)
            self.assertEqual(r.code, 220, (source, r))
            c.cmd("EHLO client.example.net", 250)
            c.cmd("MAIL FROM:<a@client.example.net>", 250)
            c.cmd("RCPT TO:<alice@example.test>", 250)
            c.cmd("QUIT", 221)
        log = t.read_log()
        self.assertIn("screen client=127.0.5.2 score=1 listed=bl1.test*1", log)
        self.assertIn("screen client=127.0.5.4 score=-2 listed=bl1.test*1,bl2.test*2,wl.test*-5",
                      log)
        self.assertIn("screen client=127.0.5.5 score=1 listed=bl1.test*1 ", log)
        self.assertIn("screen client=127.0.5.6 score=0 listed=-", log)

    def test_refused_names_the_heavier_zone_then_503_until_quit(self):
        metrics_port = free_port()
        t = self.tern(metrics_port=metrics_port)
        c, r = self.greeting(t, "127.0.5.3")
        self.assertEqual(r.code, 554, r)
        self.assertEqual(r.texts(), ["5.7.1 Service unavailable; client [127.0.5.3] blocked using "
                                     "bl2.test; Listed by bl2, see https://bl2.test/q?127.0.5.3"])
        for cmd in ("EHLO client.example.net", "MAIL FROM:<a@b.example>", "RCPT TO:<x@example.test>",
                    "DATA", "NOOP"):
            r = c.cmd(cmd, 503, "5.5.1")
            self.assertIn("Service unavailable; client [127.0.5.3] blocked using bl2.test", r.text())
        c.cmd("QUIT", 221)
        c.expect_close()
        self.assertTrue(t.wait_log("disconnect client=127.0.5.3"), t.tail_log())
        log = t.read_log()
        self.assertIn("refused client=127.0.5.3 command=\"\" reply=\"554 5.7.1 Service unavailable",
                      log)
        # Cached: a second connection is refused without asking again.
        before = [q for q in self.dns.queries() if q.startswith("3.5.0.127.")]
        self.assertIn("3.5.0.127.bl2.test. TXT", before)
        c2, r = self.greeting(t, "127.0.5.3")
        self.assertEqual(r.code, 554, r)
        self.assertIn("blocked using bl2.test; Listed by bl2", r.text())
        c2.cmd("QUIT", 221)
        self.assertEqual(sorted(q for q in self.dns.queries() if q.startswith("3.5.0.127.")),
                         sorted(before))
        self.assertIn("screen client=127.0.5.3 cached=yes score=3", t.read_log())
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as m:
            text = m.read().decode()
        self.assertIn('tern_dnsbl_rejections_total{zone="bl2.test"} 2', text)

    def test_ipv6_client_by_nibbles(self):
        t = Tern(kinds=("smtp",), host="::1", extra=config(self.dns.forward))
        self.addCleanup(t.cleanup)
        t.start()
        c = SmtpClient("::1", t.port())
        self.addCleanup(c.close)
        r = c.reply()
        self.assertEqual(r.code, 554, r)
        self.assertEqual(r.texts(), ["5.7.1 Service unavailable; client [::1] blocked using "
                                     "bl2.test"])
        c.cmd("QUIT", 221)
        self.assertIn(f"{V6}bl2.test. A", self.dns.queries())

    def test_too_many_commands_after_the_refusal_end_the_session(self):
        t = self.tern()
        c, r = self.greeting(t, "127.0.5.3")
        self.assertEqual(r.code, 554)
        replies = []
        for _ in range(25):
            c.line("NOOP")
        replies, closed = c.replies_until_close(timeout=10)
        self.assertTrue(closed)
        self.assertEqual(replies[-1].code, 421, replies[-1])
        self.assertTrue(all(r.code == 503 for r in replies[:-1]), replies)

    def test_a_failing_list_counts_as_not_listed(self):
        t = self.tern(sites='["bl1.test*1", "broken.test*5"]')
        c, r = self.greeting(t, "127.0.5.3")
        self.assertEqual(r.code, 220, r)
        c.cmd("QUIT", 221)
        self.assertTrue(t.wait_log("dnsbl lookup failed"), t.tail_log())
        log = t.read_log()
        self.assertIn("screen client=127.0.5.3 score=1 listed=bl1.test*1", log)
        self.assertIn('dnsbl lookup failed: "broken.test:', log)

    def test_a_silent_list_is_bounded_by_the_timeout(self):
        # [dnsbl] timeout = 1 while the resolver would wait 3 s: the greeting
        # comes after about a second, the silent list counted as not listed.
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 extra=config(self.dns.forward, sites='["bl1.test*1", "silent.test*5"]')
                 .replace("threshold = 2\ntimeout = 3", "threshold = 2\ntimeout = 1"))
        self.addCleanup(t.cleanup)
        t.start()
        start = time.monotonic()
        c, r = self.greeting(t, "127.0.5.3")
        took = time.monotonic() - start
        self.assertEqual(r.code, 220, r)
        self.assertLess(took, 2.5)
        c.cmd("QUIT", 221)
        self.assertTrue(t.wait_log("dnsbl lookup failed"), t.tail_log())
        self.assertIn('dnsbl lookup failed: "silent.test: no answer in time"', t.read_log())

    def test_exempt_listener_and_loopback(self):
        t = self.tern()
        c, r = self.greeting(t, "127.0.5.3", kind="submission")
        self.assertEqual(r.code, 220, r)
        c.cmd("QUIT", 221)
        t2 = self.tern(check_loopback=False)
        c, r = self.greeting(t2, "127.0.5.3")
        self.assertEqual(r.code, 220, r)
        c.cmd("QUIT", 221)
        self.assertNotIn("screen client=", t2.read_log())

    def test_bad_site_is_refused_at_load(self):
        t = Tern(kinds=("smtp",), extra=config(self.dns.forward, sites='["bl.test=127.0.0"]'))
        self.addCleanup(t.cleanup)
        p = subprocess.run([TERN_BIN, "serve", "--config", t.config_path], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("key 'dnsbl.sites': filter '127.0.0' must be four octets", p.stderr)


if __name__ == "__main__":
    main()
