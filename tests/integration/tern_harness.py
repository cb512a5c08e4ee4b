"""Starts the real tern binary for integration tests and cleans up after it.

Every server runs on loopback ports picked at start, with its own data dir
in a temp directory, and is stopped (SIGTERM, then SIGKILL) by the test.
Use as a context manager:

    with Tern(domains=["example.test"]) as t:
        smtplib.SMTP("127.0.0.1", t.port("smtp"))
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

TERN_BIN = os.environ.get("TERN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "debug", "tern")


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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


class Tern:
    """A tern server process with a generated config.

    kinds: listener kinds to start ("smtp", "submission", "submissions").
    extra: TOML text appended at top level (before the tables).
    limits / tls: dicts written as [limits] / [tls] tables.
    data_dir: reuse a data dir (e.g. to restart after a crash).
    """

    def __init__(self, domains=("example.test",), kinds=("smtp", "submission", "submissions"),
                 extra="", limits=None, tls=None, data_dir=None, host="127.0.0.1",
                 hostname="mx.example.test", accept_any_local_part=False, ports=None):
        self.tmp = tempfile.mkdtemp(prefix="tern-it-")
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
        if limits:
            lines.append("[limits]")
            for k, v in limits.items():
                lines.append(f"{k} = {toml_str(v) if isinstance(v, str) else v}")
        if tls:
            lines.append("[tls]")
            for k, v in tls.items():
                lines.append(f"{k} = {toml_str(v)}")
        addr = f"[{host}]" if ":" in host else host
        for k, p in self.ports.items():
            lines += ["[[listener]]", f"kind = {toml_str(k)}", f"address = \"{addr}:{p}\""]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    # -- process control --
    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TERN_BIN, "serve", "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT)
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
        shutil.rmtree(self.tmp, ignore_errors=True)

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
                              capture_output=True, text=True, check=check, timeout=60)

    def add_user(self, address, password):
        self.tern("user", "add", address, "--password-stdin", input=password + "\n")

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


def main():
    unittest.main(verbosity=2)
