"""tern with rspamd, from Debian, in its milter mode: rspamd's proxy worker
(milter = yes, self_scan = yes) on a free loopback port, with a private
configuration, database, run and log directory in a temp dir (the Debian
configuration in /etc/rspamd is included as the template; no redis; DNS
pointed at a closed loopback port so nothing leaves the machine).

  - GTUBE is refused at the end of DATA with rspamd's 554 5.7.1;
  - ham is accepted and delivered with the headers rspamd adds through
    the milter (X-Spamd-Result, X-Rspamd-Queue-Id: milter_headers);
  - rspamd gone: default_action "tempfail" answers 451 4.7.1.

rspamd is started and stopped by this test. Without rspamd the test skips,
unless CI is set (then it fails).
"""
import os
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from tern_harness import Tern, free_port, main, wait_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
HAM = ("From: Alice <alice@remote.test>\r\nTo: bob@example.test\r\n"
       "Subject: lunch on friday\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
       "Message-ID: <lunch-1@remote.test>\r\n\r\n"
       "Hi Bob,\r\n\r\nshall we have lunch on Friday at noon?\r\n\r\nAlice\r\n")
SPAM = HAM.replace("lunch-1", "gtube-1").replace("shall we", GTUBE + "\r\nshall we")


class Rspamd:
    """An rspamd of our own: config in a temp dir, proxy worker on `port`."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rspamd-it-")
        self.port = free_port()
        dns_port = free_port()  # nothing listens there: lookups fail at once
        for d in ("db", "run", "log", "local/local.d"):
            os.makedirs(os.path.join(self.tmp, d))
        with open(os.path.join(self.tmp, "local/local.d/milter_headers.conf"), "w") as f:
            # Headers on every message, also from loopback (our tests).
            f.write('use = ["x-spamd-result", "x-rspamd-queue-id", "x-spam-status"];\n'
                    "skip_local = false;\nskip_authenticated = false;\n")
        self.conf = os.path.join(self.tmp, "rspamd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    dns {{ nameserver = ["127.0.0.1:{dns_port}"]; timeout = 1s; retransmits = 1; }}
}}
logging {{ type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }}
worker "rspamd_proxy" {{
    bind_socket = "127.0.0.1:{self.port}";
    # As /etc/rspamd/worker-proxy.inc, but scanning in this process
    # (self_scan) instead of passing to a normal worker.
    milter = yes;
    timeout = 120s;
    upstream "local" {{ default = yes; self_scan = yes; }}
    count = 1;
}}
""")
        args = [RSPAMD, "-f", "-c", self.conf, "--var=CONFDIR=/etc/rspamd",
                f"--var=LOCAL_CONFDIR={self.tmp}/local", f"--var=DBDIR={self.tmp}/db",
                f"--var=RUNDIR={self.tmp}/run", f"--var=LOGDIR={self.tmp}/log"]
        if os.geteuid() == 0:
            # rspamd refuses root workers unless told; CI runs as root.
            args += ["-u", "root", "-g", "root", "-i"]
        self.out = open(os.path.join(self.tmp, "rspamd.out"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        try:
            # Compiling its regular expressions takes rspamd a while on a busy machine.
            wait_port("127.0.0.1", self.port, timeout=240)
        except TimeoutError:
            self.stop()
            raise AssertionError("rspamd did not start:\n" + self.log_tail())

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.tmp, "log", "rspamd.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError as e:
            return str(e)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class RspamdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(RSPAMD):
            if os.environ.get("CI"):
                raise AssertionError("rspamd is required in CI")
            raise unittest.SkipTest("rspamd not installed")
        cls.rspamd = Rspamd()
        cls.t = Tern(kinds=("smtp",), accept_any_local_part=True, extra=(
            '[[milter]]\nname = "rspamd"\n'
            f'socket = "inet:127.0.0.1:{cls.rspamd.port}"\n'
            'default_action = "tempfail"\neom_timeout = "2m"\n'))
        cls.t.start()

    @classmethod
    def tearDownClass(cls):
        cls.t.stop()
        cls.t.cleanup()
        cls.rspamd.stop()
        cls.rspamd.cleanup()

    def send(self, body, rcpt):
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=180) as s:
            s.ehlo("client.remote.test")
            code, text = s.mail("alice@remote.test")
            if code == 250:
                self.assertEqual(s.rcpt(rcpt)[0], 250)
                code, text = s.data(body)
            return code, text.decode()

    def test_1_gtube_rejected(self):
        code, text = self.send(SPAM, "bob@example.test")
        self.assertEqual(code, 554, text + "\n" + self.t.tail_log() + self.rspamd.log_tail())
        self.assertTrue(text.startswith("5.7.1 "), text)
        self.assertEqual(self.t.messages("bob@example.test"), [])

    def test_2_ham_accepted_with_rspamd_headers(self):
        code, text = self.send(HAM, "carol@example.test")
        self.assertEqual(code, 250, text + "\n" + self.t.tail_log() + self.rspamd.log_tail())
        msgs = self.t.wait_messages("carol@example.test", 1)
        self.assertEqual(len(msgs), 1, self.t.tail_log())
        msg = msgs[0].decode()
        head = msg.split("\r\n\r\n", 1)[0]
        self.assertIn("\r\nX-Spamd-Result: default: False [", head)
        self.assertIn("\r\nX-Rspamd-Queue-Id: ", head)
        self.assertIn("shall we have lunch", msg)

    def test_3_rspamd_gone_tempfails(self):
        self.rspamd.stop()
        code, text = self.send(HAM, "dave@example.test")
        self.assertEqual((code, text), (451, "4.7.1 Service unavailable - try again later"))


if __name__ == "__main__":
    main()
