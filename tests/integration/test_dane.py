"""DANE for outbound SMTP (RFC 7672) against real DNSSEC: signed test zones
served by nsd, a validating unbound in front (dnssec_zone.py), tern A's
resolver forwarding to it and trusting the same anchor ([dns]
trust_anchor). Destinations are aiosmtpd peers (smtp_peer.py) with
certificates made here, each on its own loopback address, all on one port
P ([relay] port = P, so the TLSA records sit at _P._tcp.HOST).

What this proves (docs/tls.md, "Failure modes"):
  - TLSA 3 1 1 matching the server's key: delivered over TLS, logged
    "dane=verified(3 1 1)";
  - TLSA 3 1 1 not matching: nothing sent (no MAIL, never plaintext), the
    message stays queued with 4.7.5; with a second MX that matches, the
    message goes there;
  - a bogus TLSA RRset (its RRSIG corrupted): the host is not even
    connected to, the message stays queued;
  - an insecure delegation (unsigned child zone): opportunistic TLS,
    delivered although its TLSA record matches nothing, "dane=insecure";
  - a secure MX whose host is in the unsigned zone (RFC 7672 2.2.2): the
    same;
  - DANE-TA(2) with a test CA (the server sends its chain): delivered,
    "dane=verified(2 0 1)";
  - DANE-EE(3) with an expired certificate for another name: delivered
    (RFC 7672 3.1.1: neither dates nor names count);
  - STARTTLS not offered by a host with usable TLSA: nothing sent, queued;
  - [[tls_policy]]: level "none" sends in plaintext even to a DANE host;
    "dane-only" refuses a host without secure TLSA records.
Needs nsd, ldnsutils, unbound, python3-aiosmtpd and python3-cryptography
(scripts/deps.sh test): skipped on a dev machine without them, failed
under CI.
"""
import datetime
import hashlib
import os
import re
import smtplib
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dane_setup import DnssecServers, start_dane_sender
from smtp_peer import SmtpPeer
from tern_harness import free_port, main
from tlsrpt_records import tls_rpt_results, wait_result

Z = "dane.test"
PLAIN = f"plain.{Z}"  # an unsigned child zone: an insecure delegation
A_DOMAIN = "a.sender.test"
ALICE = f"alice@{A_DOMAIN}"
PASSWORD = "dane test password"


# -- certificates ------------------------------------------------------------
def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(directory, label, cn, issuer=None, ca=False, days=(-1, 2)):
    """A P-256 key and a certificate for `cn`, self-signed or signed by
    `issuer` (a (cert, key) pair), valid from now+days[0] to now+days[1].
    Returns (cert, key, chain file, key file); the chain file holds the
    certificate, then the issuer's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    b = (x509.CertificateBuilder()
         .subject_name(_name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now + datetime.timedelta(days=days[0]))
         .not_valid_after(now + datetime.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    cert = b.sign(issuer_key, hashes.SHA256())
    chain = os.path.join(directory, f"{label}-chain.pem")
    keyfile = os.path.join(directory, f"{label}-key.pem")
    with open(chain, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        if issuer_cert:
            f.write(issuer_cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert, key, chain, keyfile


def spki_sha256(cert):
    """TLSA 3 1 1 / 2 1 1 data: SHA-256 of the SubjectPublicKeyInfo."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def cert_sha256(cert):
    """TLSA 2 0 1 / 3 0 1 data: SHA-256 of the whole certificate."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def message(subject, to):
    return (f"From: <{ALICE}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time_ns()}@{A_DOMAIN}>\r\n\r\nhello\r\n").encode()


class DaneTest(DnssecServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.P = P = free_port()
        cls.new_dns()
        d = cls.dns.tmp
        ee = make_cert(d, "ee", f"mx-ok.{Z}")
        cls.ee_cert = ee[0]
        other = make_cert(d, "other", "nobody.test")
        ca = make_cert(d, "ca", "Tern DANE Test CA", ca=True, days=(-1, 30))
        ta_leaf = make_cert(d, "ta", f"mx-ta.{Z}", issuer=(ca[0], ca[1]))
        expired = make_cert(d, "expired", "wrong-name.test", days=(-30, -1))
        bogus = make_cert(d, "bogus", f"mx-bogus.{Z}")
        plain = make_cert(d, "plain", f"mx.{PLAIN}")

        cls.peers = {}
        for n, host, cert in ((2, f"mx-ok.{Z}", ee), (3, f"mx-bad.{Z}", None),
                              (4, f"mx-bogus.{Z}", bogus), (5, f"mx.{PLAIN}", plain),
                              (6, f"mx-ta.{Z}", ta_leaf), (7, f"mx-exp.{Z}", expired),
                              (8, f"mx-nostls.{Z}", None)):
            p = SmtpPeer(f"127.0.0.{n}", P, hostname=host,
                         cert=(cert[2], cert[3]) if cert else None)
            cls.cleanups.append(p.cleanup)
            cls.peers[n] = p.start()
        cls.peers[8].no_ehlo = {"STARTTLS"}

        def host(name, n, tlsa=None):
            out = [f"{name}. 300 IN A 127.0.0.{n}"]
            if tlsa:
                out.append(f"_{P}._tcp.{name}. 300 IN TLSA {tlsa}")
            return out

        rr = []
        rr += host(f"mx-ok.{Z}", 2, f"3 1 1 {spki_sha256(ee[0])}")
        rr += host(f"mx-bad.{Z}", 3, f"3 1 1 {spki_sha256(other[0])}")
        rr += host(f"mx-bogus.{Z}", 4, f"3 1 1 {spki_sha256(bogus[0])}")
        rr += host(f"mx-ta.{Z}", 6, f"2 0 1 {cert_sha256(ca[0])}")
        rr += host(f"mx-exp.{Z}", 7, f"3 1 1 {spki_sha256(expired[0])}")
        rr += host(f"mx-nostls.{Z}", 8, f"3 1 1 {spki_sha256(other[0])}")
        for domain, mxs in (("ok", ["10 mx-ok"]), ("mismatch", ["10 mx-bad"]),
                            ("fallback", ["10 mx-bad", "20 mx-ok"]), ("bogus", ["10 mx-bogus"]),
                            ("ta", ["10 mx-ta"]), ("expired", ["10 mx-exp"]),
                            ("nostls", ["10 mx-nostls"]), ("none", ["10 mx-ok"])):
            for mx in mxs:
                pref, name = mx.split()
                rr.append(f"{domain}.{Z}. 300 IN MX {pref} {name}.{Z}.")
        # Secure MX records naming a host in the unsigned zone (RFC 7672 2.2.2).
        rr.append(f"mixed.{Z}. 300 IN MX 10 mx.{PLAIN}.")
        rr.append(f"only.{Z}. 300 IN MX 10 mx.{PLAIN}.")
        cls.dns.zone(Z, rr)
        # The unsigned child: its TLSA record matches nothing, and must not matter.
        cls.dns.zone(PLAIN, [f"{PLAIN}. 300 IN MX 10 mx.{PLAIN}."] +
                     host(f"mx.{PLAIN}", 5, "3 1 1 " + "00" * 32), signed=False)
        cls.dns.corrupt(f"_{P}._tcp.mx-bogus.{Z}.", "TLSA")
        cls.dns.start()

        more = ('[tls_rpt]\nenabled = true\n'  # records sessions (docs/tls.md "TLS-RPT")
                f'[[tls_policy]]\ndomain = "none.{Z}"\nlevel = "none"\n'
                f'[[tls_policy]]\ndomain = "only.{Z}"\nlevel = "dane-only"\n')
        cls.a = start_dane_sender(cls.cleanups, cls.dns, P, ALICE, PASSWORD, more)

    def setUp(self):
        self.addCleanup(self.a.assert_running)

    # -- helpers --
    def send(self, rcpt):
        with smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [rcpt], message(f"to {rcpt}", rcpt))

    def outcome(self, rcpt, timeout=15):
        """The relay log line that settles `rcpt` (status=sent/deferred/bounced)."""
        pattern = re.compile(r"relay: \S+ to=<" + re.escape(rcpt) + r">.* status=(sent|deferred|bounced)")
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.a.read_log().splitlines():
                if pattern.search(line):
                    return line
            time.sleep(0.05)
        self.fail(f"no outcome for {rcpt}\n{self.a.tail_log(60)}\n{self.dns.read_logs()}")

    def tries(self, rcpt):
        """A's log lines about hosts given up while delivering the message to rcpt."""
        qid = re.search(r"relay: (\S+) ", self.outcome(rcpt)).group(1)
        return [l for l in self.a.read_log().splitlines()
                if "status=next-host" in l and f"relay: {qid} " in l]

    def assert_delivered(self, rcpt, peer, dane):
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=sent", line)
        self.assertIn(f"dane={dane}", line)
        self.assertTrue(peer.wait(lambda: peer.delivered_to(rcpt) == 1), self.a.tail_log())
        return line

    def assert_deferred(self, rcpt, *peers):
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line)
        self.assertIn("4.7.5", line)
        for p in peers:
            self.assertEqual(p.delivered_to(rcpt), 0)
        return line

    def tls_rpt(self, domain, res):
        """The recorded TLS-RPT result for `domain` with result `res` (waits for it)."""
        r = wait_result(self.a.data_dir, domain, res)
        if r is None:
            got = [x for x in tls_rpt_results(self.a.data_dir) if x.get("pd") == domain]
            self.fail(f"no TLS-RPT result {res} for {domain}; have {got}\n{self.a.tail_log(40)}")
        return r

    # -- the cases --
    def test_matching_tlsa_3_1_1_is_verified(self):
        line = self.assert_delivered(f"bob@ok.{Z}", self.peers[2], r"verified(3 1 1)")
        self.assertIn("policy=dane(dane)", line)
        self.assertIn("tls=TLSv1.3", line)
        self.assertTrue(self.peers[2].messages[-1].tls)
        r = self.tls_rpt(f"ok.{Z}", "success")
        self.assertEqual(r["pt"], "tlsa")
        self.assertEqual(r["host"], f"mx-ok.{Z}")
        self.assertEqual(r["rip"], "127.0.0.2")
        self.assertEqual(r["ps"], f"3 1 1 {spki_sha256(self.ee_cert)}".lower())
        # The next message within the pool's idle time takes the same
        # connection; its line keeps how that connection was authenticated.
        connections = self.peers[2].connections
        line = self.assert_delivered(f"carol@ok.{Z}", self.peers[2], r"verified(3 1 1)")
        self.assertIn("policy=dane(dane)", line)
        self.assertEqual(self.peers[2].connections, connections, "a pooled connection")

    def test_mismatch_is_deferred_never_plaintext(self):
        peer = self.peers[3]
        before = peer.transactions
        line = self.assert_deferred(f"bob@mismatch.{Z}", peer)
        self.assertEqual(peer.transactions, before, "no MAIL may follow a failed DANE check")
        self.assertIn("not trusted", line)
        self.assertNotIn("trying once more in plaintext", self.a.read_log())
        qs = [m for m in self.a.queue_list() if f"bob@mismatch.{Z}" in str(m)]
        self.assertEqual(len(qs), 1, self.a.queue_list())
        r = self.tls_rpt(f"mismatch.{Z}", "tlsa-invalid")
        self.assertEqual(r["pt"], "tlsa")
        self.assertEqual(r["host"], f"mx-bad.{Z}")
        self.assertEqual([x for x in tls_rpt_results(self.a.data_dir)
                          if x["pd"] == f"mismatch.{Z}" and x["res"] == "success"], [])

    def test_mismatch_then_matching_backup_mx(self):
        self.assert_delivered(f"carol@fallback.{Z}", self.peers[2], r"verified(3 1 1)")
        self.assertEqual(self.peers[3].delivered_to(f"carol@fallback.{Z}"), 0)
        self.assertTrue(any("mx-bad" in l for l in self.tries(f"carol@fallback.{Z}")),
                        self.a.tail_log())

    def test_bogus_tlsa_defers_without_connecting(self):
        peer = self.peers[4]
        line = self.assert_deferred(f"bob@bogus.{Z}", peer)
        self.assertEqual(peer.connections, 0, "a host with a bogus TLSA RRset is not used")
        skipped = [l for l in self.tries(f"bob@bogus.{Z}") if "mx-bogus" in l]
        self.assertTrue(skipped, self.a.tail_log())
        self.assertRegex(skipped[0], r"dane=(bogus|failed)")
        self.assertIn("TLSA lookup", line)
        self.assertEqual(self.tls_rpt(f"bogus.{Z}", "dnssec-invalid")["pt"], "tlsa")

    def test_insecure_delegation_is_opportunistic(self):
        line = self.assert_delivered(f"bob@{PLAIN}", self.peers[5], "insecure")
        self.assertIn("policy=may(default)", line)
        self.assertIn("tls=TLSv1.3", line)  # still encrypted when offered

    def test_secure_mx_with_insecure_host(self):
        self.assert_delivered(f"dave@mixed.{Z}", self.peers[5], "insecure")

    def test_dane_ta_with_test_ca(self):
        self.assert_delivered(f"bob@ta.{Z}", self.peers[6], r"verified(2 0 1)")

    def test_dane_ee_ignores_expiry_and_names(self):
        line = self.assert_delivered(f"bob@expired.{Z}", self.peers[7], r"verified(3 1 1)")
        self.assertIn("cert=verified", line)

    def test_missing_starttls_with_tlsa_is_deferred(self):
        peer = self.peers[8]
        line = self.assert_deferred(f"bob@nostls.{Z}", peer)
        self.assertEqual(peer.transactions, 0)
        self.assertIn("STARTTLS", line)
        self.assertEqual(self.tls_rpt(f"nostls.{Z}", "starttls-not-supported")["pt"], "tlsa")

    def test_policy_none_sends_plaintext(self):
        line = self.assert_delivered(f"erin@none.{Z}", self.peers[2], "none")
        self.assertIn("policy=none(config none.dane.test)", line)
        self.assertIn("tls=none", line)
        self.assertFalse(self.peers[2].messages[-1].tls)

    def test_policy_dane_only_refuses_insecure_host(self):
        line = self.assert_deferred(f"bob@only.{Z}", self.peers[5])
        self.assertIn("dane-only", line)


    def test_trace_field_records_the_hop(self):
        """docs/tls.md "The outbound trace": the message as the MX got it."""
        from trace_field import outbound_trace

        def trace(rcpt, peer):
            self.send(rcpt)
            self.assertIn("status=sent", self.outcome(rcpt))
            self.assertTrue(peer.wait(lambda: peer.delivered_to(rcpt) == 1), self.a.tail_log())
            return outbound_trace([m for m in peer.messages if rcpt in m.rcpts][-1].data)

        # The connection to mx-ok may be a pooled one: its log line keeps
        # the policy and DANE outcome of its set-up, as the trace does.
        rcpt = f"trace@ok.{Z}"
        by, comment, with_, qid = trace(rcpt, self.peers[2])
        self.assertIn("policy=dane(dane) dane=verified(3 1 1)", self.outcome(rcpt))
        self.assertEqual((by, with_), (f"mx.{A_DOMAIN}", "ESMTPS"))
        self.assertIn(qid, self.outcome(rcpt))
        self.assertRegex(comment, rf"^tern outbound to mx-ok\.{Z} \[127\.0\.0\.2\], TLSv1\.3 ")
        self.assertIn("authenticated by DANE TLSA 3 1 1 DANE-EE SPKI SHA2-256, policy=dane per dane",
                      comment)
        rcpt = f"trace@{PLAIN}"
        comment = trace(rcpt, self.peers[5])[1]
        self.assertIn("opportunistic TLS not verified: ", comment)
        self.assertIn("policy=may per default", comment)
        rcpt = f"trace@none.{Z}"
        _, comment, with_, _ = trace(rcpt, self.peers[2])
        self.assertEqual(with_, "ESMTP")
        self.assertTrue(comment.endswith(f"[127.0.0.2], plaintext, policy=none per config none.{Z}"),
                        comment)


if __name__ == "__main__":
    main()
