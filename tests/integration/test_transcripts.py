"""Plays every scripted SMTP dialog in tests/dialogs/*.dialog against the
real server (format: dialog.py), one test per file. Dialogs with the same
CONFIG lines share one server. Some dialogs also have a check here of what
ended up in the Maildirs, because a reply alone does not prove delivery."""
import glob
import os
import unittest

from dialog import Dialog
from tern_harness import Tern, main

DIALOG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dialogs")


def _pipelining(test, t):
    for who in ("one", "two", "three"):
        msgs = t.wait_messages(who + "@example.test", 2 if who == "one" else 1)
        test.assertEqual(len(msgs), 2 if who == "one" else 1, who)
    test.assertIn(b"Subject: pipelined", t.messages("two@example.test")[0])


def _bdat(test, t):
    msgs = t.wait_messages("bdat@example.test", 2)
    test.assertEqual(len(msgs), 2, t.read_log())
    bodies = sorted(m.split(b"\r\n", 1)[1] for m in msgs)
    # Chunk data is stored as sent: no dot-unstuffing, no end-of-data
    # detection, chunks concatenated.
    test.assertTrue(any(b"Subject: chunk\r\n\r\n.\r\nQUIT\r\nabchello" in b for b in bodies), msgs)
    test.assertTrue(any(b"Subject: one\r\n\r\nbody\r\n" in b for b in bodies), msgs)


def _bdat_size(test, t):
    msgs = t.wait_messages("big@example.test", 1)
    test.assertEqual(len(msgs), 1, "only the 100-octet message may arrive")
    test.assertIn(b"z" * 98, msgs[0])


def _too_many_recipients(test, t):
    for n in (1, 50, 100):
        test.assertEqual(len(t.wait_messages("r%d@example.test" % n, 1)), 1, n)
    test.assertEqual(t.messages("r101@example.test"), [])


def _data_bare_newline(test, t):
    msgs = t.wait_messages("bare@example.test", 1)
    test.assertEqual(len(msgs), 1, "the bare-LF message must not be delivered")
    test.assertIn(b"\r\n.x\r\n.\r\n", msgs[0])  # unstuffed once


def _overlong_text_line(test, t):
    msgs = t.wait_messages("longline@example.test", 1)
    test.assertEqual(len(msgs), 1)
    test.assertIn(b"Subject: ok", msgs[0])


def _split_writes(test, t):
    msgs = t.wait_messages("split@example.test", 1)
    test.assertEqual(len(msgs), 1, "only the first split message may arrive")
    test.assertIn(b"Subject: split\r\n\r\nline\r\n", msgs[0])


POSTCHECKS = {
    "split_writes": _split_writes,
    "pipelining": _pipelining,
    "bdat": _bdat,
    "bdat_size": _bdat_size,
    "too_many_recipients": _too_many_recipients,
    "data_bare_newline": _data_bare_newline,
    "overlong_text_line": _overlong_text_line,
}


class Transcripts(unittest.TestCase):
    servers = {}

    @classmethod
    def tearDownClass(cls):
        for t in cls.servers.values():
            t.cleanup()
        cls.servers.clear()

    def server_for(self, d):
        key = d.config_key()
        if key not in self.servers:
            t = Tern(kinds=("smtp",), accept_any_local_part=True, extra=d.extra_toml())
            self.servers[key] = t.start()
        return self.servers[key]

    def play(self, path):
        d = Dialog(path)
        t = self.server_for(d)
        d.run("127.0.0.1", t.port("smtp"))
        name = os.path.splitext(os.path.basename(path))[0]
        if name in POSTCHECKS:
            POSTCHECKS[name](self, t)
        self.assertIsNone(t.proc.poll(), "tern exited:\n" + t.read_log())

    def test_dialogs_exist(self):
        self.assertGreaterEqual(len(glob.glob(os.path.join(DIALOG_DIR, "*.dialog"))), 15)


def _add_tests():
    for path in sorted(glob.glob(os.path.join(DIALOG_DIR, "*.dialog"))):
        name = os.path.splitext(os.path.basename(path))[0]

        def test(self, path=path):
            self.play(path)
        test.__doc__ = "dialog " + os.path.basename(path)
        setattr(Transcripts, "test_" + name, test)


_add_tests()

if __name__ == "__main__":
    main()
