"""Dovecot reads what tern delivers: a private Dovecot IMAP server on
loopback is pointed at tern's Maildirs, and Python imaplib reads the
messages back.

What this proves:
  - tern's Maildir layout (<data_dir>/mail/<domain>/<local>/{tmp,new,cur})
    and file names are what a real IMAP server expects: Dovecot lists the
    messages, moves them from new/ to cur/, and serves them;
  - Subject, body (including 8-bit UTF-8 text) and the prepended
    Return-Path / Delivered-To come back unchanged over IMAP, and the size
    Dovecot reports is the size of the file;
  - tern works when run as an unprivileged user (see below).

When the tests run as root (CI), tern runs as `nobody` (the harness's
run_as) and Dovecot reads the mail as that same user, the way a real site
shares one mail user between its MTA and its IMAP server (see
dovecot_helper.py, which starts the private Dovecot).

Nothing is installed here: dovecot-imapd comes from scripts/deps.sh test.
"""
import email
import email.policy
import imaplib
import os
import re
import smtplib
import time
import unittest

from dovecot_helper import Dovecot, find_dovecot, mail_owner
from tern_harness import Tern, main

ALICE = "alice@example.test"
IMAP_PASSWORD = "imap-secret"


def imap_dovecot(mail_root, mail_uid, mail_gid):
    """A private Dovecot (IMAP only, no TLS) serving tern's Maildirs."""
    return Dovecot(f"""mail_location = maildir:{mail_root}/%d/%n
passdb {{
  driver = static
  args = password={IMAP_PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail_root}/%d/%n
}}
""")


def close_quietly(m):
    try:
        m.shutdown()
    except OSError:
        pass  # already logged out


class DovecotTest(unittest.TestCase):
    def setUp(self):
        binary = find_dovecot()
        if binary is None:
            self.fail("Dovecot is not installed (no `dovecot` binary on PATH or in /usr/sbin): "
                      "run scripts/deps.sh test, which installs dovecot-imapd")
        run_as = mail_owner()
        uid, gid = run_as or (os.getuid(), os.getgid())
        self.t = Tern(run_as=run_as)
        self.addCleanup(self.t.cleanup)
        self.t.add_users({ALICE: "smtp password"})
        self.t.start()
        self.addCleanup(self.t.assert_running)  # before cleanup: a crash fails
        self.dovecot = imap_dovecot(os.path.join(self.t.data_dir, "mail"), uid, gid)
        self.addCleanup(self.dovecot.stop)
        self.dovecot.start(binary)

    def diagnostics(self):
        return self.dovecot.read_log() + "\n" + self.t.tail_log()

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.dovecot.port, timeout=10)
        self.addCleanup(close_quietly, m)
        m.login(ALICE, IMAP_PASSWORD)
        return m

    def test_imap_reads_what_tern_delivered(self):
        t = self.t
        first = (b"From: bob@remote.invalid\r\nTo: alice@example.test\r\n"
                 b"Subject: hello over IMAP\r\nMessage-ID: <first@remote.invalid>\r\n\r\n"
                 b"first body line\r\nsecond body line\r\n")
        second = ("From: bob@remote.invalid\r\nTo: alice@example.test\r\n"
                  "Subject: second\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n"
                  "gr\u00fc\u00dfe, \u65e5\u672c\r\n").encode()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            s.sendmail("bob@remote.invalid", [ALICE], first)
            s.sendmail("bob@remote.invalid", [ALICE], second, mail_options=["BODY=8BITMIME"])
        files = t.wait_messages(ALICE, 2)
        self.assertEqual(len(files), 2, self.diagnostics())

        m = self.imap()
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", self.diagnostics())
        self.assertEqual(int(data[0]), 2, self.diagnostics())

        typ, data = m.search(None, "SUBJECT", '"hello over IMAP"')
        self.assertEqual(typ, "OK")
        ids = data[0].split()
        self.assertEqual(len(ids), 1, self.diagnostics())
        typ, data = m.fetch(ids[0], "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK", self.diagnostics())
        raw = data[0][1]
        size = int(data[0][0].split(b"RFC822.SIZE ")[1].split()[0])
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "hello over IMAP")
        self.assertEqual(msg["Return-Path"], "<bob@remote.invalid>")
        self.assertEqual(msg["Delivered-To"], ALICE)
        self.assertEqual(msg.get_content().splitlines(), ["first body line", "second body line"])
        self.assertTrue(raw.endswith(first), raw)
        self.assertEqual(size, len(raw))
        self.assertIn(raw, files, "IMAP served other octets than tern stored")

        typ, data = m.search(None, "SUBJECT", "second")
        typ, data = m.fetch(data[0].split()[0],
                            "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
        self.assertEqual(typ, "OK", self.diagnostics())
        parts = {re.search(rb"BODY\[([^\]]*)\]", item[0]).group(1): item[1]
                 for item in data if isinstance(item, tuple)}
        self.assertIn(b"Subject: second", parts[b"HEADER.FIELDS (SUBJECT)"])
        self.assertEqual(parts[b"TEXT"].decode("utf-8"), "gr\u00fc\u00dfe, \u65e5\u672c\r\n")
        m.close()
        m.logout()

        # Dovecot really used tern's Maildir: the messages moved to cur/.
        cur = os.path.join(t.maildir(ALICE), "cur")
        self.assertEqual(len(os.listdir(cur)), 2, self.diagnostics())
        self.assertEqual(os.listdir(os.path.join(t.maildir(ALICE), "new")), [])

    def test_delivery_while_imap_session_is_open(self):
        # A message that arrives while a client has the mailbox selected is
        # announced by NOOP: tern's new/ files appear atomically.
        t = self.t
        m = self.imap()
        typ, data = m.select("INBOX")
        self.assertEqual((typ, int(data[0])), ("OK", 0), self.diagnostics())
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=10) as s:
            s.ehlo("client.test")
            s.sendmail("bob@remote.invalid", [ALICE], b"Subject: live\r\n\r\nnow\r\n")
        self.assertEqual(len(t.wait_messages(ALICE, 1)), 1, self.diagnostics())
        deadline = time.monotonic() + 10
        count = 0
        while time.monotonic() < deadline and count == 0:
            m.noop()
            typ, data = m.search(None, "ALL")
            count = len(data[0].split())
            if count == 0:
                time.sleep(0.1)
        self.assertEqual(count, 1, self.diagnostics())
        typ, data = m.fetch(b"1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: live", data[0][1])
        m.logout()


if __name__ == "__main__":
    main()
