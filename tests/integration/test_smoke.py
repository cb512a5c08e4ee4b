"""Smoke test: the real binary accepts a message from Python smtplib and
delivers it to the recipient's Maildir."""
import smtplib
import unittest

from tern_harness import Tern, main


class Smoke(unittest.TestCase):
    def test_plain_delivery(self):
        with Tern(accept_any_local_part=True) as t:
            with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=10) as s:
                s.sendmail("someone@remote.test", ["alice@example.test"],
                           b"Subject: smoke\r\n\r\nhello\r\n")
            msgs = t.wait_messages("alice@example.test", 1)
            self.assertEqual(len(msgs), 1, t.read_log())
            self.assertIn(b"Subject: smoke", msgs[0])
            self.assertIn(b"Return-Path: <someone@remote.test>", msgs[0])
            self.assertIn(b"Received: from ", msgs[0])


if __name__ == "__main__":
    main()
