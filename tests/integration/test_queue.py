"""`tern queue` and the queue scheduler against the real server.

What this proves, each against a fresh server on loopback:
  - a message from an authenticated user to a remote recipient stays
    queued (its domain's DNS never answers: "451 4.4.3 MX lookup ...
    timed out"), and `tern queue list` / `show` show it with that
    error, its sender, its pending recipient and its next try;
  - `tern queue bounce ID` fails it: an RFC 3464 report reaches the local
    sender's Maildir, which Python's email package parses as
    multipart/report with a message/delivery-status part (Action: failed,
    Final-Recipient, Status, Original-Recipient from ORCPT,
    Original-Envelope-Id from ENVID) and the original's headers;
  - `tern queue delete ID` removes it without any report;
  - `tern queue flush [ID]` makes an attempt now (a new line in the log);
  - with no server, `tern queue list` exits 75 with a clear message, also
    when kill -9 left the socket file behind;
  - kill -9 and a restart keep the per-recipient state: the local
    recipient of the same message is not delivered again, the remote one is
    still pending with its error and attempt count;
  - the admin socket is mode 0600.
"""
import email
import email.policy
import json
import os
import re
import smtplib
import stat
import time
import unittest

from tern_harness import Tern, main, unreachable_dns

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "correct horse battery staple"
REMOTE = "someone@remote.test"  # RFC 2606; the [dns] server never answers (unreachable_dns)
STUB_ERROR = "451 4.4.3 MX lookup for remote.test failed: timed out after 1s"
NOT_RUNNING = 75


def message(subject):
    return (f"From: {ALICE}\r\nTo: {REMOTE}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\nbody\r\n").encode()


class QueueTest(unittest.TestCase):
    def start(self, t=None):
        if t is None:
            t = Tern(kinds=("smtp", "submission"), accept_any_local_part=True,
                     extra=unreachable_dns())
            self.addCleanup(t.cleanup)
            t.add_users({ALICE: PASSWORD})
        t.start()
        self.t = t
        return t

    def send(self, rcpts, subject="queued", mail_options=(), rcpt_options=()):
        """Sends as alice on submission (STARTTLS + AUTH); returns the queue id."""
        with smtplib.SMTP("localhost", self.t.port("submission"), timeout=10) as s:
            s.starttls(context=self.t.ssl_context())
            s.login(ALICE, PASSWORD)
            s.ehlo()
            code, _ = s.mail(ALICE, list(mail_options))
            self.assertEqual(code, 250)
            for r in rcpts:
                code, text = s.rcpt(r, list(rcpt_options))
                self.assertEqual(code, 250, text)
            code, text = s.data(message(subject))
            self.assertEqual(code, 250, text)
        m = re.search(rb"queued as (\S+)", text)
        self.assertIsNotNone(m, text)
        return m.group(1).decode()

    def queue(self, *args, check=True):
        r = self.t.tern("queue", *args, check=False)
        if check and r.returncode != 0:
            self.fail(f"tern queue {' '.join(args)}: {r.returncode}\n{r.stderr}\n{self.t.tail_log()}")
        return r

    def listed(self):
        return json.loads(self.queue("list", "--json").stdout)

    def wait_attempts(self, qid, count, timeout=10):
        """Waits until the log shows `count` delivery attempts for `qid`'s remote recipient."""
        needle = f"delivery id={qid} rcpt=<{REMOTE}>"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.t.read_log().count(needle) >= count:
                return
            time.sleep(0.05)
        self.fail(f"fewer than {count} attempts for {qid}\n{self.t.tail_log()}")

    def test_remote_message_stays_queued_with_its_error(self):
        self.start()
        qid = self.send([REMOTE])
        self.wait_attempts(qid, 1)
        out = self.queue("list").stdout
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("ID "), out)
        row = [l for l in lines if l.startswith(qid)]
        self.assertEqual(len(row), 1, out)
        for part in (ALICE, REMOTE, STUB_ERROR):
            self.assertIn(part, row[0])
        self.assertRegex(row[0], r"\bin \d+m|\bin \d+s")  # next try, minutes away
        self.assertIn("1 message(s), 1 pending recipient(s)", out)

        [m] = self.listed()
        self.assertEqual(m["id"], qid)
        self.assertEqual(m["sender"], ALICE)
        self.assertEqual(m["pending"], [REMOTE])
        self.assertEqual(m["last_error"], STUB_ERROR)
        self.assertGreater(m["next_attempt"], time.time() + 200)

        show = self.queue("show", qid).stdout
        self.assertIn(f"id:          {qid}", show)
        self.assertIn(f"sender:      {ALICE}", show)
        self.assertIn(f"auth user:   {ALICE}", show)
        self.assertRegex(show, rf"{re.escape(REMOTE)}  pending  attempts=1  next try in \d+m")
        self.assertIn(f"last: {STUB_ERROR}", show)
        js = json.loads(self.queue("show", qid, "--json").stdout)
        self.assertEqual(js["recipients"][0]["attempts"], 1)
        self.assertEqual(js["recipients"][0]["outcome"], "pending")
        self.assertEqual(self.t.queue_files(), [qid])

        r = self.queue("show", "0000000000000000", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no message 0000000000000000", r.stderr)

    def test_bounce_sends_an_rfc3464_report_to_the_sender(self):
        self.start()
        qid = self.send([REMOTE], "to bounce", mail_options=["RET=HDRS", "ENVID=QQ314159"],
                        rcpt_options=["NOTIFY=FAILURE,DELAY", f"ORCPT=rfc822;{REMOTE}"])
        self.wait_attempts(qid, 1)
        r = self.queue("bounce", qid)
        self.assertIn(f"bounced {qid}", r.stdout)
        msgs = self.t.wait_messages(ALICE, 1)
        self.assertEqual(len(msgs), 1, self.t.tail_log())
        raw = msgs[0]
        self.assertTrue(raw.startswith(b"Return-Path: <>\r\nDelivered-To: alice@example.test\r\n"),
                        raw[:200])
        report = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        self.assertEqual(report["To"], f"<{ALICE}>")
        self.assertIn("MAILER-DAEMON@mx.example.test", report["From"])
        self.assertEqual(report["Auto-Submitted"], "auto-replied")
        self.assertFalse(report.defects, report.defects)
        parts = report.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertIn(f"<{REMOTE}>: failed", parts[0].get_payload())
        # Python parses message/delivery-status into blocks of fields: the
        # per-message block, then one per recipient.
        blocks = parts[1].get_payload()
        self.assertEqual(len(blocks), 2, parts[1])
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx.example.test")
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "QQ314159")
        self.assertIsNotNone(blocks[0]["Arrival-Date"])
        rcpt = blocks[1]
        self.assertEqual(rcpt["Action"], "failed")
        self.assertEqual(rcpt["Final-Recipient"], f"rfc822; {REMOTE}")
        self.assertEqual(rcpt["Original-Recipient"], f"rfc822;{REMOTE}")
        self.assertEqual(rcpt["Status"], "5.0.0")
        self.assertIsNotNone(rcpt["Last-Attempt-Date"])
        headers = parts[2].get_payload()
        self.assertIn("Subject: to bounce", headers)
        self.assertNotIn("body", headers)  # RET=HDRS
        # The original and the report are both gone from the queue.
        self.assertEqual(self.t.wait_queue_empty(), [], self.t.tail_log())
        self.assertEqual(self.listed(), [])

    def test_delete_removes_without_a_report(self):
        self.start()
        qid = self.send([REMOTE], "to delete")
        self.wait_attempts(qid, 1)
        self.assertIn(f"deleted {qid}", self.queue("delete", qid).stdout)
        self.assertEqual(self.listed(), [])
        self.assertEqual(self.t.queue_files(), [])
        self.assertEqual(os.listdir(os.path.join(self.t.data_dir, "queue", "state")), [])
        time.sleep(0.3)
        self.assertEqual(self.t.messages(ALICE), [])
        r = self.queue("delete", qid, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no message", r.stderr)

    def test_flush_makes_an_attempt_now(self):
        self.start()
        qid = self.send([REMOTE], "to flush")
        self.wait_attempts(qid, 1)
        self.assertIn("flushed 1 message(s)", self.queue("flush", qid).stdout)
        self.wait_attempts(qid, 2)
        self.assertIn(f"queue flush id={qid}", self.t.read_log())
        self.queue("flush")  # every message
        self.wait_attempts(qid, 3)
        [m] = self.listed()
        self.assertEqual(m["last_error"], STUB_ERROR)
        js = json.loads(self.queue("show", qid, "--json").stdout)
        self.assertEqual(js["recipients"][0]["attempts"], 3)

    def test_without_a_server_exit_75(self):
        t = Tern(kinds=("smtp", "submission"), accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        self.t = t
        r = self.queue("list", check=False)
        self.assertEqual(r.returncode, NOT_RUNNING, r.stderr)
        sock = os.path.join(t.data_dir, "admin.sock")
        self.assertEqual(r.stderr.strip(),
                         f"tern: tern serve is not running (no admin socket at {sock})")
        # kill -9 leaves the socket file: still "not running", not a hang.
        t.add_users({ALICE: PASSWORD})
        self.start(t)
        self.assertEqual(self.queue("list").stdout, "The queue is empty.\n")
        mode = os.stat(sock).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        t.kill()
        self.assertTrue(os.path.exists(sock))
        r = self.queue("flush", check=False)
        self.assertEqual(r.returncode, NOT_RUNNING, r.stderr)
        self.assertIn("tern serve is not running", r.stderr)
        # A clean stop removes the socket.
        self.start(t)
        t.stop()
        self.assertFalse(os.path.exists(sock))

    def test_kill9_and_restart_keep_the_state(self):
        t = self.start()
        qid = self.send([REMOTE, BOB], "survives")
        self.wait_attempts(qid, 1)
        self.assertEqual(len(t.wait_messages(BOB, 1)), 1)
        before = json.loads(self.queue("show", qid, "--json").stdout)
        t.kill()
        self.start(t)
        after = json.loads(self.queue("show", qid, "--json").stdout)
        self.assertEqual(after["recipients"], before["recipients"])
        self.assertEqual(after["recipients"][0]["address"], REMOTE)
        self.assertEqual(after["recipients"][0]["attempts"], 1)
        self.assertFalse(after["recipients"][0]["done"])
        self.assertEqual(after["recipients"][1]["address"], BOB)
        self.assertTrue(after["recipients"][1]["done"])
        [m] = self.listed()
        self.assertEqual(m["pending"], [REMOTE])
        self.assertEqual(m["last_error"], STUB_ERROR)
        time.sleep(0.5)
        self.assertEqual(len(t.messages(BOB)), 1, "delivered again after the restart")
        self.assertIn("queue loaded messages=1", t.read_log())


if __name__ == "__main__":
    main()
