"""Greylisting at RCPT TO (docs/filtering.md), end to end on the real tern:
clients connect from distinct 127.0.x.y addresses (check_loopback = true
turns the loopback exemption off).

- A first-seen (network, sender, recipient) gets 451 4.7.1 "Greylisted,
  try again in N seconds"; a retry before the delay too; the first retry
  after it passes and the message is stored; later ones pass at once.
- The state survives a restart of tern (<data_dir>/greylist.log).
- After auto_allow_after passes, the client's /24 is allowed outright.
- Loopback (without check_loopback), trusted_networks and a client on a
  DNSWL (a negative-weight [dnsbl] site served by a real unbound) are not
  greylisted.

The delay is 2 seconds here: the test polls (every 0.2 s) until the retry
passes, and checks it did not pass before the delay.
"""
import time
import unittest
import urllib.request

from dialog import SmtpClient
from dns_server import DnsServer
from tern_harness import Tern, free_port, main, unreachable_dns

DELAY = 2


# Sender authentication is not what is tested: off, so no lookup is made.
NO_AUTH_CHECKS = "[spf]\nenabled = false\n[dkim]\nverify = false\n[dmarc]\nenabled = false\n"


def greylist_toml(check_loopback=True, extra="", dns=None):
    return (f"check_loopback = {'true' if check_loopback else 'false'}\n{extra}"
            f"{dns or unreachable_dns()}{NO_AUTH_CHECKS}"
            f"[greylist]\nenabled = true\ndelay = {DELAY}\nauto_allow_after = 2\n")


class Greylist(unittest.TestCase):
    def tern(self, **kw):
        t = Tern(kinds=("smtp",), accept_any_local_part=True, extra=greylist_toml(**kw))
        self.addCleanup(t.cleanup)
        return t.start()

    def rcpt(self, t, source, sender, rcpt, data=True):
        """One transaction from `source`: the RCPT reply, with DATA when accepted."""
        c = SmtpClient("127.0.0.1", t.port(), source=source)
        try:
            c.expect(220)
            c.cmd("EHLO client.example.net", 250)
            c.cmd(f"MAIL FROM:<{sender}>", 250)
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            if r.code == 250 and data:
                c.cmd("DATA", 354)
                c.send(b"Subject: greylist\r\n\r\nhello\r\n.\r\n")
                c.expect(250)
            c.cmd("QUIT", 221)
            return r
        finally:
            c.close()

    def wait_pass(self, t, source, sender, rcpt, first):
        """Retries until accepted; returns when it was (seconds after `first`)."""
        deadline = time.monotonic() + DELAY + 10
        while time.monotonic() < deadline:
            r = self.rcpt(t, source, sender, rcpt)
            if r.code == 250:
                return time.monotonic() - first
            self.assertEqual((r.code, r.enhanced()), (451, "4.7.1"), r)
            time.sleep(0.2)
        self.fail("never passed greylisting")

    def test_defer_pass_and_restart(self):
        t = self.tern()
        first = time.monotonic()
        r = self.rcpt(t, "127.0.7.2", "a@sender.example", "alice@example.test")
        self.assertEqual(r.code, 451, r)
        self.assertEqual(r.texts(), [f"4.7.1 Greylisted, try again in {DELAY} seconds"])
        self.assertEqual(t.messages("alice@example.test"), [])
        waited = self.wait_pass(t, "127.0.7.2", "a@sender.example", "alice@example.test", first)
        self.assertGreaterEqual(waited, DELAY - 1)  # whole seconds: at least the delay
        self.assertEqual(len(t.wait_messages("alice@example.test", 1)), 1)
        # Passed: at once from now on, from any address of the /24.
        self.assertEqual(self.rcpt(t, "127.0.7.99", "a@sender.example", "alice@example.test").code,
                         250)
        log = t.read_log()
        self.assertIn("greylist client=127.0.7.2 network=127.0.7.0/24 from=<a@sender.example> "
                      "to=<alice@example.test> result=passed", log)
        self.assertIn('reply="451 4.7.1 Greylisted', log)
        # A new triplet is waiting when tern restarts.
        r = self.rcpt(t, "127.0.7.2", "b@sender.example", "alice@example.test")
        self.assertEqual(r.code, 451, r)
        restarted = time.monotonic()
        self.assertEqual(t.stop(), 0)
        t.start()
        self.assertIn("entries", t.read_log().split("greylist ")[-1])
        self.assertEqual(self.rcpt(t, "127.0.7.2", "a@sender.example", "alice@example.test").code,
                         250)
        self.wait_pass(t, "127.0.7.2", "b@sender.example", "alice@example.test", restarted)
        self.assertGreaterEqual(time.monotonic() - restarted, DELAY - 1)

    def test_auto_allow_after_two_passes(self):
        metrics_port = free_port()
        t = self.tern(extra=f'[metrics]\nlisten = "{metrics_port}"\n')
        for sender in ("one@s.example", "two@s.example"):
            first = time.monotonic()
            self.assertEqual(self.rcpt(t, "127.0.8.2", sender, "bob@example.test").code, 451)
            self.wait_pass(t, "127.0.8.2", sender, "bob@example.test", first)
        # The /24 now passes any triplet; another network does not.
        self.assertEqual(self.rcpt(t, "127.0.8.3", "three@s.example", "carol@example.test").code,
                         250)
        self.assertEqual(self.rcpt(t, "127.0.9.3", "three@s.example", "carol@example.test").code,
                         451)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as m:
            text = m.read().decode()
        self.assertIn('tern_greylist_results_total{result="passed"} 2\n', text)
        self.assertIn('tern_greylist_results_total{result="allowed"} 1\n', text)
        self.assertIn('tern_greylist_results_total{result="new"} 3\n', text)

    def test_exemptions(self):
        # Loopback without check_loopback, and trusted_networks.
        for t in (self.tern(check_loopback=False),
                  self.tern(extra='trusted_networks = ["127.0.10.0/24"]\n')):
            r = self.rcpt(t, "127.0.10.2", "a@sender.example", "alice@example.test")
            self.assertEqual(r.code, 250, r)
        # A client on a DNSWL.
        dns = DnsServer(zones=["wl.test"], records=["2.11.0.127.wl.test. 300 IN A 127.0.10.2"])
        dns.start()
        self.addCleanup(dns.cleanup)
        t = self.tern(dns=f'[dns]\nforward = ["{dns.forward}"]\n'
                          '[dnsbl]\nsites = ["wl.test*-5"]\ntimeout = 3\n')
        self.assertEqual(self.rcpt(t, "127.0.11.2", "a@sender.example", "alice@example.test").code,
                         250)
        self.assertEqual(self.rcpt(t, "127.0.11.3", "a@sender.example", "alice@example.test").code,
                         451)


if __name__ == "__main__":
    main()
