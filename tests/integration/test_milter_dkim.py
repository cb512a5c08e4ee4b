"""Milter changes come before DKIM signing (docs/filtering.md, "DKIM"): a
message submitted on 587 passes a milter (python3-milter, scripted) that
adds a header field, changes the Subject and replaces the body; tern
relays it to an aiosmtpd peer (MX found through unbound on loopback) and
signs it on the way out. dkimpy (python3-dkim) verifies the signature that
arrives, with the key published in that DNS server, so the signature
covers the message as the milter left it.

Skips without python3-milter or python3-dkim, unless CI is set.
"""
import os
import unittest

from dkim_setup import keygen, keygen_config, txt_record, unbound_line
from relay_setup import start_mx_peer
from tern_harness import ClassServers, Tern, dns_toml, main, relay_toml
from test_milter import ScriptedMilter, have_pymilter, milter_block
from trace_field import without_trace

try:
    import dkim  # python3-dkim
    import dns.resolver  # noqa: F401  python3-dnspython: dkimpy and dkim_setup.txt_record use it
except ImportError:
    dkim = None

Z = "msign.test"
A = f"a.{Z}"
ALICE = f"alice@{A}"
OUT = f"out.{Z}"
PASSWORD = "milter dkim test password"


class MilterDkimTest(ClassServers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if dkim is None or not have_pymilter():
            if os.environ.get("CI"):
                raise AssertionError("python3-dkim and python3-milter are required in CI")
            raise unittest.SkipTest("python3-dkim or python3-milter not installed")
        super().setUpClass()

    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-milter-dkim-it-")
        data = os.path.join(cls.tmp, "data")
        zone = keygen(keygen_config(cls.tmp, data), A, "rsa", "it-milter")
        cls.dns, cls.peer, port = start_mx_peer(cls.cleanups, Z, [OUT], [unbound_line(zone)])
        cls.milter = ScriptedMilter()
        cls.cleanups.append(cls.milter.stop)
        extra = (milter_block(cls.milter.port, listeners=("submission",)) + dns_toml(cls.dns) +
                 relay_toml(port, retry=None))
        cls.t = Tern(domains=[A], hostname=f"mail.{Z}", kinds=("smtp", "submission"),
                     extra=extra, data_dir=data)
        cls.cleanups.append(cls.t.cleanup)
        cls.t.add_users({ALICE: PASSWORD})
        cls.t.start()

    def dnsfunc(self, name, timeout=5):
        return txt_record(self.dns.port, name, timeout)

    def test_signature_covers_the_milter_changes(self):
        import smtplib
        self.milter.set(eom_mods=[
            ["addheader", "X-Milter-Checked", "yes"],
            ["chgheader", "Subject", 1, "changed by the milter"],
            ["replacebody", "The milter wrote this body.\n"],
        ])
        msg = (f"From: Alice <{ALICE}>\r\nTo: bob@{OUT}\r\nSubject: original\r\n"
               f"Message-ID: <m1@{A}>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
               "\r\nThe original body.\r\n")
        with smtplib.SMTP(self.t.host, self.t.port("submission"), timeout=30) as s:
            s.starttls(context=self.t.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [f"bob@{OUT}"], msg)
        needle = b"Subject: changed by the milter\r\n"
        ok = self.peer.wait(lambda: any(needle in m.data for m in list(self.peer.messages)), 15)
        self.assertTrue(ok, self.t.tail_log(40))
        data = next(m.data for m in self.peer.messages if needle in m.data)
        self.assertIn(b"\r\nX-Milter-Checked: yes\r\n", data)
        self.assertTrue(data.endswith(b"\r\n\r\nThe milter wrote this body.\r\n"), data[-200:])
        self.assertNotIn(b"original", data.split(b"\r\n\r\n", 1)[1])
        # On top only the trace of the hop (docs/tls.md, "The outbound trace").
        self.assertTrue(without_trace(data).startswith(b"DKIM-Signature: "), data[:200])
        self.assertTrue(dkim.verify(data, dnsfunc=self.dnsfunc), data[:1500])
        # The milter saw what the user submitted, with our macros for AUTH.
        mail = self.milter.events("mail")[-1]
        self.assertEqual(mail["macros"].get("{auth_authen}"), ALICE)
        self.assertEqual(mail["macros"].get("{auth_type}"), "PLAIN")
        self.assertIn("{tls_version}", self.milter.events("helo")[-1]["macros"])


if __name__ == "__main__":
    main()
