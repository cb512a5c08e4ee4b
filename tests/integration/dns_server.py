"""A real DNS server for integration tests: Debian's unbound on a free
loopback port, serving the records a test gives it, and nothing else.

    with DnsServer(zones=["tern.test"],
                   records=["mx.tern.test. 300 IN A 192.0.2.1"],
                   servfail=["broken.test"], drop=["silent.test"]) as dns:
        ... [dns] forward = [dns.forward] ...

- zones: served as unbound "static" local zones (with an SOA): a name
  without data is NXDOMAIN, a name with data of another type is NODATA.
- records: zone-file lines (unbound local-data), e.g.
  'x.tern.test. 300 IN TXT "a" "b"'. CNAMEs are followed by the server.
- ptr: (address, name) pairs: PTR records at the reverse names, TTL 300.
- servfail: zones answered with SERVFAIL at once: delegated to a server on
  loopback, which this server refuses to query (do-not-query-localhost).
- drop: zones whose queries are dropped unanswered (local-zone "deny"),
  so the client times out.

Nothing leaves the machine: the server never forwards, and the root itself
is delegated to loopback, so a name outside the zones is a SERVFAIL.
Queries are logged (see queries()). Needs the unbound package
(scripts/deps.sh test); its system service need not and should not run.
"""
import ipaddress
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

# RFC 1035 3.2.2 / RFC 3596.
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def free_udp_tcp_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on `host` (unbound binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def query(port, name, qtype="A", host="127.0.0.1", timeout=2.0):
    """Sends one query over UDP; returns (rcode name, answer count), or
    (None, 0) if nothing came back in time."""
    qid = random.randrange(65536)
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD set
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\0" + struct.pack("!HH", TYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                data, _ = s.recvfrom(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None, 0
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                rcode = data[3] & 0xF
                return RCODES.get(rcode, str(rcode)), struct.unpack("!H", data[6:8])[0]
    return None, 0


def _quoted(s):
    """A string for unbound.conf, which has no escapes: "..." or, for text
    holding double quotes (TXT records), '...'."""
    quote = "'" if '"' in s else '"'
    if quote in s or "\n" in s:
        raise ValueError(f"cannot quote {s!r} for unbound.conf")
    return quote + s + quote


class DnsServer:
    def __init__(self, zones=(), records=(), ptr=(), servfail=(), drop=()):
        self.tmp = tempfile.mkdtemp(prefix="tern-dns-")
        self.port = free_udp_tcp_port()
        # Never queried (do-not-query-localhost), and closed anyway.
        self.dead_port = free_udp_tcp_port()
        self.conf_path = os.path.join(self.tmp, "unbound.conf")
        self.log_path = os.path.join(self.tmp, "unbound.log")
        self.zones = [z.rstrip(".") + "." for z in zones]
        lines = [
            "server:",
            f"  interface: 127.0.0.1@{self.port}",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  do-daemonize: no",
            '  chroot: ""',
            '  username: ""',
            f"  directory: {_quoted(self.tmp)}",
            f"  pidfile: {_quoted(os.path.join(self.tmp, 'unbound.pid'))}",
            f"  logfile: {_quoted(self.log_path)}",
            "  use-syslog: no",
            "  verbosity: 1",
            "  log-queries: yes",
            "  num-threads: 1",
            "  access-control: 127.0.0.0/8 allow",
            # No validation, no trust anchor, nothing fetched.
            '  module-config: "iterator"',
            # The default: loopback servers are never asked, which turns
            # the delegations below into immediate SERVFAILs.
            "  do-not-query-localhost: yes",
        ]
        for z in self.zones:
            lines.append(f"  local-zone: {_quoted(z)} static")
            lines.append("  local-data: " + _quoted(
                f"{z} 300 IN SOA ns.{z} hostmaster.{z} 1 3600 600 86400 60"))
        for r in records:
            lines.append(f"  local-data: {_quoted(r)}")
        for address, name in ptr:
            reverse = ipaddress.ip_address(address).reverse_pointer
            lines.append(f"  local-data: {_quoted(f'{reverse}. 300 IN PTR {name}.')}")
        for z in drop:
            lines.append(f"  local-zone: {_quoted(z.rstrip('.') + '.')} deny")
        for z in servfail:
            # Not answered locally (it may sit under a default zone such as test.).
            lines.append(f"  local-zone: {_quoted(z.rstrip('.') + '.')} transparent")
        for z in list(servfail) + ["."]:
            lines += ["stub-zone:", f"  name: {_quoted(z.rstrip('.') + '.')}",
                      f"  stub-addr: 127.0.0.1@{self.dead_port}"]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    @property
    def forward(self):
        """The value for tern's [dns] forward."""
        return f"127.0.0.1@{self.port}"

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf_path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + timeout
        probe = self.zones[0] if self.zones else "localhost"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace")
                raise RuntimeError(f"unbound exited ({self.proc.returncode}):\n{err}\n"
                                   f"{self.read_log()}")
            if query(self.port, probe, "SOA", timeout=0.2)[0] is not None:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("unbound did not answer:\n" + self.read_log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def queries(self):
        """The queries received so far, as "name. TYPE" (lower-cased names),
        from the log lines "info: 127.0.0.1 name. TYPE IN"."""
        out = []
        for line in self.read_log().splitlines():
            parts = line.split()
            if "info:" in parts:
                i = parts.index("info:")
                if len(parts) >= i + 5 and parts[i + 4] == "IN" and parts[i + 1].startswith("127."):
                    out.append(f"{parts[i + 2].lower()} {parts[i + 3]}")
        return out
