#!/usr/bin/python3
"""Small measuring helpers for bench/run.sh (python3 from Debian only).

    probe.py freeport                      a free TCP port on 127.0.0.1
    probe.py waitport PORT SECONDS [HOST]  wait for a 220 banner (exit 1 if none came)
    probe.py cpu CGDIR|sid:PID             CPU nanoseconds used by a cgroup (v1 cpuacct or
                                           v2 cpu.stat) or by the processes of a session
    probe.py procs CGDIR|sid:PID           the PIDs of the server, one line
    probe.py mem CGDIR|sid:PID             "procs rss_kib pss_kib" summed over them
    probe.py benchrow FILE                 tern bench --json -> TSV fields (see FIELDS)
    probe.py eml DIR N SIZE FROM TO        N message files of SIZE octets for scenario 6
    probe.py smtplib HOST PORT FROM TO DIR one connection, every DIR/*.eml, "sent N"

Addresses are loopback only; every wait is bounded.
"""
import json
import os
import smtplib
import socket
import sys
import time

# What benchrow prints, in order (run.sh and report.py rely on it).
FIELDS = ["ok", "failed", "elapsed_s", "msgs_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms",
          "conns_per_s", "tls_per_s", "errors"]


def loopback(host):
    if not (host.startswith("127.") or host == "::1"):
        sys.exit(f"probe.py: {host} is not a loopback address")
    return host


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def waitport(port, limit, host="127.0.0.1"):
    loopback(host)
    deadline = time.time() + float(limit)
    while time.time() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=2) as s:
                b = s.recv(512)
                s.sendall(b"QUIT\r\n")
                if b.startswith(b"220"):
                    return 0
        except OSError:
            pass
        time.sleep(0.2)
    return 1


def _session_pids(sid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            if int(fields[3]) == sid:  # field 6 of stat: session id
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def pids(where):
    if where.startswith("sid:"):
        sid = int(where[4:])
        return _session_pids(sid) if sid > 1 else []  # 0: no server (never the kernel's)
    try:
        with open(os.path.join(where, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_ns(where):
    if where.startswith("sid:"):
        # utime+stime of the live processes and of their waited-for children.
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for p in pids(where):
            try:
                with open(f"/proc/{p}/stat") as f:
                    st = f.read()
                fl = st[st.rindex(")") + 2:].split()
                total += sum(int(x) for x in fl[11:15])
            except (OSError, ValueError, IndexError):
                pass
        return total * 1_000_000_000 // tick
    usage = os.path.join(where, "cpuacct.usage")
    if os.path.exists(usage):
        with open(usage) as f:
            return int(f.read())
    with open(os.path.join(where, "cpu.stat")) as f:
        for line in f:
            k, v = line.split()
            if k == "usage_usec":
                return int(v) * 1000
    return 0


def mem(where):
    rss = pss = n = 0
    for p in pids(where):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            n += 1
        except OSError:
            pass
    return f"{n} {rss} {pss}"


def benchrow(path):
    try:
        with open(path) as f:
            j = json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return "\t".join(["0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "no-json"])
    lat = j.get("latency_ms", {})
    errors = ",".join(f"{k}={v}" for k, v in j.get("errors", {}).items()) or "-"
    if j.get("deadline_hit"):
        errors += ",deadline"
    vals = [j.get("messages_ok", 0), j.get("messages_failed", 0), j.get("elapsed_s", 0),
            j.get("messages_per_s", 0), lat.get("p50", 0), lat.get("p90", 0), lat.get("p99", 0),
            lat.get("max", 0), j.get("connections_per_s", 0), j.get("tls_handshakes_per_s", 0)]
    return "\t".join([f"{v:.4f}" if isinstance(v, float) else str(v) for v in vals] + [errors])


def eml(d, n, size, frm, to):
    """N files of exactly SIZE octets (CRLF), like tern bench's messages."""
    os.makedirs(d, exist_ok=True)
    n, size = int(n), int(size)
    for i in range(1, n + 1):
        head = (f"From: <{frm}>\r\nTo: <{to}>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
                f"Subject: bench client {i:010d}\r\n"
                f"Message-ID: <{i:010d}.client@tern.bench>\r\n\r\n").encode()
        left = size - len(head)
        body = bytearray()
        line = 0
        while left > 0:
            ln = 78 if left >= 78 else left
            if left - ln == 1:
                ln += 1
            body += bytes((65 + (line + k) % 26) for k in range(ln - 2)) + b"\r\n"
            left -= ln
            line += 1
        with open(os.path.join(d, f"{i:06d}.eml"), "wb") as f:
            f.write(head + bytes(body))


def smtplib_send(host, port, frm, to, d):
    loopback(host)
    files = sorted(f for f in os.listdir(d) if f.endswith(".eml"))
    sent = 0
    with smtplib.SMTP(host, int(port), timeout=60) as s:
        for name in files:
            with open(os.path.join(d, name), "rb") as f:
                s.sendmail(frm, [to], f.read())
            sent += 1
    print(f"sent {sent}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "freeport":
        freeport()
    elif cmd == "waitport":
        return waitport(*args)
    elif cmd == "cpu":
        print(cpu_ns(args[0]))
    elif cmd == "procs":
        print(" ".join(str(p) for p in pids(args[0])))
    elif cmd == "mem":
        print(mem(args[0]))
    elif cmd == "benchrow":
        print(benchrow(args[0]))
    elif cmd == "eml":
        eml(*args)
    elif cmd == "smtplib":
        smtplib_send(*args)
    else:
        sys.exit(f"probe.py: unknown command {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
