"""What the outbound relay records for SMTP TLS Reporting (RFC 8460,
src/relay/tls_report.h, docs/tls.md "TLS-RPT"), and next-hop [[tls_policy]]
entries, against real servers: signed zones behind a validating unbound
(dnssec_zone.py), MTA-STS policy servers with test CAs (policy_server.py,
local_ca.py), a second tern as a DANE-authenticated MX, aiosmtpd peers
(smtp_peer.py). Sender A relays everything on port P ([relay] port).

What this proves:
  - a successful DANE session (3 1 1 of B's key) is recorded with
    sending-mta-ip = our loopback address and receiving-mx-helo = the name
    B gives in its EHLO reply (B's hostname, not the MX host name);
  - a DANE failure at B (a TLSA record of another key) is recorded as
    tlsa-invalid with the same two fields, and `tern tls-rpt report --json`
    puts them into that policy's failure-details (RFC 8460 4.4);
  - a dane-only destination whose MX host has no TLSA record: the host is
    not connected to, the message stays queued, and the result is
    dane-required under policy-type tlsa (4.3.2.1), also in the report;
  - an MTA-STS policy served with a certificate that the trusted test CA
    did not sign: sts-webpki-invalid (4.3.2.2) with curl's reason; a policy
    server that validates but answers 404: sts-policy-fetch-error;
  - next_hop = "[mx-plain...]:P" at level encrypt beats the domain's "may"
    entry: the host without STARTTLS gets no mail, the message is deferred
    with 4.7.x, and the log says policy=encrypt(config [mx-plain...]:P).
Needs nsd, ldnsutils, unbound, python3-aiosmtpd and python3-cryptography
(scripts/deps.sh test): skipped on a dev machine without them, failed
under CI.
"""
import json
import os
import re
import smtplib
import time
import unittest

from cryptography import x509

from dane_setup import DnssecServers, start_dane_sender
from local_ca import TestCa
from policy_server import PolicyServer
from smtp_peer import SmtpPeer
from tern_harness import Tern, free_port, main
from test_dane import spki_sha256
from tlsrpt_records import tls_rpt_results, wait_result

Z = "rptres.test"
A_DOMAIN = "a.sender.test"
ALICE = f"alice@{A_DOMAIN}"
PASSWORD = "tls-rpt results test password"
B_NAME = "inbound.receiver.test"  # B's hostname: what its EHLO reply says


def policy(mode, *mx):
    return ("version: STSv1\r\nmode: " + mode + "\r\n" +
            "".join(f"mx: {m}\r\n" for m in mx) + "max_age: 86400\r\n")


def report_documents(text):
    """The JSON documents `tern tls-rpt report --json` printed, one after the other."""
    docs, pos, dec = [], 0, json.JSONDecoder()
    text = text.strip()
    while pos < len(text):
        doc, end = dec.raw_decode(text, pos)
        docs.append(doc)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


class TlsRptResultsTest(DnssecServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.P = P = free_port()
        cls.HP = free_port()
        cls.tmp = cls.tempdir("tern-rptres-")

        # The DNS servers' ports now; the zone (with B's key) comes later.
        cls.new_dns()

        # B: a real tern as the MX of ok.Z and mismatch.Z, on its own
        # loopback address; its self-signed key is what DANE-EE pins. Its
        # own lookups stay on loopback too.
        cls.b = Tern(domains=[f"ok.{Z}", f"mismatch.{Z}"], hostname=B_NAME, kinds=("smtp",),
                     host="127.0.0.31", ports={"smtp": P}, accept_any_local_part=True,
                     extra=f'[dns]\nforward = ["{cls.dns.forward}"]\ntimeout = 2\n'
                     # A's domain is in no zone: SPF would be a temperror (451).
                     '[spf]\nenabled = false\n[dmarc]\nenabled = false\n')
        cls.cleanups.append(cls.b.cleanup)
        cls.b.start()
        with open(cls.b.cert_path(), "rb") as f:
            b_key = spki_sha256(x509.load_pem_x509_certificate(f.read()))

        # MTA-STS: the trusted CA (A's [mta_sts] ca_file) and a rogue one.
        for d in ("good", "rogue"):
            os.makedirs(os.path.join(cls.tmp, d))
        cls.good_ca = TestCa(os.path.join(cls.tmp, "good"))
        cls.rogue_ca = TestCa(os.path.join(cls.tmp, "rogue"), name="not trusted CA")
        cls.rogue_web = PolicyServer("127.0.0.1", cls.HP,
                                     *cls.rogue_ca.issue(f"mta-sts.sts.{Z}"))
        cls.cleanups.append(cls.rogue_web.stop)
        cls.rogue_web.start()
        cls.rogue_web.policies[f"mta-sts.sts.{Z}"] = policy("enforce", f"mx-sts.{Z}")
        cls.good_web = PolicyServer("127.0.0.2", cls.HP,
                                    *cls.good_ca.issue(f"mta-sts.sts404.{Z}"))
        cls.cleanups.append(cls.good_web.stop)
        cls.good_web.start()  # no policy for sts404: 404

        cls.peers = {}
        for n, host, tls in ((33, f"mx-sts.{Z}", True), (34, f"mx-plain.{Z}", False)):
            p = SmtpPeer(f"127.0.0.{n}", P, hostname=host, tls=tls)
            cls.cleanups.append(p.cleanup)
            cls.peers[n] = p.start()

        rr = [
            f"mx-ok.{Z}. 300 IN A 127.0.0.31",
            f"_{P}._tcp.mx-ok.{Z}. 300 IN TLSA 3 1 1 {b_key}",
            f"mx-bad.{Z}. 300 IN A 127.0.0.31",  # B again, pinned to another key
            f"_{P}._tcp.mx-bad.{Z}. 300 IN TLSA 3 1 1 {'ab' * 32}",
            f"mx-none.{Z}. 300 IN A 127.0.0.32",  # no TLSA record (secure denial)
            f"mx-sts.{Z}. 300 IN A 127.0.0.33",
            f"mx-plain.{Z}. 300 IN A 127.0.0.34",
            f"ok.{Z}. 300 IN MX 10 mx-ok.{Z}.",
            f"mismatch.{Z}. 300 IN MX 10 mx-bad.{Z}.",
            f"only.{Z}. 300 IN MX 10 mx-none.{Z}.",
            f"sts.{Z}. 300 IN MX 10 mx-sts.{Z}.",
            f'_mta-sts.sts.{Z}. 300 IN TXT "v=STSv1; id=1;"',
            f"mta-sts.sts.{Z}. 300 IN A 127.0.0.1",
            f"sts404.{Z}. 300 IN MX 10 mx-sts.{Z}.",
            f'_mta-sts.sts404.{Z}. 300 IN TXT "v=STSv1; id=1;"',
            f"mta-sts.sts404.{Z}. 300 IN A 127.0.0.2",
            f"nexthop.{Z}. 300 IN MX 10 mx-plain.{Z}.",
        ]
        cls.dns.zone(Z, rr)
        cls.dns.start()

        more = (f'[mta_sts]\nca_file = "{cls.good_ca.cert}"\nhttps_port = {cls.HP}\n'
                'fetch_timeout = "5s"\n'
                '[tls_rpt]\nenabled = true\n'
                f'[[tls_policy]]\ndomain = "only.{Z}"\nlevel = "dane-only"\n'
                f'[[tls_policy]]\ndomain = "nexthop.{Z}"\nlevel = "may"\n'
                f'[[tls_policy]]\nnext_hop = "[mx-plain.{Z}]:{P}"\nlevel = "encrypt"\n')
        cls.a = start_dane_sender(cls.cleanups, cls.dns, P, ALICE, PASSWORD, more)

    def setUp(self):
        self.addCleanup(self.a.assert_running)
        self.addCleanup(self.b.assert_running)

    # -- helpers --
    def send(self, rcpt):
        data = (f"From: <{ALICE}>\r\nTo: <{rcpt}>\r\nSubject: to {rcpt}\r\n"
                f"Message-ID: <{time.time_ns()}@{A_DOMAIN}>\r\n\r\nhello\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [rcpt], data)

    def outcome(self, rcpt, timeout=20):
        """A's relay log line that settles `rcpt` (status=sent/deferred/bounced)."""
        pattern = re.compile(r"relay: \S+ to=<" + re.escape(rcpt) +
                             r">.* status=(sent|deferred|bounced)")
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.a.read_log().splitlines():
                if pattern.search(line):
                    return line
            time.sleep(0.05)
        self.fail(f"no outcome for {rcpt}\n{self.a.tail_log(60)}")

    def result(self, domain, res):
        r = wait_result(self.a.data_dir, domain, res)
        if r is None:
            got = [x for x in tls_rpt_results(self.a.data_dir) if x.get("pd") == domain]
            self.fail(f"no TLS-RPT result {res} for {domain}; have {got}\n{self.a.tail_log(40)}")
        return r

    def report(self, domain):
        """Today's report for `domain` as `tern tls-rpt report --json` builds it."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        p = self.a.tern("tls-rpt", "report", "--day", day, "--json")
        docs = [d for d in report_documents(p.stdout)
                if d["policies"] and d["policies"][0]["policy"]["policy-domain"] == domain]
        self.assertEqual(len(docs), 1, p.stdout)
        return docs[0]

    # -- the cases --
    def test_dane_success_carries_our_ip_and_the_servers_helo(self):
        rcpt = f"bob@ok.{Z}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=sent", line)
        self.assertIn("dane=verified(3 1 1)", line)
        r = self.result(f"ok.{Z}", "success")
        self.assertEqual(r["pt"], "tlsa")
        self.assertEqual(r["host"], f"mx-ok.{Z}")
        self.assertEqual(r["rip"], "127.0.0.31")
        # Our end of the connection: the kernel's source address towards
        # 127.0.0.31 on the loopback interface is 127.0.0.1.
        self.assertEqual(r["sip"], "127.0.0.1")
        self.assertEqual(r["helo"], B_NAME)  # from B's EHLO reply, not the MX name

    def test_dane_failure_details_in_the_report(self):
        rcpt = f"carol@mismatch.{Z}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line)
        r = self.result(f"mismatch.{Z}", "tlsa-invalid")
        self.assertEqual((r["sip"], r["helo"], r["host"], r["rip"]),
                         ("127.0.0.1", B_NAME, f"mx-bad.{Z}", "127.0.0.31"))
        doc = self.report(f"mismatch.{Z}")
        [p] = doc["policies"]
        self.assertEqual(p["policy"]["policy-type"], "tlsa")
        self.assertEqual(p["policy"]["policy-string"], ["3 1 1 " + "ab" * 32])
        details = p["failure-details"]
        self.assertTrue(details, doc)
        for d in details:
            self.assertEqual(d["result-type"], "tlsa-invalid")
            self.assertEqual(d["sending-mta-ip"], "127.0.0.1")
            self.assertEqual(d["receiving-mx-hostname"], f"mx-bad.{Z}")
            self.assertEqual(d["receiving-mx-helo"], B_NAME)
            self.assertEqual(d["receiving-ip"], "127.0.0.31")
        self.assertEqual(sum(d["failed-session-count"] for d in details),
                         p["summary"]["total-failure-session-count"])

    def test_dane_only_without_tlsa_is_dane_required(self):
        rcpt = f"dave@only.{Z}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line)
        self.assertIn("4.7.5", line)
        self.assertIn("dane-only", line)
        r = self.result(f"only.{Z}", "dane-required")
        self.assertEqual(r["pt"], "tlsa")
        self.assertEqual(r["host"], f"mx-none.{Z}")
        self.assertEqual(r["rip"], "127.0.0.32")
        self.assertEqual(r["sip"], "")  # never connected
        self.assertIn("no TLSA record", r["code"])
        [p] = self.report(f"only.{Z}")["policies"]
        self.assertEqual(p["policy"]["policy-type"], "tlsa")
        [d] = p["failure-details"]
        self.assertEqual(d["result-type"], "dane-required")
        self.assertNotIn("sending-mta-ip", d)  # unknown: left out
        self.assertNotIn("receiving-mx-helo", d)

    def test_sts_policy_with_untrusted_certificate_is_webpki_invalid(self):
        rcpt = f"erin@sts.{Z}"
        self.send(rcpt)
        self.outcome(rcpt)
        # The handshake failed: no request ever reached the server.
        self.assertEqual(self.rogue_web.asked(f"mta-sts.sts.{Z}"), 0)
        r = self.result(f"sts.{Z}", "sts-webpki-invalid")
        self.assertEqual(r["pt"], "sts")
        self.assertIn("certificate", r["code"].lower())
        self.assertEqual([x for x in tls_rpt_results(self.a.data_dir)
                          if x["pd"] == f"sts.{Z}" and x["res"] == "sts-policy-fetch-error"], [])
        [p] = self.report(f"sts.{Z}")["policies"]
        self.assertEqual(p["failure-details"][0]["result-type"], "sts-webpki-invalid")

    def test_sts_policy_not_found_is_a_fetch_error(self):
        rcpt = f"frank@sts404.{Z}"
        self.send(rcpt)
        self.outcome(rcpt)
        r = self.result(f"sts404.{Z}", "sts-policy-fetch-error")
        self.assertIn("404", r["code"])
        self.assertGreaterEqual(self.good_web.asked(f"mta-sts.sts404.{Z}"), 1)

    def test_next_hop_encrypt_beats_the_domain_entry(self):
        rcpt = f"gina@nexthop.{Z}"
        peer = self.peers[34]
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line)
        self.assertRegex(line, r"\b4\.7\.\d+\b")
        qid = re.search(r"relay: (\S+) ", line).group(1)
        tried = [l for l in self.a.read_log().splitlines()
                 if f"relay: {qid} " in l and "status=next-host" in l]
        self.assertTrue(tried, self.a.tail_log(40))
        self.assertIn(f"policy=encrypt(config [mx-plain.{Z}]:{self.P})", tried[0])
        self.assertIn("STARTTLS", tried[0] + line)
        self.assertEqual(peer.transactions, 0, "nothing may go out in plaintext")
        self.assertEqual(peer.delivered_to(rcpt), 0)


if __name__ == "__main__":
    main()
