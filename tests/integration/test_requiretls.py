"""REQUIRETLS (RFC 8689) through real servers over real DNSSEC (dnssec_zone.py:
signed zones served by nsd behind a validating unbound, which tern A trusts
through [dns] trust_anchor).

A client submits to tern A (submission, STARTTLS, AUTH) with
"MAIL FROM:<...> REQUIRETLS"; tern A relays by MX. What this proves
(docs/tls.md, "REQUIRETLS"):
  - end to end through two tern servers: A relays to tern B, whose MX host
    is DANE-authenticated (TLSA 3 1 1 of B's key in the signed zone); B
    stores the message, and its own delivery log shows the envelope it
    queued carries REQUIRETLS (B only sets that from the MAIL parameter);
  - a next hop that does not offer REQUIRETLS (an aiosmtpd peer,
    DANE-authenticated all the same): no MAIL is sent to it, the sender
    gets a DSN with 5.7.30, sent itself with REQUIRETLS, carrying the
    header section only although RET=FULL was asked (RFC 8689 5);
  - a destination in an unsigned zone without MTA-STS: its host is not even
    connected to, DSN 5.7.30;
  - the destination down: deferred; the queue file keeps "requiretls yes";
    tern A is restarted; the destination (another tern, with the key the
    TLSA record names) comes up; a flush delivers it, with REQUIRETLS;
  - through a smarthost: sent when its certificate verifies and it offers
    REQUIRETLS (tern B); bounced with 5.7.30 when it does not (aiosmtpd);
  - "TLS-Required: No" (no REQUIRETLS parameter) to a host whose TLSA
    record does not match: delivered with opportunistic TLS; the same
    message without the header is deferred (4.7.5), as any mail there.
Needs nsd, ldnsutils, unbound, python3-aiosmtpd and python3-cryptography
(scripts/deps.sh test): skipped on a dev machine without them, failed
under CI.
"""
import os
import re
import smtplib
import time
import unittest

from smtp_peer import SmtpPeer
from dane_setup import DnssecServers, start_dane_sender
from tern_harness import Tern, dns_toml, free_port, main, relay_toml
from test_dane import make_cert, spki_sha256

Z = "rtls.test"
PLAIN = f"plain.{Z}"  # unsigned child zone: no DANE, and no MTA-STS either
A_DOMAIN = "a.sender.test"
ALICE = f"alice@{A_DOMAIN}"
PASSWORD = "requiretls test password"
B = f"b.{Z}"          # tern B, DANE-authenticated, offers REQUIRETLS
NORTLS = f"nortls.{Z}"  # aiosmtpd, DANE-authenticated, no REQUIRETLS
LATER = f"later.{Z}"    # tern C, started late
BAD = f"mismatch.{Z}"   # aiosmtpd whose TLSA record matches nothing


def message(subject, to, extra_header=""):
    return (f"From: <{ALICE}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n{extra_header}"
            f"Message-ID: <{time.time_ns()}@{A_DOMAIN}>\r\n\r\n"
            f"SECRET-BODY {subject}\r\n").encode()


class RequireTlsTest(DnssecServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.P = P = free_port()
        cls.new_dns()
        d = cls.dns.tmp
        b_cert = make_cert(d, "tern-b", f"mx-b.{Z}")
        cls.c_cert = make_cert(d, "tern-c", f"mx-later.{Z}")
        peer_cert = make_cert(d, "peer", f"mx-peer.{Z}")
        cls.b_cert, cls.peer_cert = b_cert, peer_cert
        bad_cert = make_cert(d, "bad", f"mx-bad.{Z}")
        other = make_cert(d, "other", "nobody.test")
        plain_cert = make_cert(d, "plain", f"mx.{PLAIN}")

        cls.nortls = SmtpPeer("127.0.0.11", P, hostname=f"mx-peer.{Z}",
                              cert=(peer_cert[2], peer_cert[3]))
        cls.cleanups.append(cls.nortls.cleanup)
        cls.nortls.start()
        cls.plain = SmtpPeer("127.0.0.12", P, hostname=f"mx.{PLAIN}",
                             cert=(plain_cert[2], plain_cert[3]))
        cls.cleanups.append(cls.plain.cleanup)
        cls.plain.start()
        cls.bad = SmtpPeer("127.0.0.13", P, hostname=f"mx-bad.{Z}",
                           cert=(bad_cert[2], bad_cert[3]))
        cls.cleanups.append(cls.bad.cleanup)
        cls.bad.start()

        def host(name, n, cert):
            return [f"{name}. 300 IN A 127.0.0.{n}",
                    f"_{P}._tcp.{name}. 300 IN TLSA 3 1 1 {spki_sha256(cert)}"]

        rr = []
        rr += host(f"mx-b.{Z}", 10, b_cert[0])
        rr += host(f"mx-peer.{Z}", 11, peer_cert[0])
        rr += host(f"mx-bad.{Z}", 13, other[0])
        rr += host(f"mx-later.{Z}", 14, cls.c_cert[0])
        rr += [f"{B}. 300 IN MX 10 mx-b.{Z}.", f"{NORTLS}. 300 IN MX 10 mx-peer.{Z}.",
               f"{BAD}. 300 IN MX 10 mx-bad.{Z}.", f"{LATER}. 300 IN MX 10 mx-later.{Z}."]
        cls.dns.zone(Z, rr)
        cls.dns.zone(PLAIN, [f"{PLAIN}. 300 IN MX 10 mx.{PLAIN}.",
                             f"mx.{PLAIN}. 300 IN A 127.0.0.12"], signed=False)
        cls.dns.start()

        cls.b = Tern(domains=[B], hostname=f"mx-b.{Z}", host="127.0.0.10", kinds=("smtp",),
                     ports={"smtp": P}, accept_any_local_part=True,
                     tls={"certificate": b_cert[2], "private_key": b_cert[3]})
        cls.cleanups.append(cls.b.cleanup)
        cls.b.start()
        cls.a = start_dane_sender(cls.cleanups, cls.dns, P, ALICE, PASSWORD)

    def setUp(self):
        self.addCleanup(self.a.assert_running)

    # -- helpers --
    def diagnostics(self):
        return (f"--- tern A\n{self.a.tail_log(40)}\n--- tern B\n{self.b.tail_log(15)}\n"
                f"{self.dns.read_logs()}")

    def send(self, rcpt, requiretls=True, header="", ret_full=False):
        opts = (["REQUIRETLS"] if requiretls else []) + (["RET=FULL"] if ret_full else [])
        subject = f"to {rcpt} {time.time_ns()}"
        with smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.ehlo()
            if requiretls:
                self.assertTrue(s.has_extn("requiretls"), "A offers REQUIRETLS over TLS")
            s.sendmail(ALICE, [rcpt], message(subject, rcpt, header), mail_options=opts)
        return subject

    def outcome(self, rcpt, timeout=15, server=None):
        """The relay log line that settles `rcpt` (status=sent/deferred/bounced)."""
        server = server or self.a
        pattern = re.compile(r"relay: \S+ to=<" + re.escape(rcpt) +
                             r">.* status=(sent|deferred|bounced)")
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in server.read_log().splitlines():
                if pattern.search(line):
                    return line
            time.sleep(0.05)
        self.fail(f"no outcome for {rcpt}\n{self.diagnostics()}")

    def delivery_line(self, server, rcpt, timeout=10):
        """`server`'s "delivery id=... rcpt=<rcpt>" line (logged just after
        the Maildir write, so it is waited for)."""
        deadline = time.time() + timeout
        while True:
            line = next((l for l in server.read_log().splitlines()
                         if f"rcpt=<{rcpt}>" in l and "delivery id=" in l), "")
            if line or time.time() >= deadline:
                return line
            time.sleep(0.05)

    def dsn_for(self, subject, timeout=15):
        """The DSN in alice's Maildir about the message with `subject`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.a.messages(ALICE):
                if subject.encode() in m:
                    return m
            time.sleep(0.05)
        self.fail(f"no DSN about {subject}\n{self.diagnostics()}")

    def assert_dsn_5730(self, subject):
        dsn = self.dsn_for(subject)
        self.assertIn(b"Status: 5.7.30", dsn)
        self.assertIn(b"text/rfc822-headers", dsn)  # RFC 8689 5: as if RET=HDRS
        self.assertNotIn(b"SECRET-BODY", dsn)
        # The DSN was queued with REQUIRETLS itself: its own delivery line says so.
        about = re.search(rb"X-Tern-Queue-ID: (\S+)", dsn)
        self.assertIsNotNone(about, dsn[:2000])
        line, deadline = "", time.time() + 10
        while not line and time.time() < deadline:  # logged just after the Maildir write
            log = self.a.read_log()
            did = re.search(r"dsn id=(\S+) about=" + re.escape(about.group(1).decode()), log)
            if did:
                line = next((l for l in log.splitlines()
                             if f"delivery id={did.group(1)} rcpt=<{ALICE}>" in l), "")
            time.sleep(0.05)
        self.assertIn("requiretls=yes", line, self.diagnostics())
        return dsn

    # -- the cases --
    def test_end_to_end_through_two_terns(self):
        rcpt = f"bob@{B}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=sent", line, self.diagnostics())
        self.assertIn("dane=verified(3 1 1)", line)
        self.assertIn("requiretls=yes", line)
        deadline = time.time() + 15
        while time.time() < deadline and not self.b.messages(rcpt):
            time.sleep(0.05)
        self.assertEqual(len(self.b.messages(rcpt)), 1, self.diagnostics())
        # B queued it with REQUIRETLS: only MAIL FROM ... REQUIRETLS sets that.
        b_line = self.delivery_line(self.b, rcpt)
        self.assertIn("requiretls=yes", b_line, self.b.tail_log(20))

    def test_next_hop_without_requiretls_bounces_5_7_30(self):
        rcpt = f"bob@{NORTLS}"
        before = self.nortls.transactions
        subject = self.send(rcpt, ret_full=True)
        line = self.outcome(rcpt)
        self.assertIn("status=bounced", line, self.diagnostics())
        self.assertIn("5.7.30", line)
        self.assertIn("requiretls=yes", line)
        self.assertEqual(self.nortls.transactions, before, "no MAIL to a server without REQUIRETLS")
        self.assertGreater(self.nortls.connections, 0)  # it was tried: DANE authenticated it
        self.assertEqual(self.nortls.delivered_to(rcpt), 0)
        self.assert_dsn_5730(subject)

    def test_destination_without_dane_or_sts_bounces_5_7_30(self):
        rcpt = f"bob@{PLAIN}"
        subject = self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=bounced", line, self.diagnostics())
        self.assertIn("5.7.30", line)
        self.assertIn("no DANE or MTA-STS", line)
        self.assertEqual(self.plain.connections, 0, "an unauthenticated host is not connected to")
        self.assert_dsn_5730(subject)

    def test_tls_required_no_ignores_dane(self):
        rcpt = f"bob@{BAD}"
        self.send(rcpt, requiretls=False, header="TLS-Required: No\r\n")
        line = self.outcome(rcpt)
        self.assertIn("status=sent", line, self.diagnostics())
        self.assertIn("tls-required=no", line)
        self.assertIn("tls=TLSv1.3", line)  # still encrypted when offered
        self.assertTrue(self.bad.wait(lambda: self.bad.delivered_to(rcpt) == 1))
        # Without the header: DANE applies, the mismatch defers it, never plaintext.
        carol = f"carol@{BAD}"
        self.send(carol, requiretls=False)
        line = self.outcome(carol)
        self.assertIn("status=deferred", line, self.diagnostics())
        self.assertIn("4.7.5", line)
        self.assertEqual(self.bad.delivered_to(carol), 0)

    def test_deferred_across_a_restart_then_delivered(self):
        rcpt = f"dora@{LATER}"
        self.send(rcpt)
        line = self.outcome(rcpt)
        self.assertIn("status=deferred", line, self.diagnostics())
        self.assertIn("requiretls=yes", line)
        qdir = os.path.join(self.a.data_dir, "queue", "msg")
        queued = []
        for name in self.a.queue_files():
            with open(os.path.join(qdir, name), "rb") as f:
                body = f.read()
            if rcpt.encode() in body:
                queued.append(body)
        self.assertTrue(any(re.search(rb"(?m)^requiretls yes\r?$", q) for q in queued),
                        self.a.queue_files())

        self.a.stop()
        self.a.start()
        c = Tern(domains=[LATER], hostname=f"mx-later.{Z}", host="127.0.0.14", kinds=("smtp",),
                 ports={"smtp": self.P}, accept_any_local_part=True,
                 tls={"certificate": self.c_cert[2], "private_key": self.c_cert[3]})
        self.addCleanup(c.cleanup)
        c.start()
        self.a.queue_flush()
        deadline = time.time() + 20
        while time.time() < deadline and not c.messages(rcpt):
            time.sleep(0.05)
        self.assertEqual(len(c.messages(rcpt)), 1, self.diagnostics() + c.tail_log(20))
        sent, deadline = [], time.time() + 10
        while not sent and time.time() < deadline:
            sent = [l for l in self.a.read_log().splitlines()
                    if f"to=<{rcpt}>" in l and "status=sent" in l]
            time.sleep(0.05)
        self.assertTrue(sent and "requiretls=yes" in sent[-1], self.diagnostics())
        c_line = self.delivery_line(c, rcpt)
        self.assertIn("requiretls=yes", c_line, c.tail_log(20))

    def smarthost_sender(self, host, ca_file):
        """A second sending tern whose every message goes to the smarthost `host`."""
        domain = "a2.sender.test"
        extra = dns_toml(self.dns, timeout=3, dnssec=True) + relay_toml(
            self.P, more=f'smarthost = "{host}:{self.P}"\nca_file = "{ca_file}"\n')
        t = Tern(domains=[domain], hostname=f"mx.{domain}", kinds=("submission",), extra=extra)
        self.addCleanup(t.cleanup)
        t.add_users({f"alice@{domain}": PASSWORD})
        t.start()
        return t, f"alice@{domain}"

    def test_smarthost_needs_verified_tls_and_requiretls(self):
        for host, ca, rcpt, ok in ((f"mx-b.{Z}", self.b_cert[2], f"sh@{B}", True),
                                   (f"mx-peer.{Z}", self.peer_cert[2], f"sh@{NORTLS}", False)):
            t, sender = self.smarthost_sender(host, ca)
            with smtplib.SMTP("127.0.0.1", t.port("submission"), timeout=10) as s:
                s.starttls(context=t.ssl_context(check_hostname=False))
                s.login(sender, PASSWORD)
                s.sendmail(sender, [rcpt], message(f"smarthost {rcpt}", rcpt),
                           mail_options=["REQUIRETLS"])
            line = self.outcome(rcpt, server=t)
            self.assertIn("requiretls=yes", line, t.tail_log(20))
            if ok:
                self.assertIn("smarthost=", line)
                self.assertIn("cert=verified", line)
                self.assertIn("status=sent", line, t.tail_log(20))
            else:
                self.assertIn("status=bounced", line, t.tail_log(20))
                self.assertIn("5.7.30", line)
                self.assertRegex(t.read_log(), r"smarthost=\S+ tls=\S+ cert=verified "
                                               r"requiretls=yes status=next-host \(451 4\.7\.30")
                self.assertEqual(self.nortls.delivered_to(rcpt), 0)


if __name__ == "__main__":
    main()
