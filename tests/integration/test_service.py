"""The systemd unit (packaging/tern.service) and the service notifications.

The test machines run no systemd (PID 1 is not systemd), so:
  - `systemd-analyze verify` checks the unit as systemd would load it, and
    `systemd-analyze security --offline=true` rates its sandbox: the rating
    must be systemd's "OK" or better (the word the tool prints, not a number
    of ours). Where /usr/sbin/tern is not installed, verify reads a copy of
    the unit whose ExecStart names the tested binary instead (nothing else
    differs).
  - The unit's own ExecStart command line is started as the unit would start
    it: parsed from the unit, as its User (when the tests run as root; the
    account "nobody" stands in when there is no user "tern" on the machine),
    with its AmbientCapabilities, CapabilityBoundingSet and NoNewPrivileges
    (util-linux setpriv sets them, as systemd does), a clean environment and
    a NOTIFY_SOCKET this test owns (an AF_UNIX datagram socket, as systemd's).
    The only change is the config: `--config` names a config on free
    loopback ports, and WATCHDOG_USEC is short so the pings come quickly.
    The test asserts READY=1 comes once every port accepts (and root is gone),
    WATCHDOG=1 pings keep coming, SIGHUP brings RELOADING=1 then READY=1,
    SIGTERM brings STOPPING=1 and a clean exit. As root it also binds a port
    below 1024 as the unprivileged user through the ambient capability, and
    checks that without the capability the same start fails.
  - Started as root with run_as (the root-then-drop path), READY=1 comes only
    once the process runs as that user.
  - Without NOTIFY_SOCKET nothing is sent and nothing changes (every other
    integration test).
"""
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from tern_harness import TERN_BIN, Tern, main

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.environ.get("TERN_UNIT") or os.path.join(HERE, "..", "..", "packaging",
                                                   "tern.service")
IN_CI = bool(os.environ.get("CI"))


def need(tool):
    """The path of `tool`; skips without it on a dev machine, fails in CI."""
    path = shutil.which(tool)
    if not path:
        if IN_CI:
            raise AssertionError(f"{tool} is missing (CI must have it: scripts/deps.sh)")
        raise unittest.SkipTest(f"{tool} not installed")
    return path


def parse_unit(path):
    """{section: [(key, value), ...]} of a unit file (keys may repeat)."""
    out, section = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                out.setdefault(section, [])
                continue
            key, _, value = line.partition("=")
            out[section].append((key.strip(), value.strip()))
    return out


def unit_value(unit, key, section="Service"):
    values = [v for k, v in unit[section] if k == key]
    return values[-1] if values else None


def seconds(value):
    """A systemd time span like "60s", "2min", "500ms" or "30", in seconds."""
    m = re.fullmatch(r"(\d+)\s*(ms|s|min)?", value)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "min": 60, None: 1}[m.group(2)]


class NotifySocket:
    """The NOTIFY_SOCKET end systemd would hold: each datagram becomes a dict
    of its KEY=VALUE lines, kept in order with its arrival time."""

    def __init__(self, parent=None):
        self.dir = tempfile.mkdtemp(prefix="tern-notify-", dir=parent)
        os.chmod(self.dir, 0o711)  # the service's user must reach the socket
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # systemd's /run/systemd/notify is 0777
        self.messages = []

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _receive(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.messages.append((time.monotonic(), fields))

    def wait(self, key, value="1", after=0, timeout=20.0):
        """The index of the first message from index `after` on with
        key=value, waiting for it; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(after, len(self.messages)):
                if self.messages[i][1].get(key) == value:
                    return i
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key}={value} within {timeout}s; got "
                                     f"{[m for _, m in self.messages[after:]]}")
            self._receive(left)


def uids_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(v) for v in line.split()[1:]]
    return []


def accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def free_privileged_port():
    """A port below 1024 that nothing on loopback listens on (as root)."""
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise unittest.SkipTest("no free port below 1024 on 127.0.0.1")


class UnitFileTest(unittest.TestCase):
    def setUp(self):
        self.analyze = need("systemd-analyze")
        self.unit = parse_unit(UNIT)

    def unit_for_verify(self):
        """The unit itself, or, without /usr/sbin/tern, a copy naming TERN_BIN."""
        exec_start = shlex.split(unit_value(self.unit, "ExecStart"))
        if os.access(exec_start[0], os.X_OK):
            return UNIT
        d = tempfile.mkdtemp(prefix="tern-unit-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(UNIT) as f:
            text = f.read()
        copy = os.path.join(d, "tern.service")
        with open(copy, "w") as f:
            f.write(text.replace("ExecStart=" + exec_start[0],
                                 "ExecStart=" + os.path.abspath(TERN_BIN)))
        return copy

    def test_verify_passes(self):
        # --man=no: the man pages are the package's (test_package.py).
        r = subprocess.run([self.analyze, "verify", "--man=no", self.unit_for_verify()],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", "verify found something to say")

    def test_security_rating_is_ok_or_better(self):
        r = subprocess.run([self.analyze, "security", "--offline=true", UNIT],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"Overall exposure level for tern\.service: ([\d.]+) (\w+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        # systemd-analyze's own scale, best first.
        scale = ["SAFE", "OK", "MEDIUM", "EXPOSED", "UNSAFE"]
        self.assertIn(m.group(2), scale, r.stdout)
        self.assertLessEqual(scale.index(m.group(2)), scale.index("OK"), r.stdout[-3000:])
        print(f"systemd-analyze security: {m.group(1)} {m.group(2)}")

    def test_unit_is_what_the_package_and_docs_say(self):
        s = dict(self.unit["Service"])
        self.assertEqual(s["Type"], "notify")
        self.assertEqual(s["ExecReload"], "/bin/kill -HUP $MAINPID")
        self.assertEqual(shlex.split(s["ExecStart"]),
                         ["/usr/sbin/tern", "serve", "--config", "/etc/tern/tern.toml"])
        self.assertGreater(seconds(s["WatchdogSec"]), 0)
        self.assertEqual(s["User"], "tern")
        self.assertEqual(s["AmbientCapabilities"], "CAP_NET_BIND_SERVICE")
        self.assertIn("/var/lib/tern", s["ReadWritePaths"].split())


class ServiceRunTest(unittest.TestCase):
    """The unit's ExecStart, started as the unit would start it."""

    WATCHDOG_USEC = 400000  # pings every 0.2 s

    def setUp(self):
        self.unit = parse_unit(UNIT)
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)
        self.procs = []
        self.addCleanup(self.stop_all)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def account(self):
        """The unit's User, or "nobody" where the machine has no such user."""
        name = unit_value(self.unit, "User")
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return pwd.getpwnam("nobody")

    def command(self, config_path, with_caps=True):
        """The unit's ExecStart with our config, wrapped in setpriv as root."""
        argv = shlex.split(unit_value(self.unit, "ExecStart"))
        self.assertEqual(argv[:3], ["/usr/sbin/tern", "serve", "--config"])
        argv = [os.path.abspath(TERN_BIN)] + argv[1:3] + [config_path]
        if os.geteuid() != 0:
            return argv  # an ordinary user can neither switch users nor add caps
        pw = self.account()
        caps = [c.lower().removeprefix("cap_")
                for c in unit_value(self.unit, "AmbientCapabilities").split()]
        bounding = [c.lower().removeprefix("cap_")
                    for c in unit_value(self.unit, "CapabilityBoundingSet").split()]
        wrap = [need("setpriv"), f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
                "--bounding-set=-all," + ",".join("+" + c for c in bounding)]
        if with_caps:
            wrap += ["--inh-caps=" + ",".join("+" + c for c in caps),
                     "--ambient-caps=" + ",".join("+" + c for c in caps)]
        if unit_value(self.unit, "NoNewPrivileges") == "yes":
            wrap.append("--no-new-privs")
        return wrap + ["--"] + argv

    def environment(self, watchdog=True):
        pw = self.account() if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name,
               "NOTIFY_SOCKET": self.notify.path}
        if watchdog:
            env["WATCHDOG_USEC"] = str(self.WATCHDOG_USEC)
        return env

    def server(self, **kw):
        if os.geteuid() == 0:
            pw = self.account()
            kw.setdefault("run_as", (pw.pw_uid, pw.pw_gid))  # owns the temp dir
        t = Tern(accept_any_local_part=True, **kw)
        self.addCleanup(t.cleanup)
        os.chmod(t.tmp, 0o711)
        return t

    def launch(self, t, cmd, env):
        log = open(t.log_path, "ab")
        self.addCleanup(log.close)
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def assertReadyWhenServing(self, t, p, want_uid):
        i = self.notify.wait("READY")
        # At READY every listener accepts, and the process runs as the user.
        for kind, port in t.ports.items():
            self.assertTrue(accepts(port), f"{kind} port {port} refused at READY\n{t.tail_log()}")
        self.assertEqual(uids_of(p.pid), [want_uid] * 4)
        status = self.notify.messages[i][1].get("STATUS", "")
        for kind, port in t.ports.items():
            self.assertIn(f"{kind}=127.0.0.1:{port}", status)
        return i

    def test_notify_watchdog_reload_and_stop(self):
        t = self.server()
        want_uid = self.account().pw_uid if os.geteuid() == 0 else os.geteuid()
        p = self.launch(t, self.command(t.config_path), self.environment())
        i = self.assertReadyWhenServing(t, p, want_uid)

        # Pings keep coming from the loop, about every WATCHDOG_USEC / 2.
        start = time.monotonic()
        for _ in range(4):
            i = self.notify.wait("WATCHDOG", after=i + 1, timeout=5)
        self.assertLess(time.monotonic() - start, 4 * self.WATCHDOG_USEC / 1e6 + 2)

        # SIGHUP: RELOADING=1, then READY=1 again.
        n = len(self.notify.messages)
        p.send_signal(signal.SIGHUP)
        r = self.notify.wait("RELOADING", after=n)
        self.notify.wait("READY", after=r + 1)
        self.assertTrue(t.wait_log("SIGHUP: configuration reloaded"), t.tail_log())
        self.assertIn("MONOTONIC_USEC", self.notify.messages[r][1])

        # A config that does not load: RELOADING=1, then READY=1 saying so,
        # and the old configuration serves on.
        with open(t.config_path, "a") as f:
            f.write("no_such_key = 1\n")
        n = len(self.notify.messages)
        p.send_signal(signal.SIGHUP)
        r = self.notify.wait("RELOADING", after=n)
        i = self.notify.wait("READY", after=r + 1)
        self.assertTrue(self.notify.messages[i][1]["STATUS"].startswith("reload failed"),
                        self.notify.messages[i])
        self.assertTrue(t.wait_log("SIGHUP: reload failed"), t.tail_log())

        # Mail still flows as the service's user.
        self.assertTrue(accepts(t.port("smtp")))

        # SIGTERM: STOPPING=1, and a clean exit.
        n = len(self.notify.messages)
        p.send_signal(signal.SIGTERM)
        self.notify.wait("STOPPING", after=n)
        self.assertEqual(p.wait(30), 0, t.tail_log())
        self.assertIn("watchdog: pinging the service manager every 200ms", t.read_log())

    def test_no_watchdog_without_watchdog_usec(self):
        t = self.server()
        p = self.launch(t, self.command(t.config_path), self.environment(watchdog=False))
        i = self.notify.wait("READY")
        n = len(self.notify.messages)
        p.send_signal(signal.SIGTERM)
        self.notify.wait("STOPPING", after=n)
        self.assertEqual(p.wait(30), 0, t.tail_log())
        self.assertEqual(self.notify.messages[i][1].get("READY"), "1")
        self.assertFalse(any("WATCHDOG" in m for _, m in self.notify.messages),
                         self.notify.messages)

    @unittest.skipUnless(os.geteuid() == 0 or IN_CI, "binding below 1024 needs root to set up")
    def test_privileged_port_through_the_ambient_capability(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root")
        port = free_privileged_port()
        t = self.server(kinds=("smtp",), ports={"smtp": port})
        # Without the capability, the unprivileged user cannot bind it.
        p = self.launch(t, self.command(t.config_path, with_caps=False),
                        self.environment(watchdog=False))
        self.assertNotEqual(p.wait(30), 0)
        self.assertIn("Permission denied", t.read_log())
        self.assertEqual(self.notify.messages, [])
        # With it (as the unit gives it), it binds and serves as that user.
        p = self.launch(t, self.command(t.config_path), self.environment(watchdog=False))
        self.assertReadyWhenServing(t, p, self.account().pw_uid)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            self.assertTrue(s.recv(512).startswith(b"220 "))
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(30), 0, t.tail_log())

    @unittest.skipUnless(os.geteuid() == 0 or IN_CI, "the root-then-drop path needs root")
    def test_root_then_drop_is_ready_only_after_the_drop(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root")
        pw = pwd.getpwnam("nobody")
        t = self.server(run_as=(pw.pw_uid, pw.pw_gid), extra='run_as = "nobody"')
        argv = [os.path.abspath(TERN_BIN), "serve", "--config", t.config_path]
        p = self.launch(t, argv, self.environment(watchdog=False))
        self.assertReadyWhenServing(t, p, pw.pw_uid)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(30), 0, t.tail_log())


if __name__ == "__main__":
    main()
