"""DNSSEC for integration tests: signed zones served by a real
authoritative server (nsd), behind a real validating resolver (unbound),
both on free loopback ports, each with its own config, pid and files in a
temp directory.

    dns = DnssecDns()
    dns.zone("dane.test", ["dane.test. 300 IN MX 10 mx.dane.test.", ...])   # signed
    dns.zone("plain.dane.test", [...], signed=False)  # an insecure delegation
    dns.corrupt("_25._tcp.mx-bogus.dane.test.", "TLSA")  # a bogus RRset
    with dns:
        ... [dns] forward = [dns.forward], trust_anchor = dns.trust_anchor ...

- Zones are zone-file lines (owner names absolute, with the dot). Each
  zone gets an SOA and an NS (ns.<zone> at 127.0.0.1).
- signed=True: a key (ECDSA P-256, ldns-keygen) and ldns-signzone (NSEC);
  the signatures are valid from an hour ago for four weeks.
- A zone under another served zone is delegated from it (NS and glue);
  with a DS when the child is signed, none when it is not (an insecure
  delegation, RFC 4035 5.2). A zone under no other is a trust anchor: its
  DNSKEY goes into `trust_anchor` (a file in zone-file form that both
  unbound and tern read).
- corrupt(owner, type): after signing, the signature of that RRset is
  altered, so validation of it fails (bogus, RFC 4035 5.5).
- unbound validates (module-config "validator iterator") with the same
  anchors and reaches nsd through stub zones; every other name, the root
  included, goes to a dead loopback port, so nothing leaves the machine.
- port53: a loopback address where unbound also listens on port 53, for
  a program that reads /etc/resolv.conf (which has no port), such as
  Postfix in a mount namespace of its own (test_dane_postfix.py).

Needs nsd, ldnsutils and unbound (scripts/deps.sh test); none of their
system services need to run. `missing()` names what is not installed.
"""
import os
import shutil
import subprocess
import tempfile
import time

from dns_server import _quoted, free_udp_tcp_port, query

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"


def missing():
    """None when every program is installed, else what is not."""
    gone = [p for p in (NSD, UNBOUND, KEYGEN, SIGNZONE) if not os.access(p, os.X_OK)]
    return ", ".join(gone) + " not installed (scripts/deps.sh test)" if gone else None


def _fqdn(name):
    return name.rstrip(".").lower() + "."


class DnssecDns:
    def __init__(self, port53=None):
        self.port53 = port53
        self.tmp = tempfile.mkdtemp(prefix="tern-dnssec-")
        self.zones = {}  # fqdn -> {"records": [...], "signed": bool}
        self.corruptions = []  # (owner fqdn, type)
        self.nsd_port = free_udp_tcp_port()
        self.port = free_udp_tcp_port()
        while self.port == self.nsd_port:
            self.port = free_udp_tcp_port()
        self.dead_port = free_udp_tcp_port()
        self.trust_anchor = os.path.join(self.tmp, "anchors.key")
        self.nsd = None
        self.unbound = None

    # -- set-up --
    def zone(self, name, records, signed=True):
        self.zones[_fqdn(name)] = {"records": list(records), "signed": signed}

    def corrupt(self, owner, rrtype):
        self.corruptions.append((_fqdn(owner), rrtype.upper()))

    @property
    def forward(self):
        """The value for tern's [dns] forward: the validating unbound."""
        return f"127.0.0.1@{self.port}"

    def _parent(self, z):
        """The closest enclosing served zone of `z`, or None."""
        best = None
        for other in self.zones:
            if other != z and z.endswith("." + other) and (best is None or len(other) > len(best)):
                best = other
        return best

    def _run(self, args):
        r = subprocess.run(args, cwd=self.tmp, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r.stdout

    def _build(self):
        # Children first: a signed child's DS goes into its parent before
        # the parent is signed.
        order = sorted(self.zones, key=lambda z: -z.count("."))
        extra = {z: [] for z in self.zones}
        anchors = []
        for z in order:
            info = self.zones[z]
            lines = [f"$ORIGIN {z}", "$TTL 300",
                     f"{z} 300 IN SOA ns.{z} hostmaster.{z} 1 3600 600 86400 60",
                     f"{z} 300 IN NS ns.{z}", f"ns.{z} 300 IN A 127.0.0.1"]
            lines += info["records"] + extra[z]
            path = os.path.join(self.tmp, z + "zone")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            parent = self._parent(z)
            if parent:
                extra[parent] += [f"{z} 300 IN NS ns.{z}", f"ns.{z} 300 IN A 127.0.0.1"]
            if not info["signed"]:
                info["file"] = path
                continue
            base = self._run([KEYGEN, "-a", "ECDSAP256SHA256", "-k", z.rstrip(".")]).strip()
            now = int(time.time())
            inception = time.strftime("%Y%m%d%H%M%S", time.gmtime(now - 3600))
            expiration = time.strftime("%Y%m%d%H%M%S", time.gmtime(now + 28 * 86400))
            self._run([SIGNZONE, "-i", inception, "-e", expiration, "-o", z, "-f",
                       path + ".signed", path, base])
            info["file"] = path + ".signed"
            with open(os.path.join(self.tmp, base + ".key")) as f:
                dnskey = f.read().strip()
            with open(os.path.join(self.tmp, base + ".ds")) as f:
                ds = f.read().strip()
            if parent:
                extra[parent].append(ds)
            else:
                anchors.append(dnskey)
        for owner, rrtype in self.corruptions:
            self._corrupt(owner, rrtype)
        with open(self.trust_anchor, "w") as f:
            f.write("\n".join(anchors) + "\n")

    def _corrupt(self, owner, rrtype):
        """Flips a character in the signature of (owner, rrtype)."""
        for z, info in self.zones.items():
            if not info["signed"] or not (owner == z or owner.endswith("." + z)):
                continue
            with open(info["file"]) as f:
                lines = f.read().splitlines()
            for i, line in enumerate(lines):
                parts = line.split()
                # owner TTL IN RRSIG TYPE alg labels ttl exp inc tag signer sig...
                if (len(parts) > 12 and parts[0].lower() == owner and parts[3] == "RRSIG"
                        and parts[4] == rrtype):
                    sig = parts[12]
                    c = "A" if sig[0] != "A" else "B"
                    parts[12] = c + sig[1:]
                    lines[i] = "\t".join(parts)
                    with open(info["file"], "w") as f:
                        f.write("\n".join(lines) + "\n")
                    return
        raise RuntimeError(f"no RRSIG for {owner} {rrtype} to corrupt")

    def _nsd_conf(self):
        path = os.path.join(self.tmp, "nsd.conf")
        lines = ["server:",
                 f"  ip-address: 127.0.0.1@{self.nsd_port}",
                 f"  port: {self.nsd_port}",
                 "  do-ip6: no",
                 '  username: ""',
                 '  chroot: ""',
                 f"  zonesdir: {_quoted(self.tmp)}",
                 '  database: ""',
                 f"  zonelistfile: {_quoted(os.path.join(self.tmp, 'zone.list'))}",
                 f"  xfrdfile: {_quoted(os.path.join(self.tmp, 'xfrd.state'))}",
                 f"  xfrdir: {_quoted(self.tmp)}",
                 f"  pidfile: {_quoted(os.path.join(self.tmp, 'nsd.pid'))}",
                 f"  logfile: {_quoted(os.path.join(self.tmp, 'nsd.log'))}",
                 "  server-count: 1",
                 "  verbosity: 1",
                 "remote-control:",
                 "  control-enable: no"]
        for z, info in self.zones.items():
            lines += ["zone:", f"  name: {_quoted(z)}", f"  zonefile: {_quoted(info['file'])}"]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _unbound_conf(self):
        path = os.path.join(self.tmp, "unbound.conf")
        self.unbound_log = os.path.join(self.tmp, "unbound.log")
        lines = ["server:",
                 f"  interface: 127.0.0.1@{self.port}",
                 f"  port: {self.port}",
                 "  do-ip6: no",
                 "  do-daemonize: no",
                 *([f"  interface: {self.port53}@53"] if self.port53 else []),
                 '  chroot: ""',
                 '  username: ""',
                 f"  directory: {_quoted(self.tmp)}",
                 f"  pidfile: {_quoted(os.path.join(self.tmp, 'unbound.pid'))}",
                 f"  logfile: {_quoted(self.unbound_log)}",
                 "  use-syslog: no",
                 "  verbosity: 1",
                 "  log-queries: yes",
                 "  num-threads: 1",
                 "  access-control: 127.0.0.0/8 allow",
                 '  module-config: "validator iterator"',
                 f"  trust-anchor-file: {_quoted(self.trust_anchor)}",
                 "  do-not-query-localhost: no",
                 # Small answers would be fine; no EDNS trouble on loopback.
                 "  val-log-level: 2",
                 # test. is one of unbound's default local zones (RFC 6761).
                 '  local-zone: "test." nodefault']
        for z in self.zones:
            lines += ["stub-zone:", f"  name: {_quoted(z)}",
                      f"  stub-addr: 127.0.0.1@{self.nsd_port}"]
        lines += ["stub-zone:", '  name: "."', f"  stub-addr: 127.0.0.1@{self.dead_port}"]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # -- processes --
    def start(self, timeout=15.0):
        try:
            self._build()
            self.nsd = subprocess.Popen([NSD, "-d", "-c", self._nsd_conf()],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            probe = next(iter(self.zones))
            self._wait(self.nsd, self.nsd_port, probe, timeout, "nsd")
            self.unbound = subprocess.Popen([UNBOUND, "-d", "-c", self._unbound_conf()],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._wait(self.unbound, self.port, probe, timeout, "unbound")
        except BaseException:
            self.cleanup()
            raise
        return self

    def _wait(self, proc, port, probe, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode("utf-8", "replace")
                raise RuntimeError(f"{what} exited ({proc.returncode}):\n{err}\n{self.read_logs()}")
            if query(port, probe, "SOA", timeout=0.3)[0] == "NOERROR":
                return
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not answer:\n{self.read_logs()}")

    def read_logs(self):
        out = []
        for name in ("nsd.log", "unbound.log"):
            try:
                with open(os.path.join(self.tmp, name), "rb") as f:
                    out.append(f"--- {name}\n" + f.read().decode("utf-8", "replace")[-4000:])
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def stop(self):
        for proc in (self.unbound, self.nsd):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc:
                proc.stderr.close()
        self.unbound = self.nsd = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
