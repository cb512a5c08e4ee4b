"""tern hands local mail to Dovecot by LMTP (RFC 2033) instead of writing its
own Maildirs ([delivery] lmtp), and what Dovecot does with it is read back
over IMAP.

What this proves, against a real dovecot-lmtpd with the Sieve plugin:
  - a message reaches the user's INBOX through the unix socket, and tern's
    own Maildir stays empty;
  - the user's Sieve script (fileinto on a header) files a message into a
    folder;
  - a per-user override ([delivery.users]) sends one user over TCP;
  - an unknown user is refused by Dovecot (550 5.1.1) and the sender gets a
    bounce carrying Dovecot's reply (the sender is local: the DSN itself
    travels by LMTP into the sender's INBOX);
  - Dovecot down: the message stays queued (deferred), and is delivered
    once Dovecot is back and the queue is flushed;
  - several messages travel over one LMTP connection (Dovecot's log counts
    the connections), which says QUIT when tern stops; a pooled connection
    that Dovecot closed meanwhile is replaced by a new one, the message
    not deferred.

Needs dovecot-lmtpd, dovecot-sieve and dovecot-imapd (scripts/deps.sh test).
"""
import imaplib
import os
import smtplib
import time
import unittest

from dovecot_helper import find_dovecot, mail_owner
from lmtp_dovecot import MailboxServer
from tern_harness import Tern, main

ALICE = "alice@example.test"
CAROL = "carol@example.test"
PASSWORDS = {ALICE: "alice-imap", CAROL: "carol-imap"}


def close_quietly(m):
    try:
        m.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


class LmtpTest(unittest.TestCase):
    def setUp(self):
        if find_dovecot() is None:
            self.fail("Dovecot is not installed: run scripts/deps.sh test "
                      "(dovecot-lmtpd, dovecot-sieve, dovecot-imapd)")
        if not os.path.exists("/usr/lib/dovecot/lmtp"):
            self.fail("dovecot-lmtpd is not installed: run scripts/deps.sh test")
        self.box = MailboxServer(PASSWORDS)
        self.addCleanup(self.box.stop)
        self.box.start()
        extra = f"""
[delivery]
lmtp = "unix:{self.box.lmtp_socket}"
lmtp_idle = "60s"
[delivery.users]
"{CAROL}" = "tcp:127.0.0.1:{self.box.lmtp_port}"
"""
        self.t = Tern(run_as=mail_owner(), accept_any_local_part=True, extra=extra)
        self.addCleanup(self.t.cleanup)
        self.t.start()
        self.addCleanup(self.t.assert_running)  # before cleanup: a crash fails

    def diagnostics(self):
        return self.box.dovecot.read_log() + "\n" + self.t.tail_log()

    def send(self, sender, rcpts, body):
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            return s.sendmail(sender, rcpts, body)

    def imap(self, address):
        m = imaplib.IMAP4("127.0.0.1", self.box.dovecot.port, timeout=10)
        self.addCleanup(close_quietly, m)
        m.login(address, PASSWORDS[address])
        return m

    def wait_mail(self, address, folder, count, timeout=15.0):
        """Polls `folder` over IMAP until it holds `count` messages; returns
        their raw contents."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.imap(address)
            typ, data = m.select(folder, readonly=True)
            n = int(data[0]) if typ == "OK" else 0
            if n >= count or time.monotonic() >= deadline:
                out = []
                for i in range(1, n + 1):
                    typ, d = m.fetch(str(i).encode(), "(BODY.PEEK[])")
                    out.append(d[0][1])
                m.logout()
                self.assertEqual(n, count, f"{folder} of {address}\n" + self.diagnostics())
                return out
            m.logout()
            time.sleep(0.1)

    def test_inbox_by_unix_socket(self):
        self.send("bob@remote.invalid", [ALICE],
                  b"From: bob@remote.invalid\r\nSubject: by lmtp\r\n\r\nhello alice\r\n")
        got = self.wait_mail(ALICE, "INBOX", 1)
        self.assertIn(b"Subject: by lmtp", got[0])
        self.assertIn(b"hello alice", got[0])
        # Dovecot wrote the envelope into the message itself.
        self.assertIn(b"Return-Path: <bob@remote.invalid>", got[0])
        self.assertIn(f"Delivered-To: {ALICE}".encode(), got[0])
        self.assertEqual(self.t.wait_queue_empty(), [], self.diagnostics())
        self.assertFalse(os.path.exists(self.t.maildir(ALICE)), "tern wrote its own Maildir")
        self.assertTrue(self.t.wait_log(f"to=<{ALICE}> via=unix:"), self.diagnostics())

    def test_sieve_files_into_a_folder(self):
        self.box.write_sieve(ALICE, 'require ["fileinto", "mailbox"];\n'
                                    'if header :contains "List-Id" "lists.example" {\n'
                                    '  fileinto :create "Lists";\n}\n')
        self.send("list@remote.invalid", [ALICE],
                  b"Subject: list post\r\nList-Id: <dev.lists.example>\r\n\r\nto the list\r\n")
        self.send("bob@remote.invalid", [ALICE], b"Subject: personal\r\n\r\njust you\r\n")
        listed = self.wait_mail(ALICE, "Lists", 1)
        self.assertIn(b"Subject: list post", listed[0])
        inbox = self.wait_mail(ALICE, "INBOX", 1)
        self.assertIn(b"Subject: personal", inbox[0])

    def test_user_override_goes_over_tcp(self):
        self.send("bob@remote.invalid", [CAROL], b"Subject: tcp\r\n\r\nhello carol\r\n")
        got = self.wait_mail(CAROL, "INBOX", 1)
        self.assertIn(b"hello carol", got[0])
        self.assertTrue(self.t.wait_log(f"to=<{CAROL}> via=tcp:127.0.0.1:{self.box.lmtp_port} "
                                        "status=sent"), self.diagnostics())

    def test_unknown_user_bounces_with_dovecots_reply(self):
        self.send(ALICE, ["nobody@example.test"], b"Subject: to nobody\r\n\r\nlost?\r\n")
        self.assertTrue(self.t.wait_log("to=<nobody@example.test> via=unix:"), self.diagnostics())
        # The DSN (RFC 3464) goes to the local sender, by LMTP as well.
        dsn = self.wait_mail(ALICE, "INBOX", 1)[0]
        self.assertIn(b"multipart/report", dsn)
        self.assertIn(b"Final-Recipient: rfc822; nobody@example.test", dsn)
        self.assertIn(b"Action: failed", dsn)
        self.assertIn(b"550 5.1.1", dsn)  # Dovecot's own words
        self.assertIn(b"User doesn't exist", dsn)
        self.assertIn(b"Subject: to nobody", dsn)  # the returned message
        self.assertEqual(self.t.wait_queue_empty(), [], self.diagnostics())

    def test_dovecot_down_defers_then_delivers_after_flush(self):
        self.box.stop_process()
        self.send("bob@remote.invalid", [ALICE], b"Subject: while down\r\n\r\nwait for me\r\n")
        self.assertTrue(self.t.wait_log(f"to=<{ALICE}> via=unix:"), self.diagnostics())
        self.assertIn("status=deferred", self.t.read_log(), self.diagnostics())
        queued = self.t.queue_list()
        self.assertEqual(len(queued), 1, self.diagnostics())
        self.assertIn("4.4.1", str(queued[0]), queued)
        self.box.start()
        self.t.queue_flush()
        got = self.wait_mail(ALICE, "INBOX", 1)
        self.assertIn(b"wait for me", got[0])
        self.assertEqual(self.t.wait_queue_empty(), [], self.diagnostics())

    def test_idle_connection_lost_means_a_new_one(self):
        self.send("bob@remote.invalid", [ALICE], b"Subject: first\r\n\r\none\r\n")
        self.wait_mail(ALICE, "INBOX", 1)
        # Dovecot restarts: the pooled connection is dead when next used.
        self.box.stop_process()
        self.box.start()
        self.send("bob@remote.invalid", [ALICE], b"Subject: second\r\n\r\ntwo\r\n")
        self.wait_mail(ALICE, "INBOX", 2)  # no queue flush: not deferred
        self.assertIn("idle connection went stale; connecting anew", self.t.read_log())
        self.assertNotIn("status=deferred", self.t.read_log())

    def test_several_messages_over_one_connection(self):
        for i in range(4):
            self.send("bob@remote.invalid", [ALICE], f"Subject: n{i}\r\n\r\nbody {i}\r\n".encode())
            # One at a time, each delivered before the next: the idle
            # connection from the previous one must be reused.
            self.wait_mail(ALICE, "INBOX", i + 1)
        lines = self.box.dovecot.log_text().splitlines()
        connects = [x for x in lines if "lmtp(" in x and "Connect from local" in x]
        saved = [x for x in lines if "lmtp(" in x and "saved mail to INBOX" in x]
        self.assertEqual(len(saved), 4, self.diagnostics())
        self.assertEqual(len(connects), 1, self.diagnostics())
        # SIGTERM: the idle connection says QUIT (Dovecot logs "Logged out",
        # not a lost connection) and tern exits at once, not after lmtp_idle.
        self.t.assert_running()
        started = time.monotonic()
        self.assertEqual(self.t.stop(), 0, self.diagnostics())
        self.assertLess(time.monotonic() - started, 10)
        deadline = time.monotonic() + 10
        while "Disconnect from local: Logged out" not in self.box.dovecot.log_text():
            self.assertLess(time.monotonic(), deadline, self.diagnostics())
            time.sleep(0.05)


if __name__ == "__main__":
    main()
