"""The outbound relay against real servers: a real DNS server (unbound on
loopback, dns_server.py) routes mail for test domains to a second tern, to
Python aiosmtpd peers scripted for faults (smtp_peer.py) and to Postfix
(postfix_peer.py), each on its own loopback address (127.0.0.2, .3, ...),
all on one port P ([relay] port = P; tern A, the sender, listens on
127.0.0.1:P itself, so an MX pointing at 127.0.0.1 is a loop).

What this proves:
  - a message submitted on 587 by an authenticated user reaches the
    destination found by MX: a second tern (in its Maildir) and a private
    Postfix (in its Maildir, over STARTTLS; needs root and the postfix
    package, as scripts/deps.sh and CI provide), with the TLS verdict logged;
    equal preferences, a primary MX that refuses connections, a 421
    banner, a connection dropped in the middle of DATA and the implicit MX
    all end at the right host;
  - null MX (556 5.1.10, no connection), NXDOMAIN (550 5.1.2), a loop
    (554 5.4.6), 550 to a recipient, 8-bit to a server without 8BITMIME
    (554 5.6.3) and SMTPUTF8 to a server without it (553 5.6.7) come back
    as RFC 3464 reports that Python's email package parses, naming the
    recipient, and for remote refusals the Remote-MTA and Diagnostic-Code;
  - 450 to one recipient leaves it queued (`tern queue list` shows the
    reply) while the others are delivered; `tern queue flush` retries it,
    and the recipients already delivered get no second copy;
  - a STARTTLS handshake that fails is retried once in plaintext;
  - several messages share one connection, at most
    max_messages_per_connection each;
  - SERVFAIL and unreachable hosts leave the message queued (transient);
  - kill -9 while a peer stalls in DATA, then a restart: the message in
    flight is delivered (once), the one delivered before is not re-sent;
  - smarthost: STARTTLS with a verified certificate (ca_file) and AUTH to a
    second tern; a wrong password leaves the message queued with the AUTH
    error in `tern queue list`; an unreadable password_file stops the
    start with a clear message.
"""
import email
import email.policy
import os
import re
import smtplib
import time
import unittest

import postfix_peer
from dns_server import DnsServer
from postfix_peer import PostfixPeer
from smtp_peer import SmtpPeer
from tern_harness import ClassServers, Tern, dns_toml, free_port, main, relay_toml

PASSWORD = "relay test password"
A_DOMAIN = "a.relay.test"
ALICE = f"alice@{A_DOMAIN}"
Z = "relay.test"


def records():
    return [
        # A second tern.
        f"b.{Z}. 300 IN MX 10 mx.b.{Z}.",
        f"b2.{Z}. 300 IN MX 10 mx.b.{Z}.",
        f"b3.{Z}. 300 IN MX 10 mx.b.{Z}.",
        f"mx.b.{Z}. 300 IN A 127.0.0.2",
        # Hosts.
        f"up.{Z}. 300 IN A 127.0.0.3",
        f"down.{Z}. 300 IN A 127.0.0.9",  # nothing listens: connection refused
        f"mx4.{Z}. 300 IN A 127.0.0.4",
        f"mx5.{Z}. 300 IN A 127.0.0.5",
        f"mx6.{Z}. 300 IN A 127.0.0.6",
        f"mx7.{Z}. 300 IN A 127.0.0.7",
        f"mx8.{Z}. 300 IN A 127.0.0.8",
        f"self.{Z}. 300 IN A 127.0.0.1",  # tern A itself
        f"{A_DOMAIN}. 300 IN A 127.0.0.10",  # A's host name, another address
        # Equal preferences: one refuses, either order ends at 127.0.0.3.
        f"equal.{Z}. 300 IN MX 10 up.{Z}.",
        f"equal.{Z}. 300 IN MX 10 down.{Z}.",
        # The primary MX is down.
        f"backup.{Z}. 300 IN MX 10 down.{Z}.",
        f"backup.{Z}. 300 IN MX 20 up.{Z}.",
        f"dead.{Z}. 300 IN MX 10 down.{Z}.",
        # No MX: the domain's own address.
        f"nomx.{Z}. 300 IN A 127.0.0.3",
        # Null MX, with an address that must not be used.
        f"nullmx.{Z}. 300 IN MX 0 .",
        f"nullmx.{Z}. 300 IN A 127.0.0.3",
        # Scripted peers.
        f"rcpt.{Z}. 300 IN MX 10 mx4.{Z}.",
        f"busy.{Z}. 300 IN MX 10 mx5.{Z}.",
        f"busy.{Z}. 300 IN MX 20 up.{Z}.",
        f"badtls.{Z}. 300 IN MX 10 mx6.{Z}.",
        f"drop.{Z}. 300 IN MX 10 mx7.{Z}.",
        f"drop.{Z}. 300 IN MX 20 up.{Z}.",
        f"old.{Z}. 300 IN MX 10 mx8.{Z}.",
        # Loops: an MX that is tern A by address, by name, and as a backup.
        f"loop.{Z}. 300 IN MX 10 self.{Z}.",
        f"loopname.{Z}. 300 IN MX 10 {A_DOMAIN}.",
        f"loopbackup.{Z}. 300 IN MX 10 up.{Z}.",
        f"loopbackup.{Z}. 300 IN MX 20 self.{Z}.",
        # Postfix.
        f"pf.{Z}. 300 IN MX 10 mx.pf.{Z}.",
        f"mx.pf.{Z}. 300 IN A 127.0.0.14",
        # kill -9 and smarthost tests.
        f"stall.{Z}. 300 IN MX 10 mx11.{Z}.",
        f"mx11.{Z}. 300 IN A 127.0.0.11",
    ]


def message(subject, to, body="hello\r\n", extra=""):
    return (f"From: {ALICE}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{re.sub(r'[^A-Za-z0-9]', '.', subject)}@{A_DOMAIN}>\r\n{extra}"
            f"\r\n{body}").encode()


def submit(t, user, rcpts, data, mail_options=(), rcpt_options=(), password=PASSWORD):
    """Sends on t's submission port with STARTTLS + AUTH; returns the queue id."""
    with smtplib.SMTP(t.host, t.port("submission"), timeout=10) as s:
        s.starttls(context=t.ssl_context(check_hostname=False))
        s.login(user, password)
        s.ehlo()
        code, text = s.mail(user, list(mail_options))
        assert code == 250, (code, text)
        for r in rcpts:
            code, text = s.rcpt(r, list(rcpt_options))
            assert code == 250, (r, code, text)
        code, text = s.data(data)
        assert code == 250, (code, text)
    return re.search(rb"queued as (\S+)", text).group(1).decode()


def start_stalling_world(test, domain, host, relay_more=""):
    """For one test (each piece stopped by test.addCleanup): unbound with
    records(), an aiosmtpd peer on 127.0.0.11 (mx11, the MX of
    stall.relay.test) at a free port, and a started tern on `host` for
    `domain` relaying there ([relay] `relay_more` lines), where
    alice@<domain> may submit. Returns (tern, peer, alice)."""
    port = free_port()
    dns = DnsServer(zones=[Z], records=records())
    test.addCleanup(dns.cleanup)
    dns.start()
    peer = SmtpPeer("127.0.0.11", port, hostname=f"mx11.{Z}")
    test.addCleanup(peer.cleanup)
    peer.start()
    alice = f"alice@{domain}"
    c = Tern(domains=[domain], hostname=domain, host=host, kinds=("smtp", "submission"),
             extra=dns_toml(dns) + relay_toml(port, connect_timeout=None, more=relay_more))
    test.addCleanup(c.cleanup)
    c.add_users({alice: PASSWORD})
    c.start()
    return c, peer, alice


class RelayTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.P = free_port()
        cls.dns = DnsServer(zones=[Z], records=records(), servfail=["broken.test"])
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()
        cls.peers = {}
        for n in (3, 4, 5, 6, 7, 8):
            p = SmtpPeer(f"127.0.0.{n}", cls.P, hostname=f"mx{n}.{Z}")
            cls.cleanups.append(p.cleanup)
            cls.peers[n] = p.start()
        cls.postfix_missing = postfix_peer.available()
        cls.postfix = None
        if cls.postfix_missing is None:
            cls.postfix = PostfixPeer("127.0.0.14", cls.P, f"pf.{Z}", [f"ok@pf.{Z}"])
            cls.cleanups.append(cls.postfix.cleanup)
            cls.postfix.start()
        cls.b = Tern(domains=[f"b.{Z}", f"b2.{Z}", f"b3.{Z}"], hostname=f"mx.b.{Z}", host="127.0.0.2", kinds=("smtp",),
                     ports={"smtp": cls.P}, accept_any_local_part=True)
        cls.cleanups.append(cls.b.cleanup)
        cls.b.start()
        extra = dns_toml(cls.dns) + relay_toml(cls.P, more="max_messages_per_connection = 2\n")
        cls.a = Tern(domains=[A_DOMAIN], hostname=A_DOMAIN, kinds=("smtp", "submission"),
                     ports={"smtp": cls.P}, extra=extra)
        cls.cleanups.append(cls.a.cleanup)
        cls.a.add_users({ALICE: PASSWORD})
        cls.a.start()

    def setUp(self):
        self.addCleanup(self.a.assert_running)

    # -- helpers --
    def send(self, rcpts, subject, **kw):
        data = kw.pop("data", None) or message(subject, rcpts[0])
        return submit(self.a, ALICE, rcpts, data, **kw)

    def log_fail(self, msg):
        self.fail(f"{msg}\n{self.a.tail_log(80)}")

    def wait_done(self, qid, timeout=10):
        """Waits until `qid` has left A's queue."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if qid not in self.a.queue_files():
                return
            time.sleep(0.05)
        self.log_fail(f"{qid} still queued")

    def wait_attempt(self, qid, rcpt, timeout=10):
        needle = f"delivery id={qid} rcpt=<{rcpt}>"
        if not self.a.wait_log(needle, timeout):
            self.log_fail(f"no attempt for {qid} <{rcpt}>")

    def queued(self, qid):
        for m in self.a.queue_list():
            if m["id"] == qid:
                return m
        return None

    def report_for(self, rcpt, timeout=10):
        """The RFC 3464 report in alice's Maildir about `rcpt` (an address,
        or a regex for the Final-Recipient field): (report, its recipient
        block), parsed by Python's email package."""
        want = rcpt if isinstance(rcpt, re.Pattern) else re.compile(re.escape(f"rfc822; {rcpt}"))
        deadline = time.time() + timeout
        while time.time() < deadline:
            for raw in self.a.messages(ALICE):
                report = email.message_from_bytes(raw, policy=email.policy.compat32)
                if report.get_content_type() != "multipart/report":
                    continue
                parts = report.get_payload()
                blocks = parts[1].get_payload()
                for block in blocks[1:]:
                    if want.fullmatch(block["Final-Recipient"] or ""):
                        return report, block
            time.sleep(0.05)
        self.log_fail(f"no report about <{rcpt}> in {self.a.maildir(ALICE)}")

    def check_report(self, rcpt, status, remote_mta=None, diagnostic=None, text=None):
        report, block = self.report_for(rcpt)
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        self.assertEqual(report["To"], f"<{ALICE}>")
        self.assertFalse(report.defects, report.defects)
        parts = report.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertEqual(parts[1].get_payload()[0]["Reporting-MTA"], f"dns; {A_DOMAIN}")
        self.assertEqual(block["Action"], "failed")
        self.assertEqual(block["Status"], status)
        if remote_mta:
            self.assertEqual(block["Remote-MTA"], f"dns; {remote_mta}")
        else:
            self.assertIsNone(block["Remote-MTA"])
        if diagnostic:  # a long field is folded
            code = " ".join(block["Diagnostic-Code"].split())
            self.assertTrue(code.startswith(f"smtp; {diagnostic}"), code)
        if text:  # the human part is folded
            self.assertIn(text, " ".join(parts[0].get_payload().split()))
        return report, block

    def peer_got(self, peer, rcpt, count=1, timeout=10):
        if not peer.wait(lambda: peer.delivered_to(rcpt) >= count, timeout):
            self.log_fail(f"{peer.host} did not get a message for <{rcpt}>")

    # -- delivery by MX --
    def test_reaches_the_mx_a_second_tern(self):
        rcpt = f"bob@b.{Z}"
        qid = self.send([rcpt], "to tern b")
        msgs = self.b.wait_messages(rcpt, 1)
        if len(msgs) != 1:
            self.log_fail(f"not delivered at b:\n{self.b.tail_log()}")
        self.assertIn(b"Subject: to tern b", msgs[0])
        self.assertIn(f"Return-Path: <{ALICE}>".encode(), msgs[0])
        self.wait_done(qid)
        # The TLS verdict: opportunistic, b's certificate is self-signed.
        line = [l for l in self.a.read_log().splitlines()
                if f"relay: {qid} to=<{rcpt}>" in l]
        self.assertEqual(len(line), 1, self.a.tail_log())
        self.assertRegex(line[0], rf"mx=mx\.b\.relay\.test\[127\.0\.0\.2\]:{self.P} "
                                  r"tls=TLSv1\.[23]/\S+ cert=unverified\(self-signed certificate\) "
                                  r"status=sent \(250 2\.0\.0 Ok: queued as \w+\)")
        self.assertIn("result=relayed reply=\"250 2.0.0 Ok: queued as", self.a.read_log())

    def test_concurrent_deliveries_to_a_tern(self):
        # Several TLS sessions at once into b (up to [queue] max_per_destination
        # connections): each message arrives once, none is mixed up.
        rcpt = f"many@b3.{Z}"
        with smtplib.SMTP(self.a.host, self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            for i in range(8):
                s.sendmail(ALICE, [rcpt], message(f"many {i}", rcpt))
        msgs = self.b.wait_messages(rcpt, 8)
        self.assertEqual(len(msgs), 8, self.a.tail_log())
        subjects = sorted(re.search(rb"Subject: (many \d)", m).group(1) for m in msgs)
        self.assertEqual(subjects, [f"many {i}".encode() for i in range(8)])
        self.assertEqual(self.a.wait_queue_empty(), [], self.a.tail_log())
        self.assertNotIn("status=bounced", "\n".join(
            l for l in self.a.read_log().splitlines() if f"to=<{rcpt}>" in l))

    def test_reaches_postfix_by_mx(self):
        # scripts/deps.sh installs Postfix and CI runs as root: missing it is
        # a broken set-up, not a reason to pass quietly.
        self.assertIsNotNone(self.postfix, f"no private Postfix: {self.postfix_missing}")
        ok, unknown = f"ok@pf.{Z}", f"unknown@pf.{Z}"
        qid = self.send([ok, unknown], "to postfix")
        msgs = self.postfix.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.a.tail_log() + "\n" + self.postfix.read_log())
        msg = email.message_from_bytes(msgs[0], policy=email.policy.compat32)
        self.assertEqual(msg["Subject"], "to postfix")
        self.assertEqual(msg["Return-Path"], f"<{ALICE}>")
        # Postfix's own Received: our EHLO name, over TLS.
        received = msg.get_all("Received")[0]
        self.assertIn(f"from {A_DOMAIN}", received)
        self.assertIn("with ESMTPS", received)
        # Below it, ours of the same hop (docs/tls.md, "The outbound trace").
        ours = " ".join(msg.get_all("Received")[1].split())
        self.assertTrue(ours.startswith(f"by {A_DOMAIN} (tern outbound to mx.pf.{Z} [127.0.0.14], "
                                        "TLSv1."), ours)
        self.assertIn(f"opportunistic TLS not verified: self-signed certificate) with ESMTPS id {qid};",
                      ours)
        self.assertRegex(self.a.read_log(),
                         rf"relay: {qid} to=<{ok}> mx=mx\.pf\.relay\.test\[127\.0\.0\.14\]:"
                         rf"{self.P} tls=TLSv1\.[23]/\S+ cert=unverified\(self-signed certificate\) "
                         r"status=sent \(250 2\.0\.0 Ok: queued as \w+\)")
        # Postfix refuses the unknown one: a bounce with its words.
        self.check_report(unknown, "5.1.1", remote_mta=f"mx.pf.{Z}",
                          diagnostic=f"550 5.1.1 <{unknown}>: Recipient address rejected: "
                                     "User unknown in virtual mailbox table")
        self.wait_done(qid)

    def test_connection_reuse_and_its_limit(self):
        # Three messages one after the other to one destination: the first
        # two share a connection, which then closes (max_messages_per_connection
        # = 2); the third needs a new one. b logs each connection.
        rcpt = f"reuse@b2.{Z}"
        needle = f"connect client=127.0.0.1 listener=127.0.0.2:{self.P}"
        before = self.b.read_log().count(needle)
        for i in range(3):
            qid = self.send([rcpt], f"reuse {i}")
            self.wait_done(qid)
        self.assertEqual(len(self.b.wait_messages(rcpt, 3)), 3)
        self.assertEqual(self.b.read_log().count(needle) - before, 2, self.a.tail_log())
        self.assertTrue(self.b.wait_log("helo=a.relay.test tls=yes auth=- messages=2"),
                        self.b.tail_log())

    def test_equal_preferences_one_refusing(self):
        rcpt = f"eq@equal.{Z}"
        qid = self.send([rcpt], "equal preferences")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)

    def test_primary_mx_down_backup_used(self):
        rcpt = f"bk@backup.{Z}"
        qid = self.send([rcpt], "backup mx")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)
        log = self.a.read_log()
        self.assertRegex(log, rf"relay: {qid} mx=down\.relay\.test\[127\.0\.0\.9\]:{self.P} "
                              r"status=next-host \(connect: cannot connect to 127\.0\.0\.9:\d+: ")
        self.assertIn(f"relay: {qid} to=<{rcpt}> mx=up.{Z}[127.0.0.3]:{self.P}", log)

    def test_implicit_mx(self):
        rcpt = f"im@nomx.{Z}"
        qid = self.send([rcpt], "implicit mx")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)

    def test_421_banner_goes_to_the_next_mx(self):
        p5 = self.peers[5]
        p5.banner = "421 4.3.2 mx5 is busy"
        self.addCleanup(setattr, p5, "banner", None)
        before = p5.connections
        rcpt = f"busy@busy.{Z}"
        qid = self.send([rcpt], "busy primary")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)
        self.assertGreaterEqual(p5.connections - before, 1)
        self.assertEqual(p5.delivered_to(rcpt), 0)
        self.assertIn(f"relay: {qid} mx=mx5.{Z}[127.0.0.5]:{self.P} tls=none status=next-host "
                      "(421 4.3.2 greeting: 421 4.3.2 mx5 is busy)", self.a.read_log())

    def test_dropped_in_data_goes_to_the_next_mx(self):
        p7 = self.peers[7]
        p7.data = "drop"
        self.addCleanup(setattr, p7, "data", None)
        rcpt = f"dr@drop.{Z}"
        qid = self.send([rcpt], "dropped in data")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)
        self.assertEqual(p7.delivered_to(rcpt), 0)
        self.assertGreaterEqual(p7.transactions, 1)
        self.assertRegex(self.a.read_log(),
                         rf"relay: {qid} mx=mx7\.relay\.test\[127\.0\.0\.7\]:\d+ tls=\S+ "
                         r".*status=next-host \(451 4\.4\.2 body: ")

    def test_starttls_failure_retried_in_plaintext(self):
        p6 = self.peers[6]
        p6.starttls = "broken"
        self.addCleanup(setattr, p6, "starttls", None)
        before = p6.connections
        rcpt = f"tls@badtls.{Z}"
        qid = self.send([rcpt], "broken starttls")
        self.peer_got(p6, rcpt)
        self.wait_done(qid)
        self.assertEqual(p6.connections - before, 2)
        [m] = [m for m in p6.messages if rcpt in m.rcpts]
        self.assertFalse(m.tls)
        log = self.a.read_log()
        self.assertIn(f"relay: {qid} mx=mx6.{Z}[127.0.0.6]:{self.P} TLS handshake failed; "
                      "trying once more in plaintext", log)
        self.assertIn(f"relay: {qid} to=<{rcpt}> mx=mx6.{Z}[127.0.0.6]:{self.P} tls=none "
                      "status=sent", log)

    # -- per-recipient results, retries, bounces --
    def test_450_and_550_per_recipient(self):
        p4 = self.peers[4]
        ok, later, bad = f"ok@rcpt.{Z}", f"later@rcpt.{Z}", f"bad@rcpt.{Z}"
        p4.rcpt[later] = ["450 4.2.1 mailbox busy, try later"]
        p4.rcpt[bad] = ["550 5.1.1 no such user here", "550 5.1.1 no such user here"]
        qid = self.send([ok, later, bad], "partial")
        self.peer_got(p4, ok)
        self.wait_attempt(qid, later)
        # The 550 bounces now, with the remote reply in the report.
        self.check_report(bad, "5.1.1", remote_mta=f"mx4.{Z}",
                          diagnostic="550 5.1.1 no such user here")
        # The 450 waits in the queue with the remote reply.
        m = self.queued(qid)
        self.assertIsNotNone(m, self.a.tail_log())
        self.assertEqual(m["pending"], [later])
        self.assertEqual(m["last_error"], f"450 4.2.1 mailbox busy, try later (from mx4.{Z})")
        self.assertGreater(m["next_attempt"], time.time() + 60)
        # Retry now: only the deferred recipient goes, once.
        self.a.queue_flush(qid)
        self.peer_got(p4, later)
        self.wait_done(qid)
        self.assertEqual(p4.delivered_to(ok), 1)
        self.assertEqual(p4.delivered_to(later), 1)
        self.assertEqual(p4.delivered_to(bad), 0)
        self.assertEqual([m.rcpts for m in p4.messages if ok in m.rcpts or later in m.rcpts],
                         [[ok], [later]])

    def test_null_mx_bounces_without_a_connection(self):
        before = self.peers[3].connections
        rcpt = f"n@nullmx.{Z}"
        qid = self.send([rcpt], "null mx")
        self.check_report(rcpt, "5.1.10", text="556 5.1.10 Recipient address has null MX")
        self.wait_done(qid)
        self.assertEqual(self.peers[3].connections, before)
        self.assertEqual(self.peers[3].delivered_to(rcpt), 0)

    def test_nxdomain_bounces(self):
        rcpt = f"x@nx.{Z}"
        qid = self.send([rcpt], "no such domain")
        self.check_report(rcpt, "5.1.2", text=f"550 5.1.2 Domain nx.{Z} does not exist")
        self.wait_done(qid)

    def test_loops_bounce(self):
        for domain in (f"loop.{Z}", f"loopname.{Z}"):
            rcpt = f"l@{domain}"
            qid = self.send([rcpt], f"loop {domain}")
            self.check_report(rcpt, "5.4.6", text=f"554 5.4.6 mail for {domain} loops back to myself")
            self.wait_done(qid)
        # A backup MX that is us is dropped; the better one is used.
        rcpt = f"lb@loopbackup.{Z}"
        qid = self.send([rcpt], "loop as backup")
        self.peer_got(self.peers[3], rcpt)
        self.wait_done(qid)

    def test_8bit_and_smtputf8_to_a_server_without_them(self):
        p8 = self.peers[8]
        p8.no_ehlo = {"8BITMIME", "SMTPUTF8"}
        self.addCleanup(setattr, p8, "no_ehlo", set())
        # 8-bit octets: refused here (RFC 6152 3), a bounce.
        rcpt = f"e8@old.{Z}"
        data = (f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: eight bit\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "caf\u00e9\r\n".encode()
        qid = self.send([rcpt], "eight bit", mail_options=["BODY=8BITMIME"], data=data)
        self.check_report(rcpt, "5.6.3", text="554 5.6.3 Conversion required")
        self.wait_done(qid)
        self.assertEqual(p8.delivered_to(rcpt), 0)
        # Declared 8BITMIME but 7-bit in fact: goes as is.
        rcpt7 = f"e7@old.{Z}"
        qid = self.send([rcpt7], "declared but ascii", mail_options=["BODY=8BITMIME"])
        self.peer_got(p8, rcpt7)
        self.wait_done(qid)
        [m] = [m for m in p8.messages if rcpt7 in m.rcpts]
        self.assertNotIn("BODY=8BITMIME", m.mail_options)
        # A UTF-8 address: 553 5.6.7, no downgrade (RFC 6531 3.2).
        rcptu = f"j\u00f6rg@old.{Z}"
        qid = self.send([rcptu], "utf8 rcpt", mail_options=["SMTPUTF8"],
                        data=message("utf8 rcpt", f"x@old.{Z}"))
        self.check_report(re.compile(r"rfc822; j.+rg@old\.relay\.test"), "5.6.7",
                          text="553 5.6.7 The message needs SMTPUTF8")
        self.wait_done(qid)

    # -- transient trouble --
    def test_dns_servfail_stays_queued(self):
        rcpt = "t@broken.test"
        qid = self.send([rcpt], "servfail")
        self.wait_attempt(qid, rcpt)
        m = self.queued(qid)
        self.assertIsNotNone(m, self.a.tail_log())
        self.assertEqual(m["pending"], [rcpt])
        self.assertTrue(m["last_error"].startswith("451 4.4.3 MX lookup for broken.test failed"),
                        m["last_error"])
        self.a.queue("delete", qid)

    def test_unreachable_destination_stays_queued_and_flush_retries(self):
        rcpt = f"d@dead.{Z}"
        qid = self.send([rcpt], "dead host")
        self.wait_attempt(qid, rcpt)
        m = self.queued(qid)
        self.assertRegex(m["last_error"], r"^451 4\.4\.1 connect: cannot connect to "
                                          rf"127\.0\.0\.9:{self.P}: .* \(from down\.relay\.test\)$")
        needle = f"delivery id={qid} rcpt=<{rcpt}>"
        self.a.queue_flush(qid)
        deadline = time.time() + 10
        while time.time() < deadline and self.a.read_log().count(needle) < 2:
            time.sleep(0.05)
        self.assertEqual(self.a.read_log().count(needle), 2, self.a.tail_log())
        self.a.queue("delete", qid)


class CrashTest(unittest.TestCase):
    """kill -9 of the sending tern while the destination stalls in DATA."""

    def test_kill_during_delivery_then_restart(self):
        c, peer, alice = start_stalling_world(self, "c.relay.test", "127.0.0.12")
        first, second = f"first@stall.{Z}", f"second@stall.{Z}"
        q1 = submit(c, alice, [first], message("before the crash", first))
        self.assertTrue(peer.wait(lambda: peer.delivered_to(first) == 1), c.tail_log())
        self.assertTrue(c.wait_log(f"queue id={q1} removed"), c.tail_log())
        peer.data = "stall"
        q2 = submit(c, alice, [second], message("in flight", second))
        self.assertTrue(peer.wait(lambda: peer.stalled >= 1), c.tail_log())
        c.kill()
        peer.release()
        self.assertEqual(c.queue_files(), [q2])  # nothing lost
        c.start()
        self.assertTrue(peer.wait(lambda: peer.delivered_to(second) == 1), c.tail_log())
        self.assertEqual(c.wait_queue_empty(), [], c.tail_log())
        time.sleep(0.3)
        self.assertEqual(peer.delivered_to(first), 1)  # not re-sent
        self.assertEqual(peer.delivered_to(second), 1)


class DataTimeoutTest(unittest.TestCase):
    """The destination goes silent after the message: [relay] data_timeout
    defers it, and a retry delivers it once."""

    def test_timeout_after_data_defers_then_retry_delivers(self):
        c, peer, alice = start_stalling_world(self, "t.relay.test", "127.0.0.15",
                                              relay_more="data_timeout = 2\n")
        rcpt = f"slow@stall.{Z}"
        peer.data = "stall"
        started = time.time()
        qid = submit(c, alice, [rcpt], message("slow peer", rcpt))
        self.assertTrue(peer.wait(lambda: peer.stalled >= 1), c.tail_log())
        deadline = time.time() + 15
        entry = None
        while time.time() < deadline:
            entry = next((m for m in c.queue_list() if m["id"] == qid), None)
            if entry and entry.get("last_error"):
                break
            time.sleep(0.1)
        self.assertIsNotNone(entry, c.tail_log())
        self.assertEqual(entry["pending"], [rcpt])
        self.assertRegex(entry["last_error"], r"^4\d\d 4\.\d+\.\d+ .*timed out", c.tail_log())
        # Deferred by our 2 s deadline, not by the peer giving up.
        self.assertLess(time.time() - started, 12)
        self.assertEqual(peer.delivered_to(rcpt), 0)
        peer.release()
        c.queue_flush(qid)
        self.assertTrue(peer.wait(lambda: peer.delivered_to(rcpt) == 1), c.tail_log())
        self.assertEqual(c.wait_queue_empty(), [], c.tail_log())


class SmarthostTest(ClassServers, unittest.TestCase):
    """All remote mail through a second tern with STARTTLS and AUTH."""

    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-smarthost-")
        cls.password_file = os.path.join(cls.tmp, "password")
        with open(cls.password_file, "w") as f:
            f.write("smarthost secret\n")
        cls.dns = DnsServer(zones=[Z], records=records())
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()
        # The smarthost, reached as "localhost" (which its self-signed
        # certificate names); it lets its AUTH user send as anyone.
        cls.s = Tern(domains=["final.test"], hostname="smarthost.test",
                     kinds=("submission",), accept_any_local_part=True,
                     extra="[relay]\nsender_check = false\n")
        cls.cleanups.append(cls.s.cleanup)
        cls.s.add_users({"relay@final.test": "smarthost secret"})
        cls.s.start()
        cls.h = cls.home(cls.password_file)
        cls.cleanups.append(cls.h.cleanup)
        cls.h.add_users({"alice@home.test": PASSWORD})
        cls.h.start()

    @classmethod
    def home(cls, password_file):
        """A tern sending everything to the smarthost."""
        extra = (dns_toml(cls.dns) +
                 f'[relay]\nsmarthost = "localhost:{cls.s.port("submission")}"\n'
                 f'user = "relay@final.test"\npassword_file = "{password_file}"\n'
                 f'ca_file = "{cls.s.cert_path()}"\n'
                 '[queue]\nretry = ["5m"]\n')
        return Tern(domains=["home.test"], hostname="home.test", host="127.0.0.13",
                    kinds=("submission",), extra=extra)

    def test_1_through_the_smarthost_with_auth(self):
        rcpt = "carol@final.test"
        qid = submit(self.h, "alice@home.test", [rcpt], message("via smarthost", rcpt))
        msgs = self.s.wait_messages(rcpt, 1)
        self.assertEqual(len(msgs), 1, self.h.tail_log() + "\n" + self.s.tail_log())
        self.assertIn(b"Subject: via smarthost", msgs[0])
        self.assertEqual(self.h.wait_queue_empty(), [], self.h.tail_log())
        log = self.h.read_log()
        self.assertRegex(log, rf"relay: {qid} to=<{rcpt}> smarthost=localhost\[127\.0\.0\.1\]:\d+ "
                              r"tls=TLSv1\.[23]/\S+ cert=verified status=sent")
        self.assertIn("auth client=127.0.0.1 user=relay@final.test mechanism=", self.s.read_log())

    def test_2_wrong_password_stays_queued_with_the_auth_error(self):
        with open(self.password_file, "w") as f:
            f.write("not the password\n")
        self.h.reload()
        rcpt = "dave@final.test"
        qid = submit(self.h, "alice@home.test", [rcpt], message("wrong password", rcpt))
        self.assertTrue(self.h.wait_log(f"delivery id={qid} rcpt=<{rcpt}>"), self.h.tail_log())
        [m] = [m for m in self.h.queue_list() if m["id"] == qid]
        self.assertEqual(m["pending"], [rcpt])
        self.assertRegex(m["last_error"], r"^451 4\.7\.8 auth: 535 5\.7\.8 .*\(from localhost\)$")
        self.assertEqual(self.s.messages(rcpt), [])
        # The right password again, and a flush: it goes.
        with open(self.password_file, "w") as f:
            f.write("smarthost secret\n")
        self.h.reload()
        self.h.queue_flush(qid)
        self.assertEqual(len(self.s.wait_messages(rcpt, 1)), 1, self.h.tail_log())
        self.assertEqual(self.h.wait_queue_empty(), [], self.h.tail_log())

    def test_3_unreadable_password_file_stops_the_start(self):
        t = self.home("/nonexistent/tern-password")
        self.addCleanup(t.cleanup)
        t.start(wait=False)
        self.assertEqual(t.proc.wait(10), 1)
        self.assertIn("relay.password_file: cannot read '/nonexistent/tern-password'",
                      t.read_log())


if __name__ == "__main__":
    main()
