"""SPF (RFC 7208) of incoming mail on the smtp listener, end to end: tern
with [dns] forward to a real unbound on loopback (dns_server.py) holding the
senders' SPF records, and smtplib connecting from 127.0.0.1. A pass or a
softfail is stored with its Received-SPF field (RFC 7208 9.1); a fail is
refused at RCPT with 550 5.7.23 and a temperror with 451 4.7.24 (RFC 7372);
with on_fail = "mark" a fail is stored, marked. Postmaster is never refused
(RFC 5321 4.5.1). Loopback clients are checked only with the top-level check_loopback.
"""
import smtplib
import unittest

from dns_server import DnsServer
from tern_harness import Tern, main

Z = "spfin.test"
RECORDS = [
    f'pass.{Z}. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"',
    f'fail.{Z}. 300 IN TXT "v=spf1 -all"',
    f'soft.{Z}. 300 IN TXT "v=spf1 ~all"',
    f'exp.{Z}. 300 IN TXT "v=spf1 -all exp=why.{Z}"',
    f'why.{Z}. 300 IN TXT "%{{i}} may not send for %{{d}}"',
]
RCPT = "alice@example.test"


def spf_toml(forward, check_loopback=True, **spf):
    lines = [f"check_loopback = {'true' if check_loopback else 'false'}",
             "[dns]", f'forward = ["{forward}"]', "timeout = 2", "[spf]"]
    for k, v in spf.items():
        lines.append(f"{k} = {'true' if v is True else 'false' if v is False else repr(v)}"
                     .replace("'", '"'))
    return "\n".join(lines) + "\n"


class SpfInbound(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zones=[Z], records=RECORDS, servfail=["broken.test"]).start()
        cls.terns = []

    @classmethod
    def tearDownClass(cls):
        for t in cls.terns:
            t.cleanup()
        cls.dns.cleanup()

    def start_tern(self, **spf):
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 extra=spf_toml(self.dns.forward, **spf)).start()
        self.terns.append(t)
        return t

    def send(self, tern, sender, rcpts=(RCPT,), helo="client.example.net"):
        """MAIL, each RCPT, and DATA when one was accepted. Returns the RCPT replies."""
        with smtplib.SMTP("127.0.0.1", tern.port(), local_hostname=helo, timeout=30) as s:
            s.ehlo()
            code, msg = s.mail(sender)
            self.assertEqual(code, 250, msg)
            replies = [s.rcpt(r) for r in rcpts]
            if any(code == 250 for code, _ in replies):
                code, msg = s.data(b"Subject: spf\r\n\r\nhello\r\n")
                self.assertEqual(code, 250, msg)
            else:
                s.rset()
        return replies

    def stored(self, tern, count, rcpt=RCPT, sender=None):
        """The newest stored message, or the one holding the text `sender`
        (Maildir names do not sort by arrival within a second)."""
        msgs = tern.wait_messages(rcpt, count)
        self.assertEqual(len(msgs), count, tern.tail_log())
        msg = msgs[-1]
        if sender:
            [msg] = [m for m in msgs if sender.encode() in m]
        # Without the fields the Maildir delivery adds on top.
        lines = msg.decode().split("\r\n")
        while lines[0].startswith(("Return-Path:", "Delivered-To:", "Authentication-Results:")):
            lines.pop(0)
            while lines[0].startswith(("\t", " ")):
                lines.pop(0)
        return "\r\n".join(lines)

    def test_pass_softfail_fail_temperror(self):
        t = self.start_tern()
        # pass: stored, marked above our Received header
        [(code, msg)] = self.send(t, f"u@pass.{Z}")
        self.assertEqual(code, 250, msg)
        m = self.stored(t, 1)
        self.assertTrue(m.startswith("Received-SPF: pass (mx.example.test: domain of "
                                     f"u@pass.{Z} designates 127.0.0.1 as permitted sender)"), m)
        head = m[:m.index("\r\n\r\n")]
        self.assertIn("client-ip=127.0.0.1;", head)
        self.assertIn(f'envelope-from="u@pass.{Z}";', head)
        self.assertIn("helo=client.example.net;", head)
        self.assertIn('mechanism="ip4:127.0.0.1"', head)
        self.assertLess(head.index("Received-SPF:"), head.index("\nReceived: from"))
        # softfail: stored, marked
        [(code, msg)] = self.send(t, f"u@soft.{Z}")
        self.assertEqual(code, 250, msg)
        m = self.stored(t, 2, sender=f"u@soft.{Z}")
        self.assertTrue(m.startswith("Received-SPF: softfail "), m)
        self.assertIn("mechanism=~all", m)
        # fail: refused at RCPT, nothing stored
        [(code, msg)] = self.send(t, f"u@fail.{Z}")
        self.assertEqual(code, 550, msg)
        self.assertTrue(msg.startswith(b"5.7.23 SPF validation failed: 127.0.0.1 is not one of "
                                       b"fail.spfin.test's designated mail servers"), msg)
        # the explanation of the domain's exp=
        [(code, msg)] = self.send(t, f"u@exp.{Z}")
        self.assertEqual((code, msg),
                         (550, b"5.7.23 SPF validation failed: 127.0.0.1 may not send for "
                               b"exp.spfin.test"))
        # temperror: SERVFAIL for the sender's domain
        [(code, msg)] = self.send(t, "u@x.broken.test")
        self.assertEqual((code, msg), (451, b"4.7.24 SPF temporary error, try again later"))
        self.assertEqual(len(t.messages(RCPT)), 2)
        # <>: the HELO identity (pass.spfin.test allows 127.0.0.1)
        [(code, msg)] = self.send(t, "", helo=f"pass.{Z}")
        self.assertEqual(code, 250, msg)
        m = self.stored(t, 3, sender="identity=helo")
        self.assertIn("identity=helo", m[:m.index("\r\n\r\n")])
        self.assertTrue(m.startswith("Received-SPF: pass "), m)
        log = t.read_log()
        self.assertIn(f"spf client=127.0.0.1 identity=mailfrom from=<u@fail.{Z}>", log)
        self.assertIn("result=temperror", log)

    def test_postmaster_is_accepted_on_fail(self):
        t = self.start_tern()
        replies = self.send(t, f"u@fail.{Z}", rcpts=(RCPT, "postmaster@example.test"))
        self.assertEqual([c for c, _ in replies], [550, 250])
        m = self.stored(t, 1, "postmaster@example.test")
        self.assertTrue(m.startswith("Received-SPF: fail "), m)

    def test_on_fail_mark_stores_marked(self):
        t = self.start_tern(on_fail="mark", on_temperror="mark")
        [(code, msg)] = self.send(t, f"u@fail.{Z}")
        self.assertEqual(code, 250, msg)
        m = self.stored(t, 1)
        self.assertTrue(m.startswith("Received-SPF: fail (mx.example.test: domain of "
                                     f"u@fail.{Z} does not designate 127.0.0.1 as permitted "
                                     "sender)"), m)
        [(code, msg)] = self.send(t, "u@x.broken.test")
        self.assertEqual(code, 250, msg)
        m = self.stored(t, 2, sender="u@x.broken.test")
        self.assertTrue(m.startswith("Received-SPF: temperror "), m)

    def test_loopback_and_disabled_are_not_checked(self):
        for spf in ({"check_loopback": False}, {"enabled": False}):
            t = self.start_tern(**spf)
            [(code, msg)] = self.send(t, f"u@fail.{Z}")
            self.assertEqual(code, 250, msg)
            m = self.stored(t, 1)
            self.assertNotIn("Received-SPF", m)
            self.assertNotIn("spf client=", t.read_log())

    def test_trusted_networks_are_not_checked(self):
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 extra='trusted_networks = ["127.0.0.0/8"]\n' +
                 spf_toml(self.dns.forward)).start()
        self.terns.append(t)
        [(code, msg)] = self.send(t, f"u@fail.{Z}")
        self.assertEqual(code, 250, msg)
        self.assertNotIn("Received-SPF", self.stored(t, 1))


if __name__ == "__main__":
    main()
