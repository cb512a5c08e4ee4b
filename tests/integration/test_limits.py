"""Limits on the real server: command and data timeouts (421 4.4.2),
max_connections and max_connections_per_ip (421 4.7.0 in the greeting),
the loopback and trusted_networks exemptions, and an IPv6 listener.

The per-IP limit must be seen from a NON-loopback address, and a test may not
touch the host's network: that part runs tern and a small client inside a
private network namespace (unshare --net, as root) where 192.0.2.10 is
configured on its own lo. If unshare is not permitted the test fails, saying
so: it does not skip.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

from dialog import SmtpClient, send_message
from tern_harness import TERN_BIN, Tern, main

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS_ADDR = "192.0.2.10"


def greeting(host, port, source=None):
    """Connects and reads the greeting: (client, (code, enhanced))."""
    c = SmtpClient(host, port, source=source)
    r = c.reply()
    return c, (r.code, r.enhanced()) if r else (None, None)


def settle(t, timeout=5.0):
    """Waits until every connection the server logged has ended (the probe
    of Tern.start() counts against connection limits until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = t.read_log()
        if log.count(" connect client=") == log.count(" disconnect client="):
            return
        time.sleep(0.05)


class Timeouts(unittest.TestCase):
    def test_command_and_data_timeouts(self):
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 limits={"command_timeout": 2, "data_timeout": 2})
        self.addCleanup(t.cleanup)
        t.start()
        # Both sessions wait at the same time, to keep the test short.
        idle = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(idle.close)
        idle.expect(220)
        idle.cmd("EHLO idle.test", 250)
        data = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(data.close)
        data.expect(220)
        data.cmd("EHLO data.test", 250)
        data.cmd("MAIL FROM:<d@remote.test>", 250)
        data.cmd("RCPT TO:<timeout@example.test>", 250)
        data.cmd("DATA", 354)
        data.send(b"Subject: stalled\r\n\r\npart")
        # STARTTLS accepted, then no handshake: the server must not wait forever.
        tls = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(tls.close)
        tls.expect(220)
        tls.cmd("EHLO tls.test", 250)
        tls.cmd("STARTTLS", 220)
        start = time.monotonic()
        for c in (idle, data):
            c.expect(421, "4.4.2", timeout=6)
            c.expect_close(2)
        tls.replies_until_close(3)
        self.assertTrue(tls.eof, "a stalled TLS handshake was not timed out")
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 1.5, "timed out too early")
        self.assertLess(elapsed, 5.0)
        self.assertEqual(t.wait_queue_empty(2), [])
        self.assertEqual(t.messages("timeout@example.test"), [])
        # A session that keeps talking is not timed out.
        busy = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(busy.close)
        busy.expect(220)
        for _ in range(4):
            time.sleep(0.8)
            busy.cmd("NOOP", 250)


class Connections(unittest.TestCase):
    def test_max_connections(self):
        t = Tern(kinds=("smtp",), limits={"max_connections": 5})
        self.addCleanup(t.cleanup)
        t.start()
        settle(t)
        clients = []
        for _ in range(5):
            c, g = greeting("127.0.0.1", t.port("smtp"))
            self.addCleanup(c.close)
            clients.append(c)
            self.assertEqual(g, (220, ""))
        c6, g = greeting("127.0.0.1", t.port("smtp"))
        self.addCleanup(c6.close)
        self.assertEqual(g, (421, "4.7.0"))
        c6.expect_close()
        # A freed slot is usable again.
        clients[0].cmd("QUIT", 221)
        clients[0].expect_close()
        deadline = time.monotonic() + 5
        while True:
            c, g = greeting("127.0.0.1", t.port("smtp"))
            self.addCleanup(c.close)
            if g == (220, "") or time.monotonic() > deadline:
                break
            c.close()
            time.sleep(0.1)
        self.assertEqual(g, (220, ""))

    def test_loopback_is_exempt_from_the_per_ip_limit(self):
        t = Tern(kinds=("smtp",), limits={"max_connections_per_ip": 3})
        self.addCleanup(t.cleanup)
        t.start()
        got = []
        for i in range(30):
            c, g = greeting("127.0.0.1", t.port("smtp"))
            self.addCleanup(c.close)
            got.append(g)
        self.assertEqual(got, [(220, "")] * 30)

    def test_per_ip_limit_applies_to_non_loopback_clients(self):
        """In a private network namespace: 192.0.2.10 is limited to 3, and
        exempt again once it is in trusted_networks."""
        result = self.run_in_netns()
        self.assertTrue(result["source_logged"], "the server did not see client=%s:\n%s" % (
            NETNS_ADDR, result["log"]))
        ok, full = [220, ""], [421, "4.7.0"]
        self.assertEqual(result["untrusted"], [ok, ok, ok, full], result["log"])
        self.assertEqual(result["untrusted_after_close"], ok, result["log"])
        self.assertEqual(result["trusted"], [ok] * 10, result["log"])

    def run_in_netns(self):
        setup = "ip link set lo up && ip addr add %s/32 dev lo && exec \"$@\"" % NETNS_ADDR
        code = "import sys; sys.path.insert(0, %r); import test_limits; test_limits.netns_child()" % HERE
        cmd = ["unshare", "--net", "sh", "-c", setup, "sh", sys.executable, "-c", code]
        env = dict(os.environ, TERN_BIN=TERN_BIN)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            self.fail("the network-namespace part did not finish in 60s:\n" + err.decode(errors="replace"))
        err = err.decode(errors="replace")
        if proc.returncode != 0 and not out.strip():
            if "unshare" in err or "Operation not permitted" in err:
                self.fail("cannot create a private network namespace (`unshare --net` needs root or "
                          "unprivileged user namespaces), so the non-loopback per-IP limit cannot be "
                          "tested here:\n" + err)
            self.fail("the network-namespace part failed (rc %d):\n%s" % (proc.returncode, err))
        try:
            return json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.fail("no result from the network-namespace part:\n%s\n%s" % (out, err))


def netns_child():
    """Runs inside `unshare --net` with NETNS_ADDR on lo. Prints one JSON line."""
    result = {"log": ""}
    t = Tern(kinds=("smtp",), host=NETNS_ADDR, limits={"max_connections_per_ip": 3})
    clients = []
    try:
        t.start()
        settle(t)
        gs = []
        for _ in range(4):
            c, g = greeting(NETNS_ADDR, t.port("smtp"), source=NETNS_ADDR)
            clients.append(c)
            gs.append(list(g))
        result["untrusted"] = gs
        # Closing one frees a slot for that address.
        clients[0].line("QUIT")
        clients[0].replies_until_close(3)
        g = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            c, g = greeting(NETNS_ADDR, t.port("smtp"), source=NETNS_ADDR)
            clients.append(c)
            if g == (220, ""):
                break
            time.sleep(0.1)
        result["untrusted_after_close"] = list(g)
        result["source_logged"] = ("client=%s " % NETNS_ADDR) in t.read_log()
        result["log"] += t.read_log()[-3000:]
    finally:
        for c in clients:
            c.close()
        t.cleanup()
    t = Tern(kinds=("smtp",), host=NETNS_ADDR, limits={"max_connections_per_ip": 3},
             extra='trusted_networks = ["192.0.2.0/24"]')
    clients = []
    try:
        t.start()
        gs = []
        for _ in range(10):
            c, g = greeting(NETNS_ADDR, t.port("smtp"), source=NETNS_ADDR)
            clients.append(c)
            gs.append(list(g))
        result["trusted"] = gs
        result["log"] += t.read_log()[-3000:]
    finally:
        for c in clients:
            c.close()
        t.cleanup()
    print(json.dumps(result))


class Ipv6(unittest.TestCase):
    def test_ipv6_listener_accepts_a_message(self):
        t = Tern(kinds=("smtp",), host="::1", accept_any_local_part=True)
        self.addCleanup(t.cleanup)
        t.start()
        with SmtpClient("::1", t.port("smtp")) as c:
            c.expect(220)
            r = send_message(c, "six@remote.test", ["v6@example.test"],
                             b"Subject: over IPv6\r\n\r\nhello\r\n")
            self.assertEqual(r.code, 250, c.transcript())
            c.cmd("QUIT", 221)
        msgs = t.wait_messages("v6@example.test", 1)
        self.assertEqual(len(msgs), 1, t.read_log())
        self.assertIn(b"Subject: over IPv6", msgs[0])
        self.assertIn(b"::1", msgs[0].split(b"\r\n\r\n")[0], "the Received header does not show ::1")
        self.assertIn("client=::1", t.read_log())


if __name__ == "__main__":
    main()
