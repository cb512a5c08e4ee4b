"""Early checks at MAIL FROM ([checks], docs/filtering.md) on the real tern,
with the PTR records served by a real unbound on loopback (dns_server.py)
and clients connecting from distinct 127.0.x.y addresses (check_loopback =
true turns the loopback exemption off).

- helo = "reject": a HELO that is not a FQDN (or the client's own address
  literal) gets 550 5.7.1 at MAIL FROM; a FQDN or the right literal passes.
- reverse_dns = "reject": a client without a PTR record gets 550 5.7.25; a
  failing PTR lookup 450 4.7.25; "mark" accepts and logs it.
- own_domain_sender = "reject": MAIL FROM one of our domains from an
  unauthenticated outside client gets 550 5.7.1; trusted_networks pass.
"""
import unittest

from dialog import SmtpClient
from dns_server import DnsServer
from tern_harness import Tern, main

PTR = [("127.0.12.2", "good.client.example")]


class EarlyChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 12.0.127.in-addr.arpa is ours (absent names: NXDOMAIN); 13.0.127... fails.
        cls.dns = DnsServer(zones=["12.0.127.in-addr.arpa"], ptr=PTR,
                            servfail=["13.0.127.in-addr.arpa"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()

    def tern(self, checks, extra=""):
        body = "\n".join(f'{k} = "{v}"' for k, v in checks.items())
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 extra=f"check_loopback = true\n{extra}"
                       f'[dns]\nforward = ["{self.dns.forward}"]\ntimeout = 2\n'
                       f"[dnsbl]\ntimeout = 3\n[checks]\n{body}\n"
                       "[spf]\nenabled = false\n[dkim]\nverify = false\n[dmarc]\nenabled = false\n")
        self.addCleanup(t.cleanup)
        return t.start()

    def mail(self, t, source, helo="client.example.net", sender="a@client.example.net"):
        c = SmtpClient("127.0.0.1", t.port(), source=source)
        try:
            c.expect(220)
            c.cmd(f"EHLO {helo}", 250)
            r = c.cmd(f"MAIL FROM:<{sender}>")
            c.cmd("QUIT", 221)
            return r
        finally:
            c.close()

    def test_helo(self):
        t = self.tern({"helo": "reject"})
        for helo in ("localhost", "127.0.12.2", "[127.0.12.9]", "bad_name.example"):
            r = self.mail(t, "127.0.12.2", helo=helo)
            self.assertEqual((r.code, r.enhanced()), (550, "5.7.1"), (helo, r))
            self.assertIn("rejected: not a fully-qualified domain name", r.text())
        for helo in ("mx.client.example", "[127.0.12.2]"):
            self.assertEqual(self.mail(t, "127.0.12.2", helo=helo).code, 250, helo)
        t2 = self.tern({"helo": "ignore"})
        self.assertEqual(self.mail(t2, "127.0.12.2", helo="localhost").code, 250)

    def test_reverse_dns(self):
        t = self.tern({"reverse_dns": "reject"})
        r = self.mail(t, "127.0.12.2")
        self.assertEqual(r.code, 250, (r, t.tail_log()))
        r = self.mail(t, "127.0.12.3")
        self.assertEqual((r.code, r.enhanced()), (550, "5.7.25"), r)
        self.assertIn("Reverse DNS required: no PTR record for [127.0.12.3]", r.text())
        r = self.mail(t, "127.0.13.3")
        self.assertEqual((r.code, r.enhanced()), (450, "4.7.25"), r)
        log = t.read_log()
        self.assertIn("screen client=127.0.12.2 score=0 listed=- rdns=found "
                      "ptr=good.client.example", log)
        self.assertIn("screen client=127.0.12.3 score=0 listed=- rdns=missing", log)
        t2 = self.tern({"reverse_dns": "mark"})
        for source in ("127.0.12.3", "127.0.12.2"):  # without and with a PTR record
            c = SmtpClient("127.0.0.1", t2.port(), source=source)
            self.addCleanup(c.close)
            c.expect(220)
            c.cmd("EHLO client.example.net", 250)
            c.cmd("MAIL FROM:<a@client.example.net>", 250)
            c.cmd("RCPT TO:<alice@example.test>", 250)
            c.cmd("DATA", 354)
            c.send(f"Subject: from {source}\r\n\r\nhello\r\n.\r\n".encode())
            c.expect(250)
            c.cmd("QUIT", 221)
        msgs = t2.wait_messages("alice@example.test", 2)
        self.assertEqual(len(msgs), 2)
        [marked] = [m for m in msgs if b"from 127.0.12.3" in m]
        [clean] = [m for m in msgs if b"from 127.0.12.2" in m]
        self.assertIn(b"\r\nX-Tern-Reverse-DNS: missing (client [127.0.12.3] has no PTR record)"
                      b"\r\n", b"\r\n" + marked)
        self.assertNotIn(b"X-Tern-Reverse-DNS", clean)
        self.assertIn("rdns=missing marked=no_reverse_dns", t2.read_log())

    def test_own_domain_sender(self):
        t = self.tern({"own_domain_sender": "reject"})
        r = self.mail(t, "127.0.12.2", sender="ceo@example.test")
        self.assertEqual((r.code, r.enhanced()), (550, "5.7.1"), r)
        self.assertIn("<ceo@example.test>: Sender address rejected", r.text())
        self.assertEqual(self.mail(t, "127.0.12.2", sender="a@elsewhere.example").code, 250)
        self.assertEqual(self.mail(t, "127.0.12.2", sender="").code, 250)  # bounces
        t2 = self.tern({"own_domain_sender": "reject"},
                       extra='trusted_networks = ["127.0.12.0/24"]\n')
        self.assertEqual(self.mail(t2, "127.0.12.2", sender="ceo@example.test").code, 250)


if __name__ == "__main__":
    main()
