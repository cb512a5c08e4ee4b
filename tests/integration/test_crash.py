"""Durability: SIGKILL tern while clients are sending, restart it on the same
data dir, and check that every message that got a final 250 reaches every
one of its recipients' Maildirs.

A "250 ... queued as ID" is a promise (RFC 5321 6.1: the server has taken
responsibility for the message). Messages without a 250 may be delivered or
not, but never in part. At most two copies are allowed (a crash between
writing a Maildir file and recording it is the at-least-once window); the
number of duplicates is printed.

The server is killed at several points: early (few sessions done,
deliveries starting), in the middle and later in a stream of 8 concurrent
clients; and once right after the last 250 of a burst, while the queue is
full and local delivery is busy.
"""
import collections
import os
import re
import sys
import threading
import time
import unittest

from dialog import SmtpClient, queue_id
from tern_harness import Tern, main

THREADS = 8
PER_CONNECTION = 6         # transactions per connection before a new one
DRAIN_TIMEOUT = 60.0       # seconds for the queue to empty after a restart
SERIAL = re.compile(rb"^X-Serial: (\d+)\r$", re.M)


def recipients(serial):
    """One or two local recipients; every third message has two."""
    rcpts = ["u%d@example.test" % (serial % 7)]
    if serial % 3 == 0:
        rcpts.append("v%d@example.test" % (serial % 5))
    return rcpts


def message(serial):
    # Sizes from 1 KB to ~40 KB so that some messages span several reads.
    filler = (b"%06d " % serial + b"x" * 70 + b"\r\n") * (10 + (serial * 37) % 500)
    return (b"From: load@remote.test\r\n"
            b"Message-ID: <serial-%d@crash.test>\r\n"
            b"Subject: crash test %d\r\n"
            b"X-Serial: %d\r\n\r\n" % (serial, serial, serial) +
            filler + b"END-OF-SERIAL %d\r\n" % serial)


class Load:
    """THREADS clients sending messages with serials from `first` on as fast
    as they can, until `limit` messages were tried or the server dies."""

    def __init__(self, port, first, limit, threads=THREADS):
        self.port = port
        self.next = first
        self.end = first + limit
        self.lock = threading.Lock()
        self.acked = {}        # serial -> queue id: got the final 250
        self.refused = {}      # serial -> reply text: a final non-250 reply
        self.in_flight = set()  # serials whose data went out, no final reply seen
        self.errors = []
        self.ack_event = threading.Event()
        self.ack_target = None
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self, ack_target=None):
        self.ack_target = ack_target
        for th in self.threads:
            th.start()
        return self

    def join(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        for th in self.threads:
            th.join(max(0.0, deadline - time.monotonic()))
        return not any(th.is_alive() for th in self.threads)

    def _take(self):
        with self.lock:
            if self.next >= self.end:
                return None
            self.next += 1
            return self.next - 1

    def _run(self):
        try:
            while True:
                c = SmtpClient("127.0.0.1", self.port, timeout=10)
                try:
                    c.expect(220)
                    c.cmd("EHLO load.test", 250)
                    for _ in range(PER_CONNECTION):
                        serial = self._take()
                        if serial is None:
                            c.line("QUIT")
                            return
                        self._send(c, serial)
                finally:
                    c.close()
        except Exception as e:  # the server was killed: this client is done
            with self.lock:
                self.errors.append(repr(e))

    def _send(self, c, serial):
        c.cmd("MAIL FROM:<load@remote.test>", 250)
        for r in recipients(serial):
            c.cmd("RCPT TO:<%s>" % r, 250)
        c.cmd("DATA", 354)
        with self.lock:
            self.in_flight.add(serial)
        c.send(message(serial) + b".\r\n")
        r = c.reply()
        if r is None:
            raise ConnectionError("no reply to the end of data")
        with self.lock:
            self.in_flight.discard(serial)
            if r.code == 250:
                self.acked[serial] = queue_id(r)
                if self.ack_target and len(self.acked) >= self.ack_target:
                    self.ack_event.set()
            else:
                self.refused[serial] = r.text()


class Crash(unittest.TestCase):
    def setUp(self):
        self.t = Tern(kinds=("smtp",), accept_any_local_part=True)
        self.addCleanup(self.t.cleanup)
        self.t.start()
        self.acked = {}   # serial -> queue id, over all rounds
        self.sent = set()  # every serial whose data went out (acked or not)

    def restart(self):
        """Starts tern again on the same data dir and ports after a kill."""
        self.t.start()
        left = self.t.wait_queue_empty(DRAIN_TIMEOUT)
        self.assertEqual(left, [], "the queue did not drain:\n" + self.t.read_log()[-4000:])
        self.assertEqual(self.t.queue_tmp_files(), [], "queue/tmp not cleaned")

    def mailbox_index(self):
        """{address: Counter(serial -> copies)}; checks every file is whole."""
        index = {}
        root = os.path.join(self.t.data_dir, "mail", "example.test")
        for local in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            copies = collections.Counter()
            for sub in ("new", "cur"):
                d = os.path.join(root, local, sub)
                for name in os.listdir(d) if os.path.isdir(d) else []:
                    with open(os.path.join(d, name), "rb") as f:
                        data = f.read()
                    m = SERIAL.search(data)
                    self.assertIsNotNone(m, "no X-Serial in %s/%s" % (d, name))
                    serial = int(m.group(1))
                    self.assertIn(serial, self.sent, "a message that was never sent: %d" % serial)
                    self.assertEqual(data.split(b"\r\n\r\n", 1)[1], message(serial).split(b"\r\n\r\n", 1)[1],
                                     "message %d delivered damaged (%s)" % (serial, name))
                    copies[serial] += 1
            index[local + "@example.test"] = copies
        return index

    def verify(self, label):
        index = self.mailbox_index()
        missing, dups = [], 0
        for serial, qid in sorted(self.acked.items()):
            for r in recipients(serial):
                n = index.get(r, {}).get(serial, 0)
                if n == 0:
                    missing.append((serial, qid, r))
                elif n > 2:
                    self.fail("%s: message %d (%s) delivered %d times to %s" % (label, serial, qid, n, r))
                dups += n - 1 if n > 1 else 0
        unacked = set()
        for addr, copies in index.items():
            for serial, n in copies.items():
                if serial not in self.acked:
                    unacked.add(serial)
                    self.assertLessEqual(n, 2)
                    self.assertIn(addr, recipients(serial))
        extra = len(unacked)
        line = "%s: %d acked so far, %d duplicate copies, %d unacked delivered, %d missing" % (
            label, len(self.acked), dups, extra, len(missing))
        print("  " + line, file=sys.stderr)
        self.assertEqual(missing, [], "%s: acknowledged messages lost (serial, queue id, rcpt):\n%r\n%s" % (
            label, missing[:20], self.t.read_log()[-3000:]))

    def round(self, label, first, kill_after_acks):
        load = Load(self.t.port("smtp"), first, 100000).start(ack_target=kill_after_acks)
        fired = load.ack_event.wait(60)
        self.t.kill()
        self.assertTrue(load.join(30), "clients did not finish after the kill")
        self.assertTrue(fired, "%s: only %d acks before the timeout" % (label, len(load.acked)))
        self.acked.update(load.acked)
        self.sent |= set(load.acked) | load.in_flight | set(load.refused)
        self.assertEqual(load.refused, {}, "unexpected refusals")
        queued = len([f for f in self.t.queue_files() if not f.endswith(".done")])
        print("  %s: killed after %d acks (%d unanswered), %d left in the queue, %d in queue/tmp" % (
            label, len(load.acked), len(load.in_flight), queued, len(self.t.queue_tmp_files())),
            file=sys.stderr)
        self.restart()
        self.verify(label)

    def test_kill_during_receive(self):
        """Three kills at different points of a stream of 8 clients."""
        for i, acks in enumerate((25, 90, 180)):
            self.round("round %d" % (i + 1), 100000 * (i + 1), acks)
        self.assertGreaterEqual(len(self.acked), 295)

    def test_kill_during_delivery(self):
        """A burst of messages, then SIGKILL right after the last 250, while
        the queue still holds most of them and delivery is running."""
        count = 150
        load = Load(self.t.port("smtp"), 1, count).start()
        self.assertTrue(load.join(60), "the burst did not finish")
        self.t.kill()
        self.assertEqual(len(load.acked), count, load.errors[:5])
        self.acked.update(load.acked)
        self.sent |= set(load.acked)
        queued = len([f for f in self.t.queue_files() if not f.endswith(".done")])
        print("  delivery: killed with %d of %d messages still queued" % (queued, count), file=sys.stderr)
        self.assertGreater(queued, 0, "delivery was already done: the kill hit nothing")
        self.restart()
        self.verify("delivery")


if __name__ == "__main__":
    main()
