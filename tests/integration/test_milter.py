"""The milter client against a real milter: Debian's python3-milter
(pymilter over Sendmail's libmilter), scripted per test by
scripted_milter.py. Every action of the protocol, at the stage where it
counts, as the SMTP client sees it and as the Maildir receives the message:

  connect  reject (554), tempfail (421)
  helo     reject, custom code
  mail     reject (550 5.7.1), tempfail (451 4.7.1), custom code (553 5.1.8)
  rcpt     one recipient refused, the other delivered
  data     custom code at DATA
  eom      reject, tempfail, multi-line custom code, discard (250, nothing
           delivered), quarantine (250, kept in data_dir/quarantine), accept
  changes  add, insert, change and delete header fields, replace the body,
           add (also with ESMTP arguments) and delete recipients, change
           the sender
  protocol ABORT between transactions, QUIT at the end, macros as Postfix
           sends them ({client_addr}, j, i, {mail_addr}, {rcpt_addr}, ...)
  failure  milter unreachable: default_action tempfail (451 4.7.1) or
           accept (250, delivered)
  order    two milters: the second sees the first's changes; the first
           refusal wins
  bdat     the data stage at the last BDAT chunk

Skips without python3-milter, unless CI is set (then it fails).
"""
import json
import os
import smtplib
import subprocess
import tempfile
import time
import unittest

from tern_harness import ClassServers, Tern, dns_toml, fail_if_ci, free_port, main, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def have_pymilter():
    return subprocess.run([PY, "-c", "import Milter"], capture_output=True).returncode == 0


def milter_block(port, default_action="tempfail", listeners=("smtp",)):
    ls = ", ".join(f'"{k}"' for k in listeners)
    return (f'[[milter]]\nname = "scripted"\nsocket = "inet:127.0.0.1:{port}"\n'
            f'listeners = [{ls}]\ndefault_action = "{default_action}"\n'
            'connect_timeout = "5s"\ncommand_timeout = "10s"\neom_timeout = "10s"\n')


def milter_tern(extra):
    """A tern (smtp only, any local part) configured with `extra`: the
    milter blocks and whatever else the test needs; not started."""
    return Tern(kinds=("smtp",), accept_any_local_part=True, extra=extra)


class MilterServers(ClassServers):
    """ClassServers for the milter tests: skipped without python3-milter
    (a failure under CI); what start_milter and start_tern start is
    stopped with the class."""

    @classmethod
    def setUpClass(cls):
        fail_if_ci(None if have_pymilter() else "python3-milter not installed",
                   "python3-milter")
        super().setUpClass()

    @classmethod
    def start_milter(cls):
        m = ScriptedMilter()
        cls.cleanups.append(m.stop)
        return m

    @classmethod
    def start_tern(cls, extra):
        t = milter_tern(extra)
        cls.cleanups.append(t.cleanup)
        return t.start()


class ScriptedMilter:
    """scripted_milter.py on a free loopback port, started and stopped here."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="milter-it-")
        self.port = free_port()
        self.control = os.path.join(self.tmp, "control.json")
        self.log = os.path.join(self.tmp, "events.jsonl")
        self.set()
        self.out = open(os.path.join(self.tmp, "milter.out"), "wb")
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, "scripted_milter.py"), f"inet:{self.port}@127.0.0.1",
             self.control, self.log], stdout=self.out, stderr=subprocess.STDOUT)
        wait_port("127.0.0.1", self.port)

    def set(self, **ctl):
        with open(self.control + ".tmp", "w") as f:
            json.dump(ctl, f)
        os.replace(self.control + ".tmp", self.control)
        open(self.log, "w").close()

    def events(self, stage=None):
        with open(self.log) as f:
            ev = [json.loads(line) for line in f if line.strip()]
        return [e for e in ev if stage is None or e["stage"] == stage]

    def wait_event(self, stage, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.events(stage):
                return self.events(stage)
            time.sleep(0.05)
        return self.events(stage)

    def stop(self):
        # SIGKILL: libmilter notices SIGTERM only at its listener's next
        # 5-second poll timeout, and the script has nothing to save.
        self.proc.kill()
        self.proc.wait()
        self.out.close()


MESSAGE = ("From: a@remote.test\r\nTo: alice@example.test\r\nSubject: hello\r\n"
           "X-Drop: me\r\nX-Change: old\r\n\r\nfirst line\r\nsecond line\r\n")


class MilterTest(MilterServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.milter = cls.start_milter()
        cls.t = cls.start_tern(milter_block(cls.milter.port))

    def setUp(self):
        self.milter.set()

    def tearDown(self):
        self.t.assert_running()

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30)
        s.ehlo("client.test")
        return s

    def send(self, rcpts=("alice@example.test",), sender="a@remote.test", body=MESSAGE):
        """(code, text) of the end of DATA, after MAIL and RCPT went through."""
        with self.smtp() as s:
            self.assertEqual(s.mail(sender)[0], 250)
            for r in rcpts:
                self.assertEqual(s.rcpt(r)[0], 250)
            code, text = s.data(body)
            return code, text.decode()

    def delivered(self, address, n=1):
        msgs = self.t.wait_messages(address, n)
        self.assertEqual(len(msgs), n, self.t.tail_log())
        return msgs[-1].decode()

    def fence(self, address):
        """A plain message after a test's: once it is delivered, anything sent
        before it that was going to be delivered was (one worker, in order)."""
        self.milter.set()
        before = len(self.t.messages(address))
        self.assertEqual(self.send(rcpts=(address,))[0], 250)
        self.t.wait_messages(address, before + 1)

    # -- refusals at each stage --

    def test_connect(self):
        for action, code in (("reject", 554), ("tempfail", 421)):
            with self.subTest(action=action):
                self.milter.set(connect=action)
                with self.assertRaises(smtplib.SMTPConnectError) as cm:
                    smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30)
                self.assertEqual(cm.exception.smtp_code, code)

    def test_helo(self):
        for action, reply in (("reject", "550 5.7.1"), ("reply:554 5.7.1 go away", "554 5.7.1 go away")):
            with self.subTest(action=action):
                self.milter.set(helo=action)
                with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30) as s:
                    code, text = s.ehlo("client.test")
                    self.assertEqual(f"{code} {text.decode()}".startswith(reply), True, text)
        ev = self.milter.events("helo")
        self.assertEqual(ev[-1]["name"], "client.test")

    def test_mail(self):
        cases = (("reject", 550, "5.7.1 Command rejected"),
                 ("tempfail", 451, "4.7.1 Service unavailable - try again later"),
                 ("reply:553 5.1.8 sender domain unknown", 553, "5.1.8 sender domain unknown"))
        for action, code, text in cases:
            with self.subTest(action=action):
                self.milter.set(mail=action)
                with self.smtp() as s:
                    c, t = s.mail("a@remote.test", ["SIZE=100"])
                    self.assertEqual((c, t.decode()), (code, text))
        self.assertEqual(self.milter.events("mail")[-1]["args"], ["<a@remote.test>", "SIZE=100"])

    def test_rcpt_refuses_that_recipient_only(self):
        self.milter.set(rcpt_reject="bob")
        with self.smtp() as s:
            s.mail("a@remote.test")
            c, t = s.rcpt("bob@example.test")
            self.assertEqual((c, t.decode()), (550, "5.7.1 recipient refused by milter"))
            self.assertEqual(s.rcpt("carl@example.test")[0], 250)
            self.assertEqual(s.data(MESSAGE)[0], 250)
        self.delivered("carl@example.test")
        self.assertEqual(self.t.messages("bob@example.test"), [])

    def test_data(self):
        self.milter.set(data="reply:554 5.7.1 no data today")
        with self.smtp() as s:
            s.mail("a@remote.test")
            s.rcpt("dan@example.test")
            c, t = s.docmd("DATA")
            self.assertEqual((c, t.decode()), (554, "5.7.1 no data today"))
            # The transaction is over: DATA again needs a new MAIL.
            self.assertEqual(s.docmd("DATA")[0], 503)

    def test_bdat(self):
        """BDAT has no DATA command: the data stage goes at the last chunk."""
        body = MESSAGE.encode()
        for action, code in (("reply:554 5.7.1 no data today", 554), ("continue", 250)):
            with self.subTest(action=action):
                self.milter.set(data=action)
                with self.smtp() as s:
                    s.mail("a@remote.test")
                    s.rcpt("olga@example.test")
                    s.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
                    self.assertEqual(s.getreply()[0], code)
                self.assertEqual(self.milter.events("data")[-1]["stage"], "data")
        self.delivered("olga@example.test")

    def test_eom_refusals(self):
        cases = (("reject", 550, "5.7.1 Command rejected"),
                 ("tempfail", 451, "4.7.1 Service unavailable - try again later"),
                 ("replyml:554 5.7.1 spam|really", 554, "5.7.1 spam\n5.7.1 really"))
        for action, code, text in cases:
            with self.subTest(action=action):
                self.milter.set(eom=action)
                self.assertEqual(self.send(rcpts=("erin@example.test",)), (code, text))
        self.fence("erin@example.test")
        self.assertEqual(len(self.t.messages("erin@example.test")), 1)  # the fence only

    def test_eom_sees_headers_and_body(self):
        self.assertEqual(self.send(rcpts=("fay@example.test",))[0], 250)
        eoh = self.milter.wait_event("eoh")[-1]
        names = [h[0] for h in eoh["headers"]]
        # Our Received first, then the message's own fields.
        self.assertEqual(names[0], "Received")
        self.assertIn(["Subject", "hello"], eoh["headers"])
        self.assertEqual(self.milter.events("eom")[-1]["body"], "first line\r\nsecond line\r\n")
        self.delivered("fay@example.test")

    def test_discard(self):
        self.milter.set(eom="discard")
        code, text = self.send(rcpts=("gus@example.test",))
        self.assertEqual(code, 250)
        self.fence("gus@example.test")
        self.assertEqual(len(self.t.messages("gus@example.test")), 1)  # the fence only
        self.assertTrue(self.t.wait_log("milter discard"))

    def test_discard_at_rcpt(self):
        self.milter.set(rcpt="discard")
        self.assertEqual(self.send(rcpts=("hal@example.test",))[0], 250)
        self.fence("hal@example.test")
        self.assertEqual(len(self.t.messages("hal@example.test")), 1)

    def test_quarantine(self):
        self.milter.set(eom_mods=[["quarantine", "looks odd"]])
        code, text = self.send(rcpts=("ida@example.test",))
        self.assertEqual(code, 250)
        qid = text.split()[-1]
        self.fence("ida@example.test")
        self.assertEqual(len(self.t.messages("ida@example.test")), 1)  # the fence only
        held = os.path.join(self.t.data_dir, "quarantine", "msg", qid)
        self.assertTrue(os.path.exists(held), self.t.tail_log())
        with open(held, "rb") as f:
            self.assertIn(b"Subject: hello", f.read())
        self.assertNotIn(qid, self.t.queue_files())

    def test_header_and_body_changes(self):
        self.milter.set(eom_mods=[
            ["addheader", "X-Added", "yes"],
            ["insheader", 0, "X-First", "top"],
            ["chgheader", "X-Change", 1, "new value"],
            ["delheader", "X-Drop", 1],
            ["replacebody", "replaced\nbody\n"],
        ], eom="accept")
        self.assertEqual(self.send(rcpts=("jo@example.test",))[0], 250)
        msg = self.delivered("jo@example.test")
        head, _, body = msg.partition("\r\n\r\n")
        lines = head.split("\r\n")
        # Return-Path and Delivered-To come from delivery, then the milter's X-First.
        self.assertEqual(lines[2], "X-First: top", head)
        self.assertIn("X-Added: yes", lines)
        self.assertIn("X-Change: new value", lines)
        self.assertNotIn("X-Drop: me", lines)
        self.assertEqual(body, "replaced\r\nbody\r\n")
        self.assertTrue(self.t.wait_log(
            "milter=scripted:addheader,insheader,chgheader,delheader,replbody"), self.t.tail_log())

    def test_envelope_changes(self):
        self.milter.set(eom_mods=[
            ["addrcpt", "<kim@example.test>"],
            ["addrcpt_par", "<lee@example.test>", "NOTIFY=NEVER"],
            ["delrcpt", "<kay@example.test>"],
            ["chgfrom", "<new-sender@example.test>"],
        ])
        self.assertEqual(self.send(rcpts=("kay@example.test",))[0], 250)
        for who in ("kim@example.test", "lee@example.test"):
            msg = self.delivered(who)
            self.assertIn("Return-Path: <new-sender@example.test>", msg)
        self.fence("kay@example.test")
        self.assertEqual(len(self.t.messages("kay@example.test")), 1)  # the fence only

    def test_macros(self):
        self.assertEqual(self.send(rcpts=("max@example.test",))[0], 250)
        connect = self.milter.wait_event("connect")[-1]
        self.assertEqual(connect["addr"], "127.0.0.1")
        self.assertEqual(connect["macros"]["{client_addr}"], "127.0.0.1")
        self.assertEqual(connect["macros"]["j"], "mx.example.test")
        self.assertEqual(connect["macros"]["{daemon_name}"], "smtp")
        self.assertIn("{client_port}", connect["macros"])
        mail = self.milter.events("mail")[-1]
        self.assertEqual(mail["macros"]["{mail_addr}"], "a@remote.test")
        self.assertRegex(mail["macros"]["i"], r"^[0-9A-Za-z]+$")
        rcpt = self.milter.events("rcpt")[-1]
        self.assertEqual(rcpt["macros"]["{rcpt_addr}"], "max@example.test")
        self.assertEqual(rcpt["macros"]["i"], mail["macros"]["i"])
        self.delivered("max@example.test")

    def test_abort_between_transactions_and_quit(self):
        with self.smtp() as s:
            s.mail("a@remote.test")
            s.rcpt("ned@example.test")
            s.rset()
            s.mail("a@remote.test")
            s.rcpt("ned@example.test")
            self.assertEqual(s.data(MESSAGE)[0], 250)
        # QUIT ends the milter's connection: its close comes after the eom.
        deadline = time.time() + 10
        while time.time() < deadline:
            stages = [e["stage"] for e in self.milter.events()]
            if "eom" in stages and stages[-1] == "close":
                break
            time.sleep(0.05)
        # One milter connection for the session: RSET sends ABORT, the next
        # MAIL goes on the same connection, QUIT closes it.
        session = stages[stages.index("mail"):]
        self.assertEqual(session[:3], ["mail", "rcpt", "abort"], stages)
        self.assertNotIn("connect", session)
        self.assertEqual(session[-2:], ["eom", "close"], stages)
        self.delivered("ned@example.test")


class TwoMiltersTest(MilterServers, unittest.TestCase):
    """Milters in the order configured: the second sees the message as the
    first left it, and the first refusal wins."""

    @classmethod
    def _start(cls):
        cls.first, cls.second = cls.start_milter(), cls.start_milter()
        cls.t = cls.start_tern(milter_block(cls.first.port) +
                               milter_block(cls.second.port).replace('"scripted"', '"second"'))

    def send(self, rcpt):
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30) as s:
            s.ehlo("client.test")
            s.mail("a@remote.test")
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, text = s.data(MESSAGE)
            return code, text.decode()

    def test_second_sees_the_first_changes(self):
        self.first.set(eom_mods=[["addheader", "X-First", "was here"],
                                 ["replacebody", "from the first\n"]])
        self.second.set(eom_mods=[["addheader", "X-Second", "too"]])
        self.assertEqual(self.send("quinn@example.test")[0], 250)
        eoh = self.second.wait_event("eoh")[-1]
        self.assertIn(["X-First", "was here"], eoh["headers"])
        self.assertEqual(self.second.events("eom")[-1]["body"], "from the first\r\n")
        msg = self.t.wait_messages("quinn@example.test", 1)[0].decode()
        self.assertIn("\r\nX-First: was here\r\nX-Second: too\r\n", msg)

    def test_first_refusal_wins(self):
        self.first.set(eom="reply:550 5.7.1 first says no")
        self.second.set()
        self.assertEqual(self.send("rita@example.test"), (550, "5.7.1 first says no"))
        self.assertEqual(self.second.events("eom"), [])


class MilterFailureTest(unittest.TestCase):
    """A milter that cannot be reached: its default_action decides."""

    def run_with(self, default_action):
        port = free_port()  # closed: nothing listens there
        t = milter_tern(milter_block(port, default_action))
        t.start()
        try:
            with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=30) as s:
                s.ehlo("client.test")
                code, text = s.mail("a@remote.test")
                if code == 250:
                    self.assertEqual(s.rcpt("pat@example.test")[0], 250)
                    code, text = s.data(MESSAGE)
                result = (code, text.decode())
            delivered = t.wait_messages("pat@example.test", 1) if result[0] == 250 else []
            self.assertTrue(t.wait_log("milter=scripted failed"), t.tail_log())
            return result, delivered
        finally:
            t.stop()
            t.cleanup()

    def test_tempfail(self):
        result, _ = self.run_with("tempfail")
        self.assertEqual(result, (451, "4.7.1 Service unavailable - try again later"))

    def test_accept(self):
        result, delivered = self.run_with("accept")
        self.assertEqual(result[0], 250)
        self.assertEqual(len(delivered), 1)



class MilterQuarantineAdminTest(MilterServers, unittest.TestCase):
    """What an operator does with quarantined mail, through the running
    server's admin socket: `tern queue quarantine` lists it (with the
    milter's reason), `release` delivers it, `delete` drops it."""

    @classmethod
    def _start(cls):
        cls.milter = cls.start_milter()
        cls.t = cls.start_tern(milter_block(cls.milter.port))

    def quarantine(self, rcpt, reason):
        self.milter.set(eom_mods=[["quarantine", reason]])
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("a@remote.test")[0], 250)
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, text = s.data(MESSAGE)
        self.assertEqual(code, 250)
        return text.decode().split()[-1]

    def held(self, qid):
        return os.path.join(self.t.data_dir, "quarantine", "msg", qid)

    def test_list_release_delete(self):
        released = self.quarantine("una@example.test", "looks odd")
        dropped = self.quarantine("vic@example.test", "virus found")
        self.milter.set()
        for qid in (released, dropped):
            self.assertTrue(os.path.exists(self.held(qid)), self.t.tail_log())

        listed = {m["id"]: m for m in json.loads(self.t.queue("quarantine", "--json").stdout)}
        self.assertEqual(set(listed), {released, dropped})
        m = listed[released]
        self.assertEqual(m["reason"], "looks odd")
        self.assertEqual(m["sender"], "a@remote.test")
        self.assertEqual(m["recipients"], ["una@example.test"])
        self.assertGreater(m["size"], len(MESSAGE))  # with our Received: and the like
        self.assertGreater(m["received_at"], 0)
        self.assertEqual(listed[dropped]["reason"], "virus found")
        text = self.t.queue("quarantine").stdout
        self.assertIn(released, text)
        self.assertIn("reason:  virus found", text)
        self.assertIn("2 message(s) in quarantine", text)

        # Released: out of the quarantine, into the queue, delivered at once.
        r = self.t.queue("release", released)
        self.assertIn("released " + released, r.stdout)
        self.assertFalse(os.path.exists(self.held(released)))
        msg = self.t.wait_messages("una@example.test", 1)
        self.assertEqual(len(msg), 1, self.t.tail_log())
        self.assertIn(b"Subject: hello", msg[0])
        self.assertTrue(self.t.wait_log(f"queue release id={released} from=quarantine"))
        again = self.t.queue("release", released, check=False)
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)

        # Deleted: gone from the quarantine, never delivered.
        r = self.t.queue("delete", dropped)
        self.assertIn(f"deleted {dropped} from the quarantine", r.stdout)
        self.assertFalse(os.path.exists(self.held(dropped)))
        self.assertEqual(json.loads(self.t.queue("quarantine", "--json").stdout), [])
        self.assertEqual(self.t.queue("quarantine").stdout.strip(), "The quarantine is empty.")
        self.assertNotIn(dropped, self.t.queue_files())
        self.assertEqual(self.t.messages("vic@example.test"), [])
        bad = self.t.queue("delete", dropped, check=False)
        self.assertEqual(bad.returncode, 1)


CLIENT = "127.0.13.5"


def dns_only(dns):
    """TOML: lookups go to `dns`, and only the milter's names need them
    (SPF, DKIM and DMARC off)."""
    return (dns_toml(dns) +
            "[spf]\nenabled = false\n[dkim]\nverify = false\n[dmarc]\nenabled = false\n")


class MilterClientNameTest(MilterServers, unittest.TestCase):
    """{client_name}, {client_ptr}, {client_resolve} and `_` from real DNS
    lookups (tests/integration/dns_server.py): the client connects from
    127.0.13.5 (127.0.0.1 is "localhost" in /etc/hosts, which the resolver
    reads first), whose PTR is client.tern.test, whose A record is
    127.0.13.5 again."""

    @classmethod
    def _start(cls):
        from dns_server import DnsServer
        # Our own 127.in-addr.arpa replaces unbound's default (localhost.).
        cls.dns = DnsServer(zones=["127.in-addr.arpa", "tern.test"],
                            ptr=[(CLIENT, "client.tern.test")],
                            records=[f"client.tern.test. 300 IN A {CLIENT}"])
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()
        cls.milter = cls.start_milter()

    def tern(self, top="", tables=""):
        t = milter_tern(top + milter_block(self.milter.port) + tables + dns_only(self.dns))
        self.addCleanup(t.cleanup)
        self.addCleanup(t.stop)
        return t.start()

    def connect_macros(self, t):
        self.milter.set()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=30,
                          source_address=(CLIENT, 0)) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("a@remote.test")[0], 250)
        # The harness's readiness probe (a connection from 127.0.0.1) is a
        # session too, and its connect stage may reach the milter after
        # set() emptied the log: take the event of our own client address.
        deadline = time.time() + 10
        while time.time() < deadline:
            ours = [e for e in self.milter.events("connect")
                    if e["macros"].get("{client_addr}") == CLIENT]
            if ours:
                return ours[-1]["macros"]
            time.sleep(0.05)
        self.fail(f"no connect event from {CLIENT}: {self.milter.events('connect')}")

    def lookups(self, name):
        return [q for q in self.dns.queries() if q.startswith(name)]

    # Postfix's default connect macros carry {client_name} and `_` (whose
    # first word is the PTR name); {client_ptr} and {client_resolve} only
    # go to a milter that asks for them (unit-tested: milter_client_name_test).
    def expect_verified(self, macros):
        self.assertEqual(macros["{client_name}"], "client.tern.test")
        self.assertEqual(macros["_"], f"client.tern.test [{CLIENT}]")

    def test_names_looked_up_for_the_milter(self):
        before = len(self.lookups("5.13.0.127.in-addr.arpa. PTR"))
        t = self.tern()
        self.expect_verified(self.connect_macros(t))
        self.assertEqual(len(self.lookups("5.13.0.127.in-addr.arpa. PTR")), before + 1)
        self.assertTrue(t.wait_log("milter client_name=client.tern.test"), t.tail_log())

    def test_early_checks_answer_is_reused(self):
        # Loopback screened, reverse_dns looked up by the early checks: the
        # milter's names come from that answer, not from a second PTR query.
        before = len(self.lookups("5.13.0.127.in-addr.arpa. PTR"))
        t = self.tern("check_loopback = true\n", '[checks]\nreverse_dns = "mark"\n')
        self.expect_verified(self.connect_macros(t))
        self.assertTrue(t.wait_log("rdns=found"), t.tail_log())
        self.assertEqual(len(self.lookups("5.13.0.127.in-addr.arpa. PTR")), before + 1)

    def test_forward_mismatch_is_unknown(self):
        # The PTR name's A record is another address: not verified.
        with DnsServerFor(CLIENT, "forged.tern.test", "192.0.2.1") as dns:
            t = milter_tern(milter_block(self.milter.port) + dns_only(dns))
            self.addCleanup(t.cleanup)
            t.start()
            try:
                macros = self.connect_macros(t)
            finally:
                t.stop()
        self.assertEqual(macros["{client_name}"], "unknown")
        self.assertEqual(macros["_"], f"forged.tern.test [{CLIENT}] (may be forged)")


def DnsServerFor(address, name, a):
    from dns_server import DnsServer
    return DnsServer(zones=["127.in-addr.arpa", "tern.test"], ptr=[(address, name)],
                     records=[f"{name}. 300 IN A {a}"])


if __name__ == "__main__":
    main()
