"""`tern init DOMAIN`: a config for a real deployment, its DKIM key, the DNS records.

What this proves, with the real binary in a temp dir:
  - the config is written 0640 (as root: owned by root, group of run_as,
    which reads it at start and at SIGHUP), the DKIM key 0600 owned by
    run_as, in a data dir owned by run_as;
  - the printed records: MX, an A/AAAA hint, SPF "v=spf1 mx -all", DMARC
    with rua, the PTR; the DKIM TXT holds the public half of the key file
    (compared with openssl's, and a message signed with the key verifies
    with dkimpy given the printed record as DNS);
  - a second run refuses to replace the config without --force; with it,
    the config is rewritten and the DKIM key (maybe published) is kept;
  - the written config, with only its listener addresses moved to free
    loopback ports, starts `tern serve` (as root: dropping to run_as), which
    accepts mail for the domain into a Maildir;
  - as root, a run_as user that does not exist is refused before anything
    is written.
Run as root (CI), run_as is "nobody"; as an ordinary user, that user.
"""
import base64
import grp
import os
import pwd
import re
import shutil
import smtplib
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.request

from tern_harness import TERN_BIN, free_port, main, wait_port

try:
    import dkim  # python3-dkim
except ImportError:  # pragma: no cover - reported by the test that needs it
    dkim = None

D = "example.test"
H = "mx.example.test"
ROOT = os.geteuid() == 0
RUN_AS = "nobody" if ROOT else pwd.getpwuid(os.geteuid()).pw_name


def txt_strings(line):
    """The character-strings of a zone-file TXT line, unescaped."""
    return [re.sub(r"\\(.)", r"\1", s) for s in re.findall(r'"((?:[^"\\]|\\.)*)"', line)]


class InitTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tern-init-")
        os.chmod(self.tmp, 0o755)  # run_as must reach the data dir below it
        self.config = os.path.join(self.tmp, "etc", "tern.toml")
        self.data = os.path.join(self.tmp, "data")
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def init(self, *extra, run_as=RUN_AS):
        return subprocess.run(
            [TERN_BIN, "init", D, "--hostname", H, "--config", self.config, "--data-dir",
             self.data, "--run-as", run_as, *extra],
            capture_output=True, text=True, timeout=120)

    def init_ok(self, *extra):
        r = self.init(*extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def key_file(self):
        d = os.path.join(self.data, "dkim", D)
        keys = [f for f in os.listdir(d) if f.endswith(".key")]
        self.assertEqual(len(keys), 1, keys)
        return os.path.join(d, keys[0])

    def record_line(self, out, prefix):
        lines = [l for l in out.splitlines() if l.startswith(prefix)]
        self.assertEqual(len(lines), 1, f"{prefix!r} in:\n{out}")
        return lines[0]

    def test_files_and_modes(self):
        self.init_ok()
        st = os.stat(self.config)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        pw = pwd.getpwnam(RUN_AS)
        if ROOT:
            self.assertEqual((st.st_uid, st.st_gid), (0, pw.pw_gid))
        key = os.stat(self.key_file())
        self.assertEqual(stat.S_IMODE(key.st_mode), 0o600)
        self.assertEqual(key.st_uid, pw.pw_uid)
        self.assertEqual(os.stat(self.data).st_uid, pw.pw_uid)
        self.assertEqual(stat.S_IMODE(os.stat(self.data).st_mode), 0o700)
        with open(self.config) as f:
            text = f.read()
        for line in ('hostname = "mx.example.test"', f'data_dir = "{self.data}"',
                     f'run_as = "{RUN_AS}"', 'domains = ["example.test"]', 'address = ":25"',
                     'address = ":587"', 'address = ":465"', "accept_any_local_part = false"):
            self.assertIn("\n" + line + "\n", text)
        self.assertIn(os.path.basename(self.key_file()), text)  # named in a comment

    def test_records(self):
        out = self.init_ok().stdout
        self.record_line(out, f"{D}. IN MX 10 {H}.")
        self.assertRegex(out, rf"\n{re.escape(H)}\. IN (A|AAAA) \S+")
        self.record_line(out, f'{D}. IN TXT "v=spf1 mx -all"')
        self.record_line(out, f'_dmarc.{D}. IN TXT "v=DMARC1; p=none; '
                              f'rua=mailto:dmarc-reports@{D}"')
        self.assertIn("p=quarantine", out)
        # The machine's address, or a placeholder when it has none that the
        # internet could reach (a test machine may have only private ones).
        self.assertRegex(out, rf"\. IN PTR {re.escape(H)}\.\n")
        self.record_line(out, f"mta-sts.{D}. IN CNAME {H}.")
        self.assertRegex(out, rf'\n_mta-sts\.{re.escape(D)}\. IN TXT "v=STSv1; id=[0-9a-f]{{32}}"\n')
        for step in (f"tern user add you@{D} --config {self.config}",
                     f"tern serve --config {self.config}", f"tern check {D}"):
            self.assertIn(step, out)

        # The DKIM record is the key file's public half.
        key = self.key_file()
        selector = os.path.basename(key)[:-len(".key")]
        line = self.record_line(out, f"{selector}._domainkey.{D}. IN TXT")
        record = "".join(txt_strings(line))
        tags = dict(t.strip().split("=", 1) for t in record.split(";") if t.strip())
        self.assertEqual((tags["v"], tags["k"]), ("DKIM1", "rsa"))
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout
        self.assertEqual(tags["p"], base64.b64encode(der).decode())

        # And a message signed with the key verifies against the printed record.
        if dkim is None:
            if os.environ.get("CI"):
                self.fail("python3-dkim is missing")
            self.skipTest("python3-dkim is missing")
        message = (f"From: you@{D}\r\nTo: someone@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
        signed = subprocess.run(
            [TERN_BIN, "dkim", "sign", "--key", key, "--domain", D, "--selector", selector],
            input=message.encode(), capture_output=True, check=True).stdout

        def dnsfunc(name, timeout=5):
            want = f"{selector}._domainkey.{D}."
            return record.encode() if name.decode() == want else None

        self.assertTrue(dkim.verify(signed, dnsfunc=dnsfunc))

    def test_refuses_to_overwrite_without_force_and_keeps_the_key(self):
        first = self.init_ok()
        key = self.key_file()
        with open(key, "rb") as f:
            key_bytes = f.read()
        with open(self.config, "a") as f:
            f.write("# edited by the administrator\n")
        r = self.init()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{self.config} exists; use --force", r.stderr)
        with open(self.config) as f:
            self.assertIn("# edited by the administrator", f.read())

        again = self.init_ok("--force")
        self.assertIn("kept the DKIM key", again.stderr)
        with open(self.config) as f:
            self.assertNotIn("# edited by the administrator", f.read())
        self.assertEqual(self.key_file(), key)
        with open(key, "rb") as f:
            self.assertEqual(f.read(), key_bytes)
        dkim_line = lambda out: [l for l in out.splitlines() if "._domainkey." in l]
        self.assertEqual(dkim_line(again.stdout), dkim_line(first.stdout))

    def test_a_placeholder_config_is_replaced_without_force(self):
        os.makedirs(os.path.dirname(self.config))
        with open(self.config, "w") as f:
            f.write("# tern init may replace this file\n")
        self.init_ok()
        with open(self.config) as f:
            self.assertIn("written by `tern init`", f.read())

    def test_the_config_serves_mail_for_the_domain(self):
        self.init_ok()
        with open(self.config) as f:
            text = f.read()
        ports = {}
        for kind, port in (("smtp", ":25"), ("submission", ":587"), ("submissions", ":465")):
            ports[kind] = free_port()
            text = text.replace(f'address = "{port}"', f'address = "127.0.0.1:{ports[kind]}"', 1)
        # The metrics endpoint too: 9325 may be another test's.
        ports["metrics"] = free_port()
        self.assertIn('listen = "127.0.0.1:9325"', text)
        text = text.replace('listen = "127.0.0.1:9325"', f'listen = "127.0.0.1:{ports["metrics"]}"')
        with open(self.config, "w") as f:  # keeps the file's owner and mode
            f.write(text)

        r = subprocess.run([TERN_BIN, "user", "add", f"you@{D}", "--password-stdin", "--config",
                            self.config], input="secret\n", capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.tmp, "tern.log"), "wb") as log:
            self.proc = subprocess.Popen([TERN_BIN, "serve", "--config", self.config],
                                         stdout=log, stderr=subprocess.STDOUT)
        try:
            for p in ports.values():
                wait_port("127.0.0.1", p)
        except TimeoutError:
            with open(os.path.join(self.tmp, "tern.log")) as f:
                self.fail("tern serve did not start on the written config:\n" + f.read())
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=30) as s:
            s.ehlo("client.example.org")
            self.assertIn("starttls", s.esmtp_features)
            s.sendmail("sender@example.org", [f"you@{D}"],
                       f"From: sender@example.org\r\nTo: you@{D}\r\nSubject: init\r\n\r\nhi\r\n")
            s.mail("sender@example.org")
            code, _ = s.rcpt(f"nobody-here@{D}")
            self.assertEqual(code, 550)  # accept_any_local_part = false
        new = os.path.join(self.data, "mail", D, "you", "new")
        deadline = time.time() + 20
        while time.time() < deadline and not (os.path.isdir(new) and os.listdir(new)):
            time.sleep(0.05)
        self.assertTrue(os.path.isdir(new) and os.listdir(new), "no message delivered")
        with open(os.path.join(new, os.listdir(new)[0]), "rb") as f:
            self.assertIn(b"Subject: init", f.read())
        if ROOT:
            self.assertEqual(os.stat(new).st_uid, pwd.getpwnam(RUN_AS).pw_uid)
        # The metrics endpoint the config turns on counted the message.
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['metrics']}/metrics",
                                    timeout=30) as r:
            scraped = r.read().decode()
        self.assertIn('tern_messages_accepted_total{listener="smtp"} 1', scraped)

    @unittest.skipUnless(ROOT or os.environ.get("CI"), "needs root (only root can switch users)")
    def test_unknown_run_as_user_writes_nothing(self):
        self.assertTrue(ROOT, "CI runs the integration tests as root; this one needs it")
        r = self.init(run_as="tern-no-such-user")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("tern-no-such-user", r.stderr)
        self.assertIn("useradd", r.stderr)
        self.assertFalse(os.path.exists(self.config))
        self.assertFalse(os.path.exists(self.data))


if __name__ == "__main__":
    main()
