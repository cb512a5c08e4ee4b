"""Structured logs (docs/logging.md): log_format = "json", and the journal.

- log_format = "json": a real tern serves a session with a refusal and an
  accepted message; every line of its stderr parses as one JSON object with
  ts and level, and the session's connect, refused, message and disconnect
  lines carry session, event, client and their fields as keys, with the
  same values the text line has (msg keeps the text).
- The journal: with JOURNAL_STREAM naming tern's stderr (as systemd sets it
  for a service whose output is the journal), tern sends each line as a
  journal entry through sd_journal_sendv to /run/systemd/journal/socket. In
  a private mount namespace (the test re-runs itself under `unshare
  --mount`), /run is a fresh tmpfs where this test binds that socket itself
  and reads the entries in journald's native protocol: MESSAGE, PRIORITY,
  SYSLOG_IDENTIFIER, TERN_SESSION, TERN_EVENT, TERN_CLIENT, ... Then, with no
  socket there, the lines fall back to stderr with a "<N>" priority prefix
  (what journald's stream reads). And a JOURNAL_STREAM that is not stderr's
  (a child that inherited it) changes nothing.
The journal part needs root (mounts): skipped on a developer's machine, a
failure when CI is set.
"""
import json
import os
import smtplib
import socket
import struct
import sys
import threading
import time
import unittest

from tern_harness import Tern, main as harness_main

NAMESPACE_FLAG = "TERN_LOG_TEST_IN_NAMESPACE"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def session_dialog(t):
    """One session: a refused recipient, then an accepted message."""
    with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=20) as s:
        s.ehlo("client.example")
        s.mail("a@remote.example")
        code, _ = s.rcpt("nobody@elsewhere.example")
        assert code == 550, code
        code, _ = s.rcpt("bob@example.test")
        assert code == 250, code
        code, _ = s.data(b"Subject: hi\r\n\r\nhello\r\n")
        assert code == 250, code


class JsonFormatTest(unittest.TestCase):
    def test_every_line_is_a_json_object_with_the_fields(self):
        t = Tern(accept_any_local_part=True, extra='log_format = "json"')
        self.addCleanup(t.cleanup)
        t.start()
        session_dialog(t)
        self.assertTrue(t.wait_log('"event":"disconnect"'), t.tail_log())
        t.stop()
        objects = []
        for line in t.read_log().splitlines():
            obj = json.loads(line)  # every line, start and stop too
            self.assertRegex(obj["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("info", "warn", "error"))
            self.assertIn("msg", obj)
            objects.append(obj)
        by_event = {}
        for o in objects:
            if "session" in o:
                by_event.setdefault(o["event"], []).append(o)
        self.assertLessEqual({"connect", "refused", "message", "disconnect"}, set(by_event),
                             objects)
        refused = by_event["refused"][0]
        # The harness's readiness probes are sessions too; ours is the one
        # with the refusal, and all of its lines name it.
        ours = [o for o in objects if o.get("session") == refused["session"]]
        self.assertEqual([o["event"] for o in ours], ["connect", "refused", "message",
                                                     "disconnect"])
        self.assertEqual(refused["client"], "127.0.0.1")
        self.assertEqual(refused["to"], "<nobody@elsewhere.example>")
        self.assertEqual(refused["command"], "rcpt TO:<nobody@elsewhere.example>")  # smtplib's
        self.assertTrue(refused["reply"].startswith("550 5.7.1 "), refused)
        self.assertEqual(refused["from"], "<a@remote.example>")
        message = by_event["message"][0]
        self.assertEqual(message["id"], refused["id"])
        self.assertEqual(message["from"], "<a@remote.example>")
        self.assertEqual(ours[-1]["reason"], "quit")
        self.assertEqual(ours[-1]["messages"], "1")
        # The text is kept whole: the text line's fields read the same.
        self.assertIn(f"session={refused['session']} refused client=127.0.0.1", refused["msg"])
        starts = [o for o in objects if o.get("event") == "tern" and "started" in o["msg"]]
        self.assertEqual(len(starts), 1, "the start line")
        self.assertIn("data_dir", starts[0])

    def test_hostile_client_text_stays_one_valid_object(self):
        t = Tern(extra='log_format = "json"')
        self.addCleanup(t.cleanup)
        t.start()
        helo = b'evil"reason=forged\\\xff\xc3\xa9'
        with socket.create_connection(("127.0.0.1", t.port("smtp")), timeout=20) as c:
            c.recv(512)
            c.sendall(b"EHLO " + helo + b"\r\nQUIT\r\n")
            while c.recv(4096):
                pass
        self.assertTrue(t.wait_log('"reason":"quit"'), t.tail_log())
        t.stop()
        lines = [json.loads(l) for l in t.read_log().splitlines()]
        quit_line = next(o for o in lines if o.get("reason") == "quit")
        # The bytes come back (an invalid one as U+FFFD), and forge nothing.
        self.assertEqual(quit_line["helo"], 'evil"reason=forged\\\ufffd\u00e9')
        self.assertEqual(quit_line["event"], "disconnect")

    def test_text_is_the_default(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        t.start()
        t.stop()
        for line in t.read_log().splitlines():
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z (INFO|WARN|ERROR) ")

    def test_unknown_format_is_a_config_error(self):
        t = Tern(extra='log_format = "xml"')
        self.addCleanup(t.cleanup)
        with self.assertRaises(RuntimeError) as e:
            t.start()
        self.assertIn("log_format", str(e.exception))


def read_native(data):
    """A journald native-protocol datagram as {FIELD: bytes}
    (systemd's JOURNAL_NATIVE_PROTOCOL: KEY=value lines, or KEY, a newline,
    a 64-bit little-endian length, the value and a newline)."""
    out, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        out[k.decode()] = v
    return out


class FakeJournal:
    """journald's socket, read all the time as journald does (a datagram
    socket nobody reads blocks its senders once its queue is full)."""

    def __init__(self):
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(JOURNAL_SOCKET)
        self.entries = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                return
            with self.lock:
                self.entries.append(read_native(data))

    def close(self):
        if os.path.exists(JOURNAL_SOCKET):
            os.unlink(JOURNAL_SOCKET)
        if self.sock.fileno() >= 0:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        self.thread.join(5)

    def wait_event(self, event, session=None, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if any(e.get("TERN_EVENT") == event and
                       (session is None or e.get("TERN_SESSION") == session)
                       for e in self.entries):
                    return list(self.entries)
            time.sleep(0.05)
        raise AssertionError(f"no {event} entry: {self.entries}")


@unittest.skipUnless(os.geteuid() == 0 or os.environ.get("CI"),
                     "needs root (a private /run for the journal socket)")
class JournalTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root")
        self.assertTrue(os.environ.get(NAMESPACE_FLAG), "runs in a private mount namespace")

    def start_with_journal_stream(self, t, stream_of_stderr=True):
        # tern's stderr is t.log_path (appended to): its dev:ino is what
        # systemd would put in JOURNAL_STREAM.
        open(t.log_path, "ab").close()
        st = os.stat(t.log_path)
        ino = st.st_ino if stream_of_stderr else st.st_ino + 1
        os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{ino}"
        try:
            t.start()
        finally:
            del os.environ["JOURNAL_STREAM"]

    def test_entries_with_fields(self):
        journal = FakeJournal()
        self.addCleanup(journal.close)
        t = Tern(accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        self.start_with_journal_stream(t)
        session_dialog(t)
        entries = journal.wait_event(b"message")
        sid = next(e for e in entries if e.get("TERN_EVENT") == b"message")["TERN_SESSION"]
        entries = [e for e in journal.wait_event(b"disconnect", sid)
                   if e.get("TERN_SESSION") in (sid, None)]
        self.assertNotIn("CODE_FILE", entries[-1])
        events = {e.get("TERN_EVENT") for e in entries}
        self.assertTrue({b"connect", b"refused", b"message", b"disconnect"} <= events, entries)
        for e in entries:
            self.assertEqual(e["SYSLOG_IDENTIFIER"], b"tern")
            self.assertIn(e["PRIORITY"], (b"3", b"4", b"6"))
        refused = next(e for e in entries if e.get("TERN_EVENT") == b"refused")
        self.assertEqual(refused["PRIORITY"], b"6")
        self.assertEqual(refused["TERN_CLIENT"], b"127.0.0.1")
        self.assertEqual(refused["TERN_COMMAND"], b"rcpt TO:<nobody@elsewhere.example>")
        self.assertTrue(refused["TERN_REPLY"].startswith(b"550 5.7.1 "))
        self.assertTrue(refused["MESSAGE"].startswith(b"session=" + refused["TERN_SESSION"] +
                                                      b" refused client=127.0.0.1 "))
        # Nothing of it went to stderr.
        self.assertNotIn("refused client=", t.read_log())

    def test_without_journald_lines_are_prefixed(self):
        # The stream is the journal's but journald's socket is missing
        # (sd_journal_sendv would drop the entries silently): stderr, with
        # "<N>" priority prefixes.
        self.assertFalse(os.path.exists(JOURNAL_SOCKET))
        t = Tern(accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        self.start_with_journal_stream(t)
        session_dialog(t)
        self.assertTrue(t.wait_log(" message client="), t.tail_log())
        lines = [l for l in t.read_log().splitlines() if "refused client=" in l]
        self.assertEqual(len(lines), 1, t.tail_log())
        self.assertRegex(lines[0], r"^<6>session=\w+ refused client=127\.0\.0\.1 ")

    def test_journal_stream_of_another_file_changes_nothing(self):
        journal = FakeJournal()
        self.addCleanup(journal.close)
        t = Tern(accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        self.start_with_journal_stream(t, stream_of_stderr=False)
        session_dialog(t)
        self.assertTrue(t.wait_log(" message client="), t.tail_log())
        t.stop()
        self.assertRegex(t.read_log(), r"(?m)^\d{4}-\S+Z INFO session=\w+ refused client=")
        self.assertEqual(journal.entries, [])


def main():
    if os.geteuid() == 0 and not os.environ.get(NAMESPACE_FLAG):
        # A private /run (tmpfs) for the fake journal socket: the machine's
        # /run is never touched, and the mount dies with the namespace.
        env = dict(os.environ, **{NAMESPACE_FLAG: "1"})
        script = 'mount -t tmpfs tern-test-run /run && exec "$0" "$@"'
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script, sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                   env)
    harness_main()


if __name__ == "__main__":
    main()
