"""Relay policy against the real server: who may send as whom, who may
relay, SRS for forwarded mail and its bounces, and ETRN.

What this proves, each against a fresh server on loopback:
  - an authenticated user's MAIL FROM must be theirs (their login, its
    +tag forms in any case, an alias that reaches them, or <>): anything
    else is 553 5.7.1 (RFC 6409 6.1); relay.sender_check = false lifts it;
  - the smtp listener without AUTH is no open relay: a remote recipient, a
    source route to one, a %-hack and a forged SRS address are all refused
    and nothing is queued;
  - an alias with a remote target forwards a foreign sender's message with
    an SRS0 sender in relay.srs_domain, whose hash Python recomputes from
    <data_dir>/srs.key (mode 0600, 32 octets); local senders and <> keep
    theirs;
  - when the forwarded copy fails, our DSN goes to the original sender,
    not to the SRS address;
  - a bounce to that SRS0 address is accepted from anyone and queued to the
    original sender (ORCPT keeps the SRS address); a forged, tampered or
    expired one (made by Python with the real key) is 550 5.1.1 saying why,
    and a fresh one made by Python is accepted (the formats agree);
  - ETRN: advertised and served only to relay.etrn_networks; it makes the
    queued message for the domain try again now (attempts go up in
    `tern queue show`), "@domain" takes subdomains, an unknown domain gets
    251, other clients 502 and no attempt.

Remote mail cannot leave: [dns] forward points at a closed port, so a
remote destination fails transiently and its message stays queued (so it
does with the remote stub). Domains are RFC 2606 ones under .example.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import smtplib
import stat
import time
import unittest

from dialog import SmtpClient
from tern_harness import Tern, free_port, main

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "correct horse battery staple"
FRIEND = "friend@remote.example"  # where the alias forwards to
CAROL = "carol@sender.example"  # a foreign sender
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DAY = 86400


def srs_hash(key, *parts):
    """libsrs2's: base64(HMAC-SHA1(key, lower(parts)))[:4]."""
    mac = hmac.new(key, "".join(parts).lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(mac[:3]).decode()


def srs_tt(t):
    slot = (int(t) // DAY) % 1024
    return B32[slot >> 5] + B32[slot & 31]


def srs0(key, address, t, srs_domain="example.test"):
    local, domain = address.rsplit("@", 1)
    tt = srs_tt(t)
    return f"SRS0={srs_hash(key, tt, domain, local)}={tt}={domain}={local}@{srs_domain}"


class RelayPolicyTest(unittest.TestCase):
    def start(self, extra="", aliases="", users=(ALICE, BOB)):
        dead_dns = free_port()  # nothing answers there: remote mail stays queued
        lines = [f'dns.forward = ["127.0.0.1@{dead_dns}"]', 'dns.timeout = "1s"',
                 'relay.srs_domain = "example.test"', extra]
        t = Tern(kinds=("smtp", "submission"), extra="\n".join(lines))
        self.addCleanup(t.cleanup)
        if users:
            t.add_users({u: PASSWORD for u in users})
        if aliases:
            t.write_aliases(aliases)
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        return t

    def queue_cmd(self, *args):
        r = self.t.tern("queue", *args, check=False)
        if r.returncode != 0:
            self.fail(f"tern queue {' '.join(args)}: {r.returncode}\n{r.stderr}\n{self.t.tail_log()}")
        return r.stdout

    def queue(self, *args):
        return json.loads(self.queue_cmd(*args))

    def wait_queued(self, pred, what, timeout=10):
        """Waits for a message in `tern queue list` that pred() accepts; returns it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [m for m in self.queue("list", "--json") if pred(m)]
            if found:
                return found[0]
            time.sleep(0.1)
        self.fail(f"no queued message {what}: {self.queue('list', '--json')}\n{self.t.tail_log()}")

    def attempts(self, qid):
        return self.queue("show", qid, "--json")["recipients"][0]["attempts"]

    def wait_attempts(self, qid, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.attempts(qid) >= n:
                return
            time.sleep(0.1)
        self.fail(f"{qid}: fewer than {n} attempts\n{self.t.tail_log()}")

    def smtp_send(self, sender, rcpt, subject="fwd"):
        """One message on the smtp listener (no AUTH); returns the final reply code."""
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            code, text = s.rcpt(rcpt)
            self.assertEqual(code, 250, text)
            code, text = s.data(f"Subject: {subject}\r\n\r\nbody\r\n".encode())
            self.assertEqual(code, 250, text)

    def key(self):
        path = os.path.join(self.t.data_dir, "srs.key")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, "rb") as f:
            return f.read()

    # -- sender ownership --
    def submission(self, user=ALICE):
        s = smtplib.SMTP("localhost", self.t.port("submission"), timeout=10)
        self.addCleanup(s.close)
        s.starttls(context=self.t.ssl_context())
        s.login(user, PASSWORD)
        return s

    def test_authenticated_sender_must_be_owned(self):
        self.start(aliases="team@example.test: alice@example.test, bob@example.test\n"
                           "*@example.test: alice@example.test\n")
        s = self.submission()
        code, text = s.mail(BOB)
        self.assertEqual((code, text),
                         (553, b"5.7.1 Sender address not owned by authenticated user <" +
                          ALICE.encode() + b">"))
        for sender in ("anyone@example.test", "alice@elsewhere.example"):  # catch-all is no licence
            self.assertEqual(s.mail(sender)[0], 553, sender)
        for sender in (ALICE, "Alice+news@EXAMPLE.TEST", "team@example.test", ""):
            code, text = s.mail(sender)
            self.assertEqual(code, 250, (sender, text))
            s.rset()
        self.assertTrue(self.t.wait_log(f'auth={ALICE} command="mail FROM:<{BOB}>" reply="553 5.7.1'),
                        self.t.tail_log())

    def test_sender_check_off(self):
        self.start(extra="relay.sender_check = false")
        s = self.submission()
        self.assertEqual(s.mail(BOB)[0], 250)

    # -- never an open relay --
    def test_no_open_relay_on_smtp(self):
        self.start()
        key = self.key()
        with SmtpClient("127.0.0.1", self.t.port("smtp")) as c:
            c.expect(220)
            c.cmd("EHLO client.test", 250)
            c.cmd("MAIL FROM:<spammer@sender.example>", 250)
            c.cmd("RCPT TO:<victim@remote.example>", 550, "5.7.1")
            c.cmd("RCPT TO:<@example.test:victim@remote.example>", 550, "5.7.1")  # route dropped
            c.cmd("RCPT TO:<victim%remote.example@example.test>", 550, "5.1.1")
            forged = srs0(b"not the key", "victim@remote.example", time.time())
            r = c.cmd(f"RCPT TO:<{forged}>", 550, "5.1.1")
            self.assertIn("invalid SRS signature", r.text())
            # Our key, but the SRS domain is not ours to relay for.
            other = srs0(key, "victim@remote.example", time.time(), "remote.example")
            c.cmd(f"RCPT TO:<{other}>", 550, "5.7.1")
            c.cmd("DATA", 554)
        self.assertEqual(self.t.wait_queue(0, timeout=0.3), [])

    # -- SRS --
    def test_forwarded_mail_gets_srs_and_its_bounce_goes_home(self):
        self.start(aliases=f"fan@example.test: {FRIEND}\n")
        key = self.key()
        self.assertEqual(len(key), 32)
        self.smtp_send(CAROL, "fan@example.test")
        fwd = self.wait_queued(lambda m: m["pending"] == [FRIEND], "to the alias target")
        sender = fwd["sender"]
        m = re.fullmatch(r"SRS0=([^=]{4})=([A-Z2-7]{2})=sender\.example=carol@example\.test", sender)
        self.assertIsNotNone(m, sender)
        self.assertEqual(m.group(1), srs_hash(key, m.group(2), "sender.example", "carol"))
        self.assertEqual(m.group(2), srs_tt(time.time()))
        self.assertTrue(self.t.wait_log(f"from=<{sender}> to={FRIEND}"), self.t.tail_log())

        # The remote MTA bounces to the SRS address: it goes to carol.
        with SmtpClient("127.0.0.1", self.t.port("smtp")) as c:
            c.expect(220)
            c.cmd("EHLO bouncer.example", 250)
            c.cmd("MAIL FROM:<>", 250)
            c.cmd(f"RCPT TO:<{sender}>", 250, "2.1.5")
            c.cmd("DATA", 354)
            c.send(b"Subject: Undelivered Mail\r\n\r\nsorry\r\n.\r\n")
            c.expect(250)
        bounce = self.wait_queued(lambda m: m["pending"] == [CAROL], "to the original sender")
        self.assertEqual(bounce["sender"], "")
        show = self.queue("show", bounce["id"], "--json")
        self.assertEqual(show["recipients"][0]["orcpt"], "rfc822;" + sender)
        self.assertTrue(self.t.wait_log(f"to=<{sender}> rewritten to=<{CAROL}>"), self.t.tail_log())

        with SmtpClient("127.0.0.1", self.t.port("smtp")) as c:
            c.expect(220)
            c.cmd("EHLO bouncer.example", 250)
            c.cmd("MAIL FROM:<>", 250)
            tampered = sender.replace("=carol@", "=carl@")
            self.assertIn("invalid SRS signature", c.cmd(f"RCPT TO:<{tampered}>", 550, "5.1.1").text())
            old = srs0(key, "dave@sender.example", time.time() - 30 * DAY)
            self.assertIn("SRS address expired", c.cmd(f"RCPT TO:<{old}>", 550, "5.1.1").text())
            # Made by Python with the server's key: the formats agree.
            fresh = srs0(key, "dave@sender.example", time.time())
            c.cmd(f"RCPT TO:<{fresh.lower()}>", 250, "2.1.5")  # a hop may fold case

    def test_failed_forward_reports_to_the_original_sender(self):
        self.start(aliases=f"fan@example.test: {FRIEND}\n")
        self.smtp_send(CAROL, "fan@example.test")
        fwd = self.wait_queued(lambda m: m["pending"] == [FRIEND], "to the alias target")
        self.assertTrue(fwd["sender"].startswith("SRS0="), fwd)
        self.queue_cmd("bounce", fwd["id"])  # the copy fails for good
        dsn = self.wait_queued(lambda m: m["pending"] == [CAROL], "DSN to carol")
        self.assertEqual(dsn["sender"], "")
        self.assertTrue(self.t.wait_log(f"about={fwd['id']} to=<{CAROL}>"), self.t.tail_log())

    def test_local_and_null_senders_are_not_rewritten(self):
        self.start(aliases=f"fan@example.test: {FRIEND}\n")
        self.smtp_send(BOB, "fan@example.test", "local")
        self.wait_queued(lambda m: m["pending"] == [FRIEND] and m["sender"] == BOB, "from bob")
        self.smtp_send("", "fan@example.test", "null")
        self.wait_queued(lambda m: m["pending"] == [FRIEND] and m["sender"] == "", "from <>")
        self.assertNotIn("SRS0=", json.dumps(self.queue("list", "--json")))

    def test_srs_off_keeps_the_sender(self):
        self.start(extra="relay.srs = false", aliases=f"fan@example.test: {FRIEND}\n")
        self.smtp_send(CAROL, "fan@example.test")
        self.wait_queued(lambda m: m["pending"] == [FRIEND] and m["sender"] == CAROL, "from carol")

    # -- ETRN --
    def test_etrn_starts_the_queue_for_a_domain(self):
        self.start(extra='relay.etrn_networks = ["127.0.0.1/32"]',
                   aliases=f"fan@example.test: {FRIEND}\n")
        self.smtp_send(CAROL, "fan@example.test")
        qid = self.wait_queued(lambda m: m["pending"] == [FRIEND], "for remote.example")["id"]
        self.wait_attempts(qid, 1)
        first = self.queue("show", qid, "--json")["recipients"][0]
        self.assertGreater(first["next_attempt"], time.time() + 60)  # minutes away
        time.sleep(1.1)  # so the next try has a later timestamp

        with SmtpClient("127.0.0.1", self.t.port("smtp")) as c:
            c.expect(220)
            self.assertIn("ETRN", c.cmd("EHLO client.test", 250).texts())
            r = c.cmd("ETRN Remote.Example", 253, "2.0.0")
            self.assertIn("OK, 1 pending messages for node remote.example started", r.text())
            self.wait_attempts(qid, 2)
            c.cmd("ETRN @example", 253, "2.0.0")  # remote.example is under it
            self.wait_attempts(qid, 3)
            c.cmd("ETRN other.example", 251, "2.0.0")
            c.cmd("ETRN #outbound", 459, "4.3.3")
            c.cmd("MAIL FROM:<x@sender.example>", 250)
            c.cmd("ETRN remote.example", 503, "5.5.1")
        again = self.queue("show", qid, "--json")["recipients"][0]
        self.assertGreater(again["last_attempt"], first["last_attempt"])
        self.assertEqual(self.queue("list", "--json")[0]["pending"], [FRIEND])
        self.assertTrue(self.t.wait_log("etrn client=127.0.0.1 node=remote.example messages=1"))

        # Another address is not in etrn_networks: no ETRN in EHLO, 502.
        with SmtpClient("127.0.0.1", self.t.port("smtp"), source="127.0.0.2") as c:
            c.expect(220)
            self.assertNotIn("ETRN", c.cmd("EHLO client.test", 250).texts())
            c.cmd("ETRN remote.example", 502, "5.5.1")
        time.sleep(0.5)
        self.assertEqual(self.attempts(qid), 3)


if __name__ == "__main__":
    main()
