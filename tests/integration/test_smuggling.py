"""SMTP smuggling (SEC Consult 2023; CVE-2023-51764/51765/51766) against the
real server: every end-of-data variant S1..S14 of
/work/shared/refs/suites/smuggling.md, under both bare_newline policies,
plus A13 (a valid end of data followed by a NUL-led command line).

Each variant is one transaction, sent as smuggling.md describes: EHLO, MAIL,
RCPT, DATA, then after the 354 one write with the message, the variant V, a
complete smuggled transaction and the real <CRLF>.<CRLF>. Then QUIT. So a
safe server sends exactly two replies after the 354: one for the message,
then 221. A vulnerable one answers the smuggled MAIL/RCPT/DATA too.

PASS criteria (smuggling.md):
  - a variant with a bare CR or LF under bare_newline = "reject": one 5xx
    (550 5.5.2) after the real terminator, and no message queued or
    delivered;
  - otherwise (bare_newline = "normalize", or a variant whose only oddity is
    a NUL: S9, S10): exactly one 250, exactly one message delivered, whose
    body holds the smuggled text "MAIL FROM:<smuggled@x>" as data.
In no case are the smuggled MAIL/RCPT/DATA answered (250/250/354).
"""
import re
import socket
import time
import unittest

from dialog import SmtpClient, queue_id
from tern_harness import Tern, main

VARIANTS = {
    "S1": b"\n.\n",
    "S2": b"\n.\r\n",
    "S3": b"\r.\r",
    "S4": b"\r.\r\n",
    "S5": b"\r.\n",
    "S6": b"\n.\r",
    "S7": b"\r\n.\n",
    "S8": b"\r\n.\r",
    "S9": b"\r\n\x00.\r\n",
    "S10": b"\r\n.\x00\r\n",
    "S11": b"\r\x00\n.\r\n",
    "S12": b"\r\n.\r\x00\n",
    "S13": b"\r\n.\r\r\n",
    "S14": b"\r\r\n.\r\r\n",
    # Not an end-of-data variant: a real end of data, then a command line
    # that starts with NUL (lab A13).
    "A13": b"\r\n.\r\n\x00",
}

BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def has_bare_newline(v):
    return BARE.search(v) is not None


def payload(name, v, rcpt):
    return (b"From: a@x\r\nTo: " + rcpt.encode() + b"\r\nSubject: test " + name.encode() +
            b"\r\n\r\nbody line" + v +
            b"MAIL FROM:<smuggled@x>\r\nRCPT TO:<" + rcpt.encode() + b">\r\nDATA\r\n"
            b"From: smuggled@x\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n.\r\n")


class SmugglingBase:
    policy = None  # bare_newline value
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Tern(kinds=("smtp",), accept_any_local_part=True,
                          extra='bare_newline = "%s"' % cls.policy).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def transact(self, name, split=False):
        """Runs variant `name`; returns (rcpt, replies after the 354, client).
        split: V goes out one octet per TCP segment, so that the server sees
        it across reads (its decoder must keep state between them)."""
        t = self.server
        rcpt = "rcpt-%s-%s%s@example.test" % (self.policy, name.lower(), "-split" if split else "")
        c = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO client.test", 250)
        c.cmd("MAIL FROM:<a@x>", 250, "2.1.0")
        c.cmd("RCPT TO:<%s>" % rcpt, 250, "2.1.5")
        c.cmd("DATA", 354)
        data = payload(name, VARIANTS[name], rcpt)
        if split:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            at = data.index(b"body line") + len(b"body line")
            c.send(data[:at])
            for i in range(len(VARIANTS[name])):
                time.sleep(0.02)
                c.send(data[at + i:at + i + 1])
            time.sleep(0.02)
            c.send(data[at + len(VARIANTS[name]):])
        else:
            c.send(data)
        first = c.reply()
        c.line("QUIT")
        rest, closed = c.replies_until_close(5)
        replies = ([first] if first else []) + rest
        self.assertTrue(closed, "the session did not end after QUIT\n" + c.transcript())
        self.assertTrue(replies and replies[-1].code == 221,
                        "no 221 for QUIT\n" + c.transcript())
        # The queue drains in order, so once it is empty every message this
        # session may have queued (including a smuggled one) is delivered.
        self.assertEqual(t.wait_queue_empty(10), [], t.read_log())
        self.assertEqual(t.queue_tmp_files(), [])
        return rcpt, replies[:-1], c

    def check_variant(self, name, split=False):
        v = VARIANTS[name]
        rcpt, replies, c = self.transact(name, split)
        ctx = "variant %s %r policy %s\n%s" % (name, v, self.policy, c.transcript())
        msgs = self.server.messages(rcpt)
        self.assertEqual(len(replies), 1, "exactly one reply after the data: " + ctx)
        r = replies[0]
        if self.policy == "reject" and has_bare_newline(v):
            self.assertEqual((r.code, r.enhanced()), (550, "5.5.2"), ctx)
            self.assertEqual(msgs, [], "a refused message was delivered: " + ctx)
            return
        self.assertEqual(r.code, 250, ctx)
        qid = queue_id(r)
        self.assertTrue(qid, ctx)
        self.assertEqual(len(msgs), 1, "exactly one message: " + ctx)
        m = msgs[0]
        self.assertIn(qid.encode(), m, "the delivered message is not " + qid)
        self.assertIn(b"Subject: test " + name.encode(), m)
        # The smuggled transaction is body text of the one message.
        self.assertIn(b"MAIL FROM:<smuggled@x>", m, ctx)
        self.assertIn(b"Subject: SMUGGLED", m, ctx)
        self.assertIn(b"smuggled body", m, ctx)
        # "normalize" means bare CR/LF become CRLF; nothing bare is stored.
        self.assertIsNone(BARE.search(m), "bare CR/LF in the stored message: %r" % m)
        if b"\x00" in v:
            self.assertIn(b"\x00", m, "a NUL was dropped silently")

    def test_a13_nul_led_command_after_valid_end(self):
        rcpt, replies, c = self.transact("A13")
        ctx = c.transcript()
        self.assertGreaterEqual(len(replies), 2, ctx)
        self.assertEqual(replies[0].code, 250, ctx)
        self.assertEqual((replies[1].code, replies[1].enhanced()), (500, "5.5.2"), ctx)
        # Nothing after it succeeds: RCPT/DATA get 503, the rest are errors.
        self.assertEqual([r.code for r in replies[2:] if r.code < 400], [], ctx)
        self.assertEqual([r.code for r in replies[2:4]], [503, 503], ctx)
        msgs = self.server.messages(rcpt)
        self.assertEqual(len(msgs), 1, ctx)
        self.assertNotIn(b"smuggled", msgs[0].lower())
        self.assertIn(queue_id(replies[0]).encode(), msgs[0])


def _add_variant_tests(cls):
    for name in VARIANTS:
        if not name.startswith("S"):
            continue

        def test(self, name=name):
            self.check_variant(name)

        def test_split(self, name=name):
            self.check_variant(name, split=True)
        test.__doc__ = "%s %r" % (name, VARIANTS[name])
        test_split.__doc__ = "%s %r, one octet per segment" % (name, VARIANTS[name])
        setattr(cls, "test_s%02d" % int(name[1:]), test)
        setattr(cls, "test_s%02d_split" % int(name[1:]), test_split)
    return cls


@_add_variant_tests
class SmugglingReject(SmugglingBase, unittest.TestCase):
    policy = "reject"


@_add_variant_tests
class SmugglingNormalize(SmugglingBase, unittest.TestCase):
    policy = "normalize"


if __name__ == "__main__":
    main()
