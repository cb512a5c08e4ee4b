"""Starts the real tern binary for integration tests and cleans up after it.

Every server runs on loopback ports picked at start, with its own data dir
in a temp directory, and is stopped (SIGTERM, then SIGKILL) by the test.
Use as a context manager:

    with Tern(domains=["example.test"]) as t:
        smtplib.SMTP("127.0.0.1", t.port("smtp"))
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

TERN_BIN = os.environ.get("TERN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "debug", "tern")


_GIVEN_PORTS = set()  # every port free_port() returned in this process


def free_port(host="127.0.0.1"):
    """A loopback port nothing listens on, never the same one twice in a process.

    The kernel may hand out the port it just gave for a closed socket again:
    a server's three listeners once got two equal ports that way ('is used by
    an earlier listener'), so ports already given are skipped.
    """
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


def wait_port(host, port, timeout=10.0):
    deadline = time.time() + timeout
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    while time.time() < deadline:
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_USERS_FILES = {}  # Tern.add_users: sorted((address, password), ...) -> users file


class Tern:
    """A tern server process with a generated config.

    kinds: listener kinds to start ("smtp", "submission", "submissions").
    extra: TOML text appended at top level (before the tables).
    limits / tls: dicts written as [limits] / [tls] tables.
    data_dir: reuse a data dir (e.g. to restart after a crash).
    run_as: (uid, gid) to run tern and its subcommands as another user
      (needs root); the temp directory is handed to that user. Used where a
      peer must share the files (Dovecot refuses to read mail as root).

    Started as root without run_as (CI), the config says run_as = "root":
    tern refuses to keep root without it (docs/security.md), and these tests
    are about mail, not privileges (test_privileges.py is). A run_as line in
    `extra` replaces it.
    """

    def __init__(self, domains=("example.test",), kinds=("smtp", "submission", "submissions"),
                 extra="", limits=None, tls=None, data_dir=None, host="127.0.0.1",
                 hostname="mx.example.test", accept_any_local_part=False, ports=None,
                 run_as=None):
        self.tmp = tempfile.mkdtemp(prefix="tern-it-")
        self.run_as = run_as
        # Added to the server's environment at every start, e.g.
        # SSL_CERT_FILE: a test CA that OpenSSL trusts beside the system store.
        self.env = {}
        if run_as:
            os.chown(self.tmp, *run_as)
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.host = host
        self.ports = dict(ports or {})
        for k in kinds:
            self.ports.setdefault(k, free_port(host))
        self.domains = list(domains)
        self.hostname = hostname
        self.config_path = os.path.join(self.tmp, "tern.toml")
        self.log_path = os.path.join(self.tmp, "tern.log")
        lines = [f"hostname = {toml_str(hostname)}",
                 f"data_dir = {toml_str(self.data_dir)}",
                 "domains = [" + ", ".join(toml_str(d) for d in domains) + "]",
                 f"accept_any_local_part = {'true' if accept_any_local_part else 'false'}",
                 extra]
        # DNSSEC validation is on by default with the root's trust anchor,
        # which the tests' own DNS servers cannot satisfy: off unless a test
        # asks for it (test_dane.py sets dnssec and trust_anchor).
        if "dnssec" not in extra:
            dotted = re.search(r"^dns\.", extra, re.M)  # dns.forward = ... at top level
            if "[dns]\n" in extra:
                lines[-1] = extra.replace("[dns]\n", "[dns]\ndnssec = false\n", 1)
            elif dotted:
                lines[-1] = extra[:dotted.start()] + "dns.dnssec = false\n" + extra[dotted.start():]
            else:
                self._dns_default = "[dns]\ndnssec = false"
        if os.geteuid() == 0 and not run_as and "run_as" not in extra:
            lines.insert(0, 'run_as = "root"')
        if limits:
            lines.append("[limits]")
            for k, v in limits.items():
                if isinstance(v, bool):
                    v = "true" if v else "false"
                elif isinstance(v, str):
                    v = toml_str(v)
                lines.append(f"{k} = {v}")
        if tls:
            lines.append("[tls]")
            for k, v in tls.items():
                lines.append(f"{k} = {toml_str(v)}")
        addr = f"[{host}]" if ":" in host else host
        for k, p in self.ports.items():
            lines += ["[[listener]]", f"kind = {toml_str(k)}", f"address = \"{addr}:{p}\""]
        if getattr(self, "_dns_default", None):
            lines.append(self._dns_default)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    # -- process control --
    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TERN_BIN, "serve", "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **self.env), **self._user_kwargs())
        if wait:
            for p in self.ports.values():
                try:
                    wait_port(self.host, p)
                except TimeoutError:
                    self.stop()
                    raise RuntimeError("tern did not start:\n" + self.read_log())
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        report = self.sanitizer_report()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if report:
            raise AssertionError("tern under a sanitizer reported:\n" + report)

    # What ASan, LSan or UBSan wrote into the log (a build with
    # TERN_SANITIZE; tests/CMakeLists.txt runs some tests against it), or "".
    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")

    def sanitizer_report(self):
        try:
            text = self.read_log()
        except OSError:
            return ""
        for marker in self.SANITIZER_MARKERS:
            i = text.find(marker)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- helpers --
    def port(self, kind="smtp"):
        return self.ports[kind]

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tern(self, *args, input=None, check=True):
        """Runs another tern subcommand against this config."""
        return subprocess.run([TERN_BIN, *args, "--config", self.config_path], input=input,
                              capture_output=True, text=True, check=check, timeout=60,
                              **self._user_kwargs())

    def _user_kwargs(self):
        if not self.run_as:
            return {}
        return {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}

    def add_user(self, address, password):
        self.tern("user", "add", address, "--password-stdin", input=password + "\n")

    def add_users(self, users):
        """Installs the users {address: password}, replacing <data_dir>/users.
        The file is made by `tern user add` once per distinct set in this
        process and copied afterwards: argon2id is slow on purpose."""
        key = tuple(sorted(users.items()))
        if key not in _USERS_FILES:
            scratch = Tern(domains=self.domains, kinds=(), ports={"smtp": 1})
            try:
                for address, password in users.items():
                    scratch.add_user(address, password)
                with open(os.path.join(scratch.data_dir, "users"), "rb") as f:
                    _USERS_FILES[key] = f.read()
            finally:
                scratch.cleanup()
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        path = os.path.join(self.data_dir, "users")
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(_USERS_FILES[key])
        if self.run_as:
            os.chown(self.data_dir, *self.run_as)
            os.chown(path + ".tmp", *self.run_as)
        os.replace(path + ".tmp", path)

    def cert_path(self):
        return os.path.join(self.data_dir, "tls", "cert.pem")

    def maildir(self, address):
        local, domain = address.lower().split("@")
        return os.path.join(self.data_dir, "mail", domain, local.split("+")[0])

    def messages(self, address):
        """Contents (bytes) of every message in the Maildir's new/ and cur/."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(address), sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def wait_messages(self, address, count, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages(address)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.messages(address)

    def queue_files(self):
        d = os.path.join(self.data_dir, "queue", "msg")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def queue_tmp_files(self):
        """Entries of queue/tmp (messages being received, or left by a crash)."""
        d = os.path.join(self.data_dir, "queue", "tmp")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def wait_queue_empty(self, timeout=10.0):
        """Waits until queue/msg holds nothing; returns what is left (empty on success)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.queue_files():
                return []
            time.sleep(0.05)
        return self.queue_files()

    def assert_running(self):
        """Raises AssertionError, with the log tail, if the server exited
        by itself (a crash shows as a negative status: -6 is SIGABRT)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"tern exited unexpectedly with status {self.proc.returncode}"
                                 f"\n{self.tail_log()}")

    def tail_log(self, lines=60):
        """The last lines of the server's log, for failure messages."""
        tail = self.read_log().splitlines()[-lines:]
        return "--- tern log (tail) ---\n" + "\n".join(tail)

    def wait_log(self, needle, timeout=10.0):
        """Waits until `needle` (str) appears in the log; True if it did."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.read_log():
                return True
            time.sleep(0.05)
        return needle in self.read_log()

    def write_aliases(self, text):
        """Writes <data_dir>/aliases (before start, or picked up on change)."""
        os.makedirs(self.data_dir, exist_ok=True)
        path = os.path.join(self.data_dir, "aliases")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        if self.run_as:
            os.chown(self.data_dir, *self.run_as)
            os.chown(path, *self.run_as)
        return path

    def ssl_context(self, check_hostname=True):
        """A client context that trusts only the generated self-signed cert
        (whose subjectAltName is DNS:<hostname>, DNS:localhost)."""
        ctx = ssl.create_default_context(cafile=self.cert_path())
        ctx.check_hostname = check_hostname
        return ctx

    def wait_queue(self, count, timeout=10.0):
        """Waits until queue/msg holds `count` committed messages (ID.done
        files not counted); returns their names."""
        deadline = time.time() + timeout
        while True:
            msgs = [f for f in self.queue_files() if not f.endswith(".done")]
            if len(msgs) == count or time.time() >= deadline:
                return msgs
            time.sleep(0.05)

    # -- queue and signals (for the relay tests) --
    def queue(self, *args, check=True):
        """Runs `tern queue ARGS` against this server; returns the CompletedProcess."""
        r = self.tern("queue", *args, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"tern queue {' '.join(args)}: exit {r.returncode}\n"
                                 f"{r.stdout}{r.stderr}\n{self.tail_log()}")
        return r

    def queue_list(self):
        """`tern queue list --json`: a list of dicts (id, sender, pending, last_error, ...)."""
        import json
        return json.loads(self.queue("list", "--json").stdout)

    def queue_flush(self, qid=None):
        """`tern queue flush [ID]`: pending recipients are tried now."""
        return self.queue("flush", *([qid] if qid else []))

    def reload(self, timeout=10.0):
        """SIGHUP; waits until the server says it reloaded (or failed to)."""
        def ends():
            log = self.read_log()
            return log.count("SIGHUP: configuration reloaded") + log.count("SIGHUP: reload failed")
        before = ends()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + timeout
        while time.time() < deadline and ends() <= before:
            time.sleep(0.05)


def root_opt_in():
    """The top-level config line that lets tern keep root when the tests run
    as root (CI): tern refuses root without it (docs/security.md). For
    tests that write their own config files; Tern adds it itself."""
    return 'run_as = "root"\n' if os.geteuid() == 0 else ""


def unreachable_dns(timeout=1):
    """TOML for a [dns] table whose only server never answers (a closed
    loopback port): every lookup fails temporarily after `timeout`
    seconds, so mail to any remote domain stays queued. (Names under
    .invalid are NXDOMAIN inside the resolver itself, whatever the server.)"""
    port = free_port()  # closed again: nothing listens there
    return f'[dns]\nforward = ["127.0.0.1@{port}"]\ntimeout = {timeout}\n'


def dns_toml(dns, timeout=2, dnssec=False):
    """TOML for a [dns] table whose only server is `dns` (a started
    DnsServer or DnssecDns, its .forward). dnssec=True: validation on, with
    the DnssecDns's trust anchor (dnssec_zone.py); otherwise Tern turns
    validation off itself."""
    text = f'[dns]\nforward = ["{dns.forward}"]\ntimeout = {timeout}\n'
    if dnssec:
        text += f'dnssec = true\ntrust_anchor = "{dns.trust_anchor}"\n'
    return text


def relay_toml(port, connect_timeout="2s", more="", retry="5m"):
    """TOML for a [relay] table sending to MX hosts at `port` (the test
    peers' common port), with `more` lines of that table, then a [queue]
    table retrying once after `retry` (none if retry is None): a deferred
    message stays queued for the whole test."""
    text = f"[relay]\nport = {port}\n"
    if connect_timeout:
        text += f'connect_timeout = "{connect_timeout}"\n'
    text += more
    if retry:
        text += f'[queue]\nretry = ["{retry}"]\n'
    return text


def fail_if_ci(why, what="peers"):
    """For a test whose peers are not installed (`why` says which, None
    when all are): skipped on a dev machine, a failure under CI (CI set),
    where scripts/deps.sh installs them all."""
    if why:
        if os.environ.get("CI"):
            raise AssertionError(f"{what} missing under CI: {why}")
        raise unittest.SkipTest(why)


class ClassServers:
    """Mixin for a TestCase whose servers start once for the whole class:

        class T(ClassServers, unittest.TestCase):
            @classmethod
            def _start(cls):
                cls.tmp = cls.tempdir("tern-x-")
                cls.dns = DnsServer(...)
                cls.cleanups.append(cls.dns.cleanup)
                cls.dns.start()

    setUpClass runs _start; each piece registers how it is stopped in
    cls.cleanups as soon as it exists. If _start fails, what it started is
    stopped at once and _start's error is raised; else tearDownClass stops
    it all, in reverse order. Every cleanup runs even if one raises; the
    first error is raised after (a sanitizer report from Tern.cleanup).
    """
    cleanups = []

    @classmethod
    def setUpClass(cls):
        cls.cleanups = []
        try:
            cls._start()
        except BaseException:
            try:
                cls._stop()
            except Exception:  # noqa: BLE001  the start's error is the one to report
                pass
            raise

    @classmethod
    def _start(cls):
        raise NotImplementedError

    @classmethod
    def _stop(cls):
        cleanups, cls.cleanups = cls.cleanups, []
        error = None
        for c in reversed(cleanups):
            try:
                c()
            except Exception as e:  # noqa: BLE001  the others still stop
                error = error or e
        if error:
            raise error

    @classmethod
    def tearDownClass(cls):
        cls._stop()

    @classmethod
    def tempdir(cls, prefix):
        """A temp directory, removed when the class stops."""
        tmp = tempfile.mkdtemp(prefix=prefix)
        cls.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
        return tmp


def main():
    unittest.main(verbosity=2)
