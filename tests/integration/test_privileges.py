"""Privileges: `tern serve` started as root drops to run_as (docs/security.md).

What this proves, with the real binary started as root and run_as = "nobody"
(an unprivileged account every Debian system has):
  - /proc/PID/status of the server and of every one of its threads shows
    the dropped ids in Uid, Gid and Groups (real, effective, saved and
    file-system ids alike), and the log says so;
  - mail is accepted and delivered into a Maildir owned by that user; a
    SIGHUP reload works, and mail still flows after it;
  - `tern user add` and `tern dkim keygen` run as root leave files owned by
    the user; AUTH with the added user succeeds after a SIGHUP;
  - a TLS private key made group-writable fails the reload and then the
    start, with a message naming the file and the chmod that fixes it;
  - a data dir the user cannot write, and a config file it cannot read
    (SIGHUP re-reads it), are start errors naming the file and the fix;
  - started as root without run_as, tern never stays root: it drops to
    the user "tern", or (without such a user) refuses, naming useradd;
    run_as = "root" keeps root, on purpose, with a warning;
  - started as an ordinary user, a run_as naming another user is refused.
Needs root: skipped on a developer's machine, a failure when CI is set.
"""
import glob
import os
import pwd
import smtplib
import ssl
import stat
import subprocess
import unittest

from tern_harness import TERN_BIN, Tern, main

USER = "nobody"
ADDR = "alice@example.test"


def ids_of(status_text):
    """{'Uid': [...], 'Gid': [...], 'Groups': [...]} from a /proc status file."""
    out = {}
    for line in status_text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            out[key] = sorted(int(v) for v in value.split())
    return out


def serve_once(t, timeout=15):
    """Runs `tern serve` on t's config, expecting it to refuse to start."""
    return subprocess.run([TERN_BIN, "serve", "--config", t.config_path], capture_output=True,
                          text=True, timeout=timeout)


@unittest.skipUnless(os.geteuid() == 0 or os.environ.get("CI"),
                     "needs root (tern must start as root to drop privileges)")
class PrivilegesTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root; this one needs it")
        self.pw = pwd.getpwnam(USER)

    def tern(self, extra=f'run_as = "{USER}"', **kw):
        t = Tern(extra=extra, accept_any_local_part=True, **kw)
        self.addCleanup(t.cleanup)
        # mkdtemp made it 0700: the dropped user must reach the data dir
        # and the config file inside it, not list the directory.
        os.chmod(t.tmp, 0o711)
        return t

    def assertDropped(self, t):
        want_groups = sorted(set(os.getgrouplist(USER, self.pw.pw_gid)))
        pid = t.proc.pid
        tasks = glob.glob(f"/proc/{pid}/task/*/status")
        self.assertGreater(len(tasks), 1, "the server runs thread pools")
        for path in [f"/proc/{pid}/status"] + tasks:
            with open(path) as f:
                ids = ids_of(f.read())
            self.assertEqual(ids["Uid"], [self.pw.pw_uid] * 4, path)
            self.assertEqual(ids["Gid"], [self.pw.pw_gid] * 4, path)
            self.assertEqual(ids["Groups"], want_groups, path)

    def send(self, t, rcpt, body=b"Subject: hi\r\n\r\nhello\r\n"):
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=15) as s:
            self.assertEqual(s.sendmail("bob@remote.test", [rcpt], body), {})

    def test_drops_delivers_and_reloads_as_the_user(self):
        t = self.tern().start()
        self.assertTrue(t.wait_log(f"running as user {USER}"), t.tail_log())
        self.assertDropped(t)
        self.assertEqual(os.stat(t.data_dir).st_uid, self.pw.pw_uid)

        self.send(t, ADDR)
        msgs = t.wait_messages(ADDR, 1)
        self.assertEqual(len(msgs), 1, t.tail_log())
        for path in [t.maildir(ADDR)] + glob.glob(os.path.join(t.maildir(ADDR), "new", "*")):
            self.assertEqual(os.stat(path).st_uid, self.pw.pw_uid, path)
        key = os.path.join(t.data_dir, "tls", "key.pem")
        self.assertEqual(os.stat(key).st_uid, self.pw.pw_uid)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(t.data_dir, "srs.key")).st_mode),
                         0o600)

        t.reload()
        self.assertIn("SIGHUP: configuration reloaded", t.read_log())
        self.assertNotIn("reload failed", t.read_log())
        self.send(t, ADDR)
        self.assertEqual(len(t.wait_messages(ADDR, 2)), 2, t.tail_log())
        self.assertDropped(t)
        t.assert_running()

    def test_admin_commands_as_root_leave_files_the_server_reads(self):
        t = self.tern().start()
        t.add_user(ADDR, "s3cret pass")  # as root, through the harness
        users = os.path.join(t.data_dir, "users")
        self.assertEqual(os.stat(users).st_uid, self.pw.pw_uid)
        self.assertEqual(stat.S_IMODE(os.stat(users).st_mode), 0o600)
        r = t.tern("dkim", "keygen", "example.test", "--selector", "s1", "--type", "ed25519")
        key = os.path.join(t.data_dir, "dkim", "example.test", "s1.key")
        self.assertEqual(os.stat(key).st_uid, self.pw.pw_uid, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

        t.reload()
        self.assertNotIn("reload failed", t.read_log())
        self.assertTrue(t.wait_log("dkim: signing for example.test"), t.tail_log())
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", t.port("submission"), timeout=15) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            code, _ = s.login(ADDR, "s3cret pass")
            self.assertEqual(code, 235)

    def test_group_writable_key_is_refused_at_reload_and_start(self):
        t = self.tern().start()
        key = os.path.join(t.data_dir, "tls", "key.pem")
        os.chmod(key, 0o660)
        t.reload()
        log = t.read_log()
        self.assertIn("SIGHUP: reload failed", log)
        self.assertIn(f"TLS private key {key} is group-writable (mode 0660)", log)
        self.assertIn(f"chmod go-w {key}", log)
        self.send(t, ADDR)  # still serving, on the old configuration
        t.stop()

        r = serve_once(t)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"TLS private key {key} is group-writable", r.stderr)
        self.assertIn(f"chmod go-w {key}", r.stderr)

    def test_data_dir_the_user_cannot_write_is_a_start_error(self):
        t = self.tern()
        os.makedirs(t.data_dir, mode=0o755)  # root's: nobody may read, not write
        r = serve_once(t)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"data dir {t.data_dir}: user {USER} cannot write in it", r.stderr)
        self.assertIn(f"chown -R {USER}: {t.data_dir}", r.stderr)

    def test_config_file_the_user_cannot_read_is_a_start_error(self):
        t = self.tern()
        os.chmod(t.config_path, 0o600)
        r = serve_once(t)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"config file {t.config_path}: user {USER} cannot read it", r.stderr)

    def test_root_without_opt_in_never_stays_root(self):
        t = self.tern(extra="# run_as unset on purpose: the default when root")
        try:
            tern_user = pwd.getpwnam("tern")
        except KeyError:
            tern_user = None
        if tern_user is None:
            r = serve_once(t)
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn("run_as user 'tern' does not exist", r.stderr)
            self.assertIn("useradd --system", r.stderr)
            return
        t.start()
        with open(f"/proc/{t.proc.pid}/status") as f:
            self.assertEqual(ids_of(f.read())["Uid"], [tern_user.pw_uid] * 4)

    def test_run_as_root_keeps_root_on_purpose(self):
        t = self.tern(extra='run_as = "root"').start()
        self.assertTrue(t.wait_log("running as root, as the config says"), t.tail_log())
        with open(f"/proc/{t.proc.pid}/status") as f:
            self.assertEqual(ids_of(f.read())["Uid"], [0] * 4)
        self.send(t, ADDR)
        self.assertEqual(len(t.wait_messages(ADDR, 1)), 1, t.tail_log())

    def test_ordinary_user_cannot_switch(self):
        t = Tern(extra='run_as = "root"', run_as=(self.pw.pw_uid, self.pw.pw_gid))
        self.addCleanup(t.cleanup)
        r = subprocess.run([TERN_BIN, "serve", "--config", t.config_path], capture_output=True,
                           text=True, timeout=15, user=self.pw.pw_uid, group=self.pw.pw_gid,
                           extra_groups=[])
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"but tern was started as user {USER}", r.stderr)
        self.assertIn("only root can switch users", r.stderr)


if __name__ == "__main__":
    main()
