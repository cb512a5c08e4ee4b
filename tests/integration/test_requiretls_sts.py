"""REQUIRETLS (RFC 8689) where MTA-STS, not DNSSEC, authenticates the MX
host: an unsigned zone (dns_server.py, plain unbound), policies served over
HTTPS by policy_server.py with a test CA (local_ca.py) that tern A trusts
for the policy fetch ([mta_sts] ca_file) and for MX certificates
(SSL_CERT_FILE). test_requiretls.py covers the DNSSEC/DANE side.

What this proves (docs/tls.md, "REQUIRETLS"):
  - enforce, the MX host named by the policy, its certificate valid for
    that name, and it offers REQUIRETLS (tern B): sent with REQUIRETLS,
    and B's queue records it;
  - testing mode counts too (RFC 8689 4.2.1 asks for the RFC 8461 4.1
    name check whatever the mode): sent the same way;
  - enforce, authenticated host without REQUIRETLS (an aiosmtpd peer): no
    MAIL to it, DSN 5.7.30 to the sender;
  - an MX host outside the mx patterns of a testing policy: not connected
    to, DSN 5.7.30; of an enforce policy: not connected to, deferred with
    4.7.0 as any mail there (RFC 8461 5: no permanent failure before the
    policy is fetched again);
  - a domain without MTA-STS in this unsigned zone: nothing authenticates
    its MX, DSN 5.7.30, no connection.
Needs python3-aiosmtpd and unbound (scripts/deps.sh test).
"""
import re
import smtplib
import time
import unittest

from dns_server import DnsServer
from local_ca import TestCa
from policy_server import PolicyServer
from smtp_peer import SmtpPeer
from tern_harness import ClassServers, Tern, dns_toml, free_port, main, relay_toml

Z = "rsts.test"
A_DOMAIN = f"a.{Z}"
ALICE = f"alice@{A_DOMAIN}"
PASSWORD = "requiretls sts test password"
B_ADDR, PEER_ADDR, IDLE_ADDR = "127.0.0.26", "127.0.0.27", "127.0.0.28"
# domain -> (policy mode and mx patterns or None for no MTA-STS, MX address)
DOMAINS = {
    "enforce": (("enforce", "mx.enforce." + Z), B_ADDR),
    "testing": (("testing", "*.testing." + Z), B_ADDR),
    "nortls": (("enforce", "mx.nortls." + Z), PEER_ADDR),
    "outside": (("testing", "mx.elsewhere." + Z), IDLE_ADDR),
    "enforced": (("enforce", "mx.elsewhere." + Z), IDLE_ADDR),
    "nosts": (None, IDLE_ADDR),
}


def policy(mode, *mx):
    return ("version: STSv1\r\nmode: " + mode + "\r\n" +
            "".join(f"mx: {m}\r\n" for m in mx) + "max_age: 86400\r\n")


def records():
    r = []
    for d, (pol, addr) in DOMAINS.items():
        r += [f"{d}.{Z}. 300 IN MX 10 mx.{d}.{Z}.", f"mx.{d}.{Z}. 300 IN A {addr}"]
        if pol:
            r += [f'_mta-sts.{d}.{Z}. 300 IN TXT "v=STSv1; id={d}1;"',
                  f"mta-sts.{d}.{Z}. 300 IN A 127.0.0.1"]
    return r


class RequireTlsStsTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-rsts-")
        cls.ca = TestCa(cls.tmp)
        cls.P, cls.HP = free_port(), free_port()
        cls.dns = DnsServer(zones=[Z], records=records())
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()

        with_sts = [d for d, (pol, _) in DOMAINS.items() if pol]
        cls.web = PolicyServer("127.0.0.1", cls.HP,
                               *cls.ca.issue(*[f"mta-sts.{d}.{Z}" for d in with_sts]))
        cls.cleanups.append(cls.web.stop)
        cls.web.start()
        for d in with_sts:
            cls.web.policies[f"mta-sts.{d}.{Z}"] = policy(*DOMAINS[d][0])

        # B answers for every MX name at its address, with a certificate of
        # the trusted CA for all of them: only the policies tell them apart.
        b_names = [f"mx.{d}.{Z}" for d, (_, a) in DOMAINS.items() if a == B_ADDR]
        cert, key = cls.ca.issue(*b_names)
        cls.b = Tern(domains=[f"{d}.{Z}" for d in DOMAINS], hostname=b_names[0], host=B_ADDR,
                     kinds=("smtp",), ports={"smtp": cls.P}, accept_any_local_part=True,
                     tls={"certificate": cert, "private_key": key},
                     extra=dns_toml(cls.dns) + "[spf]\nenabled = false\n[dmarc]\nenabled = false\n")
        cls.cleanups.append(cls.b.cleanup)
        cls.b.start()
        cls.peer = SmtpPeer(PEER_ADDR, cls.P, hostname=f"mx.nortls.{Z}",
                            cert=cls.ca.issue(f"mx.nortls.{Z}"))
        cls.cleanups.append(cls.peer.cleanup)
        cls.peer.start()
        # The MX of the domains nothing authenticates: must never be reached.
        cls.idle = SmtpPeer(IDLE_ADDR, cls.P, hostname=f"mx.outside.{Z}",
                            cert=cls.ca.issue(*[f"mx.{d}.{Z}" for d, (_, a) in DOMAINS.items()
                                                if a == IDLE_ADDR]))
        cls.cleanups.append(cls.idle.cleanup)
        cls.idle.start()

        extra = (dns_toml(cls.dns) + relay_toml(cls.P) +
                 f'[mta_sts]\nca_file = "{cls.ca.cert}"\nhttps_port = {cls.HP}\n'
                 'fetch_timeout = "5s"\n')
        cls.a = Tern(domains=[A_DOMAIN], hostname=f"mx.{A_DOMAIN}", kinds=("smtp", "submission"),
                     ports={"smtp": cls.P}, extra=extra)
        cls.cleanups.append(cls.a.cleanup)
        cls.a.add_users({ALICE: PASSWORD})
        # MX certificates are checked against the system store plus this file.
        cls.a.env["SSL_CERT_FILE"] = cls.ca.cert
        cls.a.start()

    def setUp(self):
        self.addCleanup(self.a.assert_running)
        self.addCleanup(self.b.assert_running)

    def diagnostics(self):
        return f"--- tern A\n{self.a.tail_log(40)}\n--- tern B\n{self.b.tail_log(15)}"

    def send(self, rcpt):
        subject = f"to {rcpt} {time.time_ns()}"
        data = (f"From: <{ALICE}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
                f"Message-ID: <{time.time_ns()}@{A_DOMAIN}>\r\n\r\nhello\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [rcpt], data, mail_options=["REQUIRETLS"])
        return subject

    def outcome(self, rcpt, timeout=15):
        """A's relay log line that settles `rcpt`."""
        pattern = re.compile(r"relay: \S+ to=<" + re.escape(rcpt) +
                             r">.* status=(sent|deferred|bounced)")
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = next((l for l in self.a.read_log().splitlines() if pattern.search(l)), None)
            if m:
                return m
            time.sleep(0.05)
        self.fail(f"no outcome for {rcpt}\n{self.diagnostics()}")

    def assert_sent_with_requiretls(self, rcpt):
        line = self.outcome(rcpt)
        self.assertIn("status=sent", line, self.diagnostics())
        self.assertIn("requiretls=yes", line)
        self.assertIn("sts=", line)
        self.assertEqual(len(self.b.wait_messages(rcpt, 1)), 1, self.diagnostics())
        # B sets the flag on what it queued only from the MAIL parameter.
        self.assertTrue(self.b.wait_log(f"rcpt=<{rcpt}>"), self.b.tail_log(20))
        ours = [l for l in self.b.read_log().splitlines()
                if f"rcpt=<{rcpt}>" in l and "delivery id=" in l]
        self.assertTrue(ours and "requiretls=yes" in ours[-1], self.b.tail_log(20))

    def assert_dsn_5730(self, rcpt, subject):
        line = self.outcome(rcpt)
        self.assertIn("status=bounced", line, self.diagnostics())
        self.assertIn("5.7.30", line)
        deadline = time.time() + 15
        while time.time() < deadline:
            dsn = next((m for m in self.a.messages(ALICE) if subject.encode() in m), None)
            if dsn:
                self.assertIn(b"Status: 5.7.30", dsn)
                return
            time.sleep(0.05)
        self.fail(f"no DSN about {subject}\n{self.diagnostics()}")

    def test_enforce_policy_authenticates_the_host(self):
        self.send(f"bob@enforce.{Z}")
        self.assert_sent_with_requiretls(f"bob@enforce.{Z}")

    def test_testing_policy_counts(self):
        self.send(f"bob@testing.{Z}")
        self.assert_sent_with_requiretls(f"bob@testing.{Z}")

    def test_host_without_requiretls_bounces(self):
        rcpt = f"bob@nortls.{Z}"
        subject = self.send(rcpt)
        self.assert_dsn_5730(rcpt, subject)
        self.assertEqual(self.peer.transactions, 0)  # no MAIL

    def test_host_outside_a_testing_policy_bounces(self):
        rcpt = f"bob@outside.{Z}"
        subject = self.send(rcpt)
        self.assert_dsn_5730(rcpt, subject)
        self.assertEqual(self.idle.connections, 0)

    def test_host_outside_an_enforce_policy_is_deferred(self):
        rcpt = f"bob@enforced.{Z}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line, self.diagnostics())
        self.assertIn("4.7.0", line)
        qid = re.search(r"relay: (\S+) to=", line).group(1)
        self.assertIn(qid, self.a.queue_files())  # kept for a retry
        self.assertEqual(self.idle.connections, 0)
        self.a.queue("delete", qid)

    def test_no_policy_no_dnssec_bounces(self):
        rcpt = f"bob@nosts.{Z}"
        subject = self.send(rcpt)
        self.assert_dsn_5730(rcpt, subject)
        self.assertEqual(self.idle.connections, 0)


if __name__ == "__main__":
    main()
