"""The Debian package (scripts/package.sh), installed into a throwaway root.

scripts/package.sh packages the binary this build made (--binary: no second,
release build) and runs lintian on it, whose errors fail the build. The
package is then installed with the real dpkg, maintainer scripts and all,
into a copy-on-write view of this machine: an overlay whose lower layer is /
and whose upper layer is a tmpfs, in a private mount namespace (the test
re-runs itself under `unshare --mount`), entered with chroot. Everything the
install writes (dpkg's database, /etc/passwd, /var/lib/tern) lands in the
tmpfs and vanishes with the namespace; the machine's own packages and users
are never touched. Checked there:
  - dpkg's record: installed, at CMakeLists.txt's version; the conffile flag
    of /etc/tern/tern.toml; the Provides/Conflicts of mail-transport-agent
    (a machine with another MTA, e.g. the postfix the tests use, sees the
    conflict, which this test then forces);
  - contents and permissions: the binary, /usr/sbin/sendmail, the unit, the
    conffile, man pages, copyright, changelog;
  - postinst: the system user and group tern (no login shell), /var/lib/tern
    owned by it with mode 0750, the unit enabled (multi-user.target.wants);
  - the installed binary runs (`tern --version`), and the unit's ExecStart
    serves with the packaged /etc/tern/tern.toml as the unit would run it
    (user tern, CAP_NET_BIND_SERVICE ambient, a NOTIFY_SOCKET) on the real
    ports 25, 465 and 587, in a private network namespace that has only its
    own loopback: READY=1 comes and port 25 answers 220;
  - purge (postrm): /etc/tern and /var/lib/tern are gone, the user stays.
Needs root (mounts, chroot): skipped on a developer's machine, a failure
when CI is set.
"""
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

from tern_harness import TERN_BIN
from test_service import NotifySocket, need, parse_unit, unit_value

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
NAMESPACE_FLAG = "TERN_PACKAGE_TEST_IN_NAMESPACE"


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"^project\(tern VERSION ([0-9.]+)", f.read(), re.M).group(1)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300),
                          **kw)


@unittest.skipUnless(os.geteuid() == 0 or os.environ.get("CI"),
                     "needs root (overlay mount and chroot for the throwaway root)")
class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert os.geteuid() == 0, "CI runs the integration tests as root; this test needs it"
        assert os.environ.get(NAMESPACE_FLAG), "run in a private mount namespace (see main)"
        for tool in ("dpkg-deb", "pandoc", "lintian", "setpriv", "unshare"):
            need(tool)
        # The .deb is outside the overlay's tmpfs: the chroot sees it through
        # the lower layer (/).
        cls.out = tempfile.mkdtemp(prefix="tern-pkg-")
        r = run(["bash", os.path.join(SRC, "scripts", "package.sh"), "--binary", TERN_BIN,
                 "--out", cls.out, "--lintian"], timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"package.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        cls.deb = r.stdout.strip().splitlines()[-1]
        cls.lintian = r.stderr
        cls.version = project_version()

        cls.host_had_data_dir = os.path.exists("/var/lib/tern")
        cls.work = tempfile.mkdtemp(prefix="tern-root-")
        subprocess.run(["mount", "-t", "tmpfs", "tern-test", cls.work], check=True)
        for d in ("upper", "work", "merged"):
            os.mkdir(os.path.join(cls.work, d))
        cls.root = os.path.join(cls.work, "merged")
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/,upperdir={cls.work}/upper,workdir={cls.work}/work",
                        cls.root], check=True)
        subprocess.run(["mount", "--rbind", "/dev", cls.root + "/dev"], check=True)
        subprocess.run(["mount", "-t", "proc", "proc", cls.root + "/proc"], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "run", cls.root + "/run"], check=True)

        # The install, as an administrator would run it (apt-get install
        # ./tern.deb ends in this dpkg -i once the dependencies are there).
        args = ["dpkg", "-i", cls.deb]
        mta = cls.installed_mta()
        if mta:
            cls.conflict = run(cls.chroot_cmd(args))
            args = ["dpkg", "-i", "--force-conflicts", "--force-overwrite", cls.deb]
        cls.install = run(cls.chroot_cmd(args))
        cls.mta = mta

    @classmethod
    def tearDownClass(cls):
        # The mounts would end with the namespace anyway; leave no
        # directory or .deb behind on the machine.
        subprocess.run(["umount", "--recursive", "--lazy", cls.root])
        subprocess.run(["umount", "--lazy", cls.work])
        shutil.rmtree(cls.work, ignore_errors=True)
        shutil.rmtree(cls.out, ignore_errors=True)

    @classmethod
    def chroot_cmd(cls, args):
        return ["chroot", cls.root] + args

    @classmethod
    def installed_mta(cls):
        """An installed package of the machine providing mail-transport-agent, or None."""
        r = run(cls.chroot_cmd(["dpkg-query", "-W", "-f",
                                "${Package}\t${Provides}\t${db:Status-Abbrev}\n"]))
        for line in r.stdout.splitlines():
            name, provides, status = (line.split("\t") + ["", ""])[:3]
            if "mail-transport-agent" in provides and status.startswith("ii"):
                return name
        return None

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    def query(self, fmt):
        r = run(self.chroot_cmd(["dpkg-query", "-W", "-f", fmt, "tern"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_1_installed(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout + self.install.stderr)
        self.assertEqual(self.query("${db:Status-Abbrev}|${Version}"),
                         f"ii |{self.version}")
        self.assertTrue(os.path.basename(self.deb).startswith(f"tern_{self.version}_"))
        self.assertNotIn("E: ", self.lintian)
        print("\nlintian said:\n" + (self.lintian.strip() or "(nothing)"))

    def test_2_mail_transport_agent(self):
        fields = self.query("${Provides}|${Conflicts}|${Replaces}")
        self.assertEqual(fields, "mail-transport-agent|" * 2 + "mail-transport-agent")
        # The DNSSEC trust anchor the default config reads (docs/tls.md).
        depends = [d.strip() for d in self.query("${Depends}").split(",")]
        self.assertIn("dns-root-data", depends)
        print(f"\nanother MTA installed on this machine: {self.mta or 'none'}")
        if self.mta:
            # dpkg refused to install a second MTA until forced.
            self.assertNotEqual(self.conflict.returncode, 0)
            self.assertIn("conflicts with", self.conflict.stderr + self.conflict.stdout)

    def test_3_conffile(self):
        conffiles = self.query("${Conffiles}")
        self.assertRegex(conffiles, r"^\s*/etc/tern/tern.toml [0-9a-f]{32}\s*$")
        with open(self.path("/etc/tern/tern.toml")) as f:
            text = f.read()
        self.assertIn('data_dir = "/var/lib/tern"', text)
        self.assertGreater(text.count("\n#"), 10, "a commented configuration")

    def test_4_contents_and_modes(self):
        def mode(p):
            st = os.lstat(self.path(p))
            return stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        self.assertEqual(mode("/usr/sbin/tern"), (stat.S_IFREG, 0o755, 0, 0))
        for p in ("/lib/systemd/system/tern.service", "/etc/tern/tern.toml",
                  "/usr/share/man/man8/tern.8.gz", "/usr/share/man/man5/tern.toml.5.gz",
                  "/usr/share/doc/tern/copyright", "/usr/share/doc/tern/changelog.gz"):
            self.assertEqual(mode(p), (stat.S_IFREG, 0o644, 0, 0), p)
        self.assertEqual(os.readlink(self.path("/usr/sbin/sendmail")), "tern")
        self.assertEqual(os.readlink(self.path("/usr/lib/sendmail")), "../sbin/sendmail")
        files = run(self.chroot_cmd(["dpkg", "-L", "tern"])).stdout.split()
        for p in ("/usr/sbin/tern", "/usr/sbin/sendmail", "/lib/systemd/system/tern.service",
                  "/etc/tern/tern.toml", "/usr/share/man/man8/tern.8.gz"):
            self.assertIn(p, files)
        # The man pages render, with their names.
        for page, name in (("/usr/share/man/man8/tern.8.gz", "TERN"),
                           ("/usr/share/man/man5/tern.toml.5.gz", "TERN.TOML")):
            r = run(["zcat", self.path(page)])
            self.assertIn(f'.TH "{name}"', r.stdout)
            self.assertIn(".SH NAME", r.stdout)
        with open(self.path("/lib/systemd/system/tern.service")) as f:
            with open(os.path.join(SRC, "packaging", "tern.service")) as g:
                self.assertEqual(f.read(), g.read())

    def test_5_postinst_user_and_data_dir(self):
        users = {l.split(":")[0]: l.split(":") for l in self.read("/etc/passwd").splitlines()}
        self.assertIn("tern", users)
        _, _, uid, gid, _, home, shell = users["tern"]
        self.assertLess(int(uid), 1000, "a system user")
        self.assertEqual(shell.strip(), "/usr/sbin/nologin")
        self.assertEqual(home, "/var/lib/tern")
        groups = {l.split(":")[0]: l.split(":") for l in self.read("/etc/group").splitlines()}
        self.assertEqual(groups["tern"][2], gid)
        st = os.stat(self.path("/var/lib/tern"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (int(uid), int(gid), 0o750))
        link = self.path("/etc/systemd/system/multi-user.target.wants/tern.service")
        self.assertEqual(os.readlink(link), "/lib/systemd/system/tern.service")
        # Nothing reached the machine itself.
        if not self.host_had_data_dir:
            self.assertFalse(os.path.exists("/var/lib/tern"))

    def test_6_binary_runs_tern_version(self):
        r = run(self.chroot_cmd(["/usr/sbin/tern", "--version"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), self.version)

    def test_6_unit_verifies_as_installed(self):
        # The installed unit, its binary, /bin/kill and its man pages
        # (Documentation=man:...) as systemd-analyze finds them in the root.
        need("systemd-analyze")
        man = ["--man=yes"] if shutil.which("man") else ["--man=no"]
        r = run(self.chroot_cmd(["systemd-analyze", "verify"] + man +
                                ["/lib/systemd/system/tern.service"]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "")

    def test_7_unit_serves_with_the_packaged_config(self):
        self.serve_as_the_unit(self.greets_on_25)

    def test_7b_tern_init_then_the_unit_delivers(self):
        # The deployment of the README: install, tern init, start. init
        # replaces the package's placeholder config without --force.
        r = run(self.chroot_cmd(["tern", "init", "example.test", "--hostname",
                                 "mx.example.test"]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("MX", r.stdout)
        conf = self.read("/etc/tern/tern.toml")
        self.assertNotIn("tern init may replace this file", conf)
        self.assertIn("example.test", conf)
        key = self.path("/var/lib/tern/dkim/example.test")
        self.assertTrue(os.path.isdir(key), r.stdout)
        r = run(self.chroot_cmd(["tern", "user", "add", "me@example.test", "--password-stdin",
                                 "--config", "/etc/tern/tern.toml"]), input="secret-pw\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.serve_as_the_unit(self.delivers_on_25)
        new = self.path("/var/lib/tern/mail/example.test/me/new")
        self.assertEqual(len(os.listdir(new)), 1, os.listdir(self.path("/var/lib/tern/mail")))

    def greets_on_25(self, pid):
        probe = ("import socket; s = socket.create_connection(('127.0.0.1', 25), 5); "
                 "print(s.recv(200).decode())")
        return run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", probe])

    def delivers_on_25(self, pid):
        probe = ("import smtplib; s = smtplib.SMTP('127.0.0.1', 25, timeout=10); "
                 "s.sendmail('someone@sender.test', ['me@example.test'], "
                 "'From: someone@sender.test\\r\\nSubject: hi\\r\\n\\r\\nhello\\r\\n'); "
                 "s.quit(); print('220 delivered')")
        return run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", probe])

    def serve_as_the_unit(self, check):
        unit = parse_unit(self.path("/lib/systemd/system/tern.service"))
        argv = shlex.split(unit_value(unit, "ExecStart"))
        caps = ",".join("+" + c.lower().removeprefix("cap_")
                        for c in unit_value(unit, "AmbientCapabilities").split())
        notify = NotifySocket(parent=self.path("/run"))
        self.addCleanup(notify.close)
        inside = "/run/" + os.path.relpath(notify.path, self.path("/run"))
        # A private network namespace: ports 25, 465 and 587 of its own
        # loopback, nothing of the machine's.
        script = ("ip link set lo up && exec chroot " + shlex.quote(self.root) +
                  f" setpriv --reuid=tern --regid=tern --init-groups --inh-caps={caps}"
                  f" --ambient-caps={caps} --bounding-set=-all,{caps} --no-new-privs -- " +
                  " ".join(shlex.quote(a) for a in argv))
        log = open(os.path.join(self.out, "serve.log"), "w+")
        self.addCleanup(log.close)
        p = subprocess.Popen(["unshare", "--net", "sh", "-c", script], stdout=log,
                             stderr=subprocess.STDOUT,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                  "NOTIFY_SOCKET": inside})
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))

        def log_text():
            log.seek(0)
            return log.read()
        try:
            notify.wait("READY", timeout=60)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{log_text()}")
        # Port 25 in tern's namespace (the namespace of its pid).
        r = check(p.pid)
        self.assertTrue(r.stdout.startswith("220 "), r.stdout + r.stderr + log_text())
        n = len(notify.messages)
        p.send_signal(signal.SIGTERM)
        notify.wait("STOPPING", after=n)
        self.assertEqual(p.wait(60), 0, log_text())

    def test_8_purge(self):
        r = run(self.chroot_cmd(["dpkg", "--purge", "tern"]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.path("/etc/tern")))
        # Everything of the data dir goes but the mail test_7b delivered:
        # users' mailboxes are not the package's to delete (postrm).
        self.assertEqual(os.listdir(self.path("/var/lib/tern")), ["mail"])
        self.assertIn("kept the mailboxes", r.stderr)
        self.assertEqual(len(os.listdir(self.path("/var/lib/tern/mail/example.test/me/new"))), 1)
        self.assertFalse(os.path.lexists(
            self.path("/etc/systemd/system/multi-user.target.wants/tern.service")))
        self.assertFalse(os.path.exists(self.path("/usr/sbin/tern")))
        self.assertIn("tern:", self.read("/etc/passwd"), "system users stay")


def main():
    if os.geteuid() == 0 and not os.environ.get(NAMESPACE_FLAG):
        # Mounts made for the throwaway root die with this private namespace.
        env = dict(os.environ, **{NAMESPACE_FLAG: "1"})
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private",
                               sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
