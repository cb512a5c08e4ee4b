"""Every refusal is logged, once, and every connection's end with its reason.

A real tern, driven by smtplib and raw sockets into refusals of each kind
(unknown user, relay denied, a syntax error, failed AUTH, too many errors,
an HTTP request), then its stderr read back: each refusal appears exactly
once as a `refused` line with the session id, the client, the command
(AUTH data redacted), the reply and, inside a transaction, the queue id,
sender and recipient; the AUTH secrets appear nowhere; the `disconnect`
line of each session names its reason and counts. The format is
docs/logging.md.
"""
import base64
import re
import smtplib
import socket
import unittest

from tern_harness import Tern, main

ALICE = "alice@example.test"
PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-not-it"
TIMEOUT = 20

LINE = re.compile(r"^\S+ INFO session=(\w+) (\w+) client=(\S+)(.*)$")


def fields(rest):
    """key=value pairs of a log line's tail (values bare or "quoted")."""
    out = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', rest):
        v = m.group(2)
        out[m.group(1)] = v[1:-1].replace('\\"', '"').replace("\\\\", "\\") \
            if v.startswith('"') else v
    return out


class LoggingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tern(kinds=("smtp", "submission"), limits={"max_errors": 3})
        cls.t.add_users({ALICE: PASSWORD})
        cls.t.start()

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()

    def tearDown(self):
        self.t.assert_running()

    # -- reading the log --
    def events(self, kind=None, session=None):
        """Parsed lines: dicts with event, session, client and the fields."""
        out = []
        for line in self.t.read_log().splitlines():
            m = LINE.match(line)
            if not m:
                continue
            e = dict(fields(m.group(4)), session=m.group(1), event=m.group(2),
                     client=m.group(3), line=line)
            if (kind is None or e["event"] == kind) and (session is None or
                                                        e["session"] == session):
                out.append(e)
        return out

    def refusal(self, command, reply_prefix):
        """The one `refused` line for this command and reply; fails unless
        there is exactly one."""
        found = [e for e in self.events("refused")
                 if e.get("command", "").lower() == command.lower()
                 and e.get("reply", "").startswith(reply_prefix)]
        self.assertEqual(len(found), 1, f"refused {command!r} {reply_prefix!r}:\n"
                         + "\n".join(e["line"] for e in found) + "\n" + self.t.tail_log())
        e = found[0]
        self.assertEqual(e["client"], "127.0.0.1")
        self.assertRegex(e["session"], r"^[0-9A-Za-z]{9}$")
        return e

    def disconnect(self, session):
        """The session's disconnect line, once it is written."""
        self.assertTrue(self.t.wait_log(f"session={session} disconnect "), self.t.tail_log())
        ends = self.events("disconnect", session)
        self.assertEqual(len(ends), 1, self.t.tail_log())
        self.assertEqual(len(self.events("connect", session)), 1, self.t.tail_log())
        return ends[0]

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=TIMEOUT)
        s.ehlo("client.test")
        return s

    # -- the refusals --
    def test_unknown_user_and_relay_denied_in_one_transaction(self):
        s = self.smtp()
        s.mail("sender@remote.test")
        self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
        self.assertEqual(s.rcpt("someone@elsewhere.test")[0], 550)
        s.quit()
        unknown = self.refusal("RCPT TO:<nobody@example.test>", "550 5.1.1")
        relay = self.refusal("RCPT TO:<someone@elsewhere.test>", "550 5.7.1")
        # Why was it refused? Both lines say who sent, to whom, under which id.
        for e, to in ((unknown, "<nobody@example.test>"), (relay, "<someone@elsewhere.test>")):
            self.assertEqual(e["from"], "<sender@remote.test>")
            self.assertEqual(e["to"], to)
            self.assertRegex(e["id"], r"^[0-9A-Za-z]{16}$")
        self.assertEqual(unknown["id"], relay["id"])
        self.assertEqual(unknown["session"], relay["session"])
        end = self.disconnect(unknown["session"])
        self.assertEqual(end["reason"], "quit")
        self.assertEqual(end["errors"], "2")
        self.assertEqual(end["commands"], "5")  # EHLO MAIL RCPT RCPT QUIT
        self.assertEqual(end["messages"], "0")
        self.assertEqual(end["helo"], "client.test")
        self.assertGreater(int(end["in"]), 0)
        self.assertGreater(int(end["out"]), 0)
        self.assertRegex(end["duration"], r"^\d+\.\d{3}s$")

    def test_syntax_error_outside_a_transaction(self):
        s = self.smtp()
        self.assertEqual(s.docmd("MAIL FROM:<bad@@syntax.test>")[0], 501)
        s.close()
        e = self.refusal("MAIL FROM:<bad@@syntax.test>", "501 5.1.7")
        self.assertNotIn("id", e)  # no transaction began
        self.assertEqual(self.disconnect(e["session"])["reason"], "client_closed")

    def test_accepted_message_and_refused_one_in_a_session(self):
        s = self.smtp()
        s.sendmail("sender@remote.test", [ALICE], b"Subject: fine\r\n\r\nok\r\n")
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            s.sendmail("other@remote.test", ["ghost@example.test"], b"Subject: no\r\n\r\nno\r\n")
        s.quit()
        e = self.refusal("RCPT TO:<ghost@example.test>", "550 5.1.1")
        msgs = self.events("message", e["session"])
        self.assertEqual(len(msgs), 1, self.t.tail_log())
        self.assertEqual(msgs[0]["from"], "<sender@remote.test>")
        self.assertTrue(msgs[0]["result"].startswith("250 2.0.0 Ok: queued as " + msgs[0]["id"]))
        self.assertNotEqual(msgs[0]["id"], e["id"])
        end = self.disconnect(e["session"])
        self.assertEqual((end["messages"], end["recipients"]), ("1", "1"))

    def test_failed_auth_is_redacted_and_ends_the_session(self):
        s = smtplib.SMTP("127.0.0.1", self.t.port("submission"), timeout=TIMEOUT)
        s.starttls(context=self.t.ssl_context(check_hostname=False))
        s.ehlo("client.test")
        secrets = []
        for i in range(3):
            token = base64.b64encode(f"\0{ALICE}\0{WRONG}{i}".encode()).decode()
            secrets += [token, f"{WRONG}{i}"]
            code, _ = s.docmd("AUTH PLAIN " + token)
            self.assertEqual(code, 535)
        # The third failure's 535 is followed by 421 and the close.
        self.assertEqual(s.getreply()[0], 421)
        s.close()
        log = self.t.read_log()
        for secret in secrets:
            self.assertNotIn(secret, log)
        sessions = {e["session"] for e in self.events("refused")
                    if e.get("command") == "AUTH PLAIN <redacted>"}
        self.assertEqual(len(sessions), 1, log)
        session = sessions.pop()
        refused = self.events("refused", session)
        self.assertEqual([e["reply"][:9] for e in refused],
                         ["535 5.7.8", "535 5.7.8", "535 5.7.8", "421 4.7.0"])
        end = self.disconnect(session)
        self.assertEqual(end["reason"], "too_many_auth_failures")
        self.assertEqual(end["tls"], "yes")

    def test_too_many_errors(self):
        with socket.create_connection(("127.0.0.1", self.t.port("smtp")), TIMEOUT) as c:
            c.sendall(b"XTOOMANY1\r\nXTOOMANY2\r\nXTOOMANY3\r\nNOOP\r\n")
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertIn(b"421 4.7.0", data)
        self.refusal("XTOOMANY1", "500 5.5.1")
        self.refusal("XTOOMANY2", "500 5.5.1")
        last = self.refusal("XTOOMANY3", "500 5.5.1")
        self.refusal("XTOOMANY3", "421 4.7.0")
        end = self.disconnect(last["session"])
        self.assertEqual(end["reason"], "too_many_errors")
        self.assertEqual(end["errors"], "3")

    def test_http_request_is_hung_up_on(self):
        with socket.create_connection(("127.0.0.1", self.t.port("smtp")), TIMEOUT) as c:
            self.assertTrue(c.recv(4096).startswith(b"220 "))
            c.sendall(b"GET /logging-test HTTP/1.1\r\nHost: mx.example.test\r\n\r\n")
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"421 4.7.0 "), data)
        e = self.refusal("GET /logging-test HTTP/1.1", "421 4.7.0")
        self.assertEqual(self.disconnect(e["session"])["reason"], "http_request")

    def test_every_line_of_a_session_carries_its_id(self):
        s = self.smtp()
        s.docmd("VRFY logging-marker")
        s.quit()
        connects = self.events("connect")
        self.assertTrue(connects)
        for c in connects:
            self.assertIn("listener", c)
            self.assertIn(c["kind"], ("smtp", "submission"))
        ids = [c["session"] for c in connects]
        self.assertEqual(len(ids), len(set(ids)), "session ids repeat")


if __name__ == "__main__":
    main()
