"""Limits against abuse on the real server (issue 13): thousands of idle
connections do not keep a well-behaved client from being served; a client
that drips a byte every few seconds is closed at the command deadline; a
session ends at limits.session_timeout; per-address and per-network
(/24) concurrency and connection rate get 421 4.7.0; per-address and
per-user (AUTH on submission) message and recipient limits get 451/450
4.7.1; a trusted network is exempt.

Loopback is exempt from the address limits by default, so these servers
set limits.loopback_exempt = false and the clients bind distinct 127.x.y.z
source addresses (all of 127.0.0.0/8 is loopback on Linux): that is how
the limits of non-loopback clients are exercised without touching the
host's network. Each test keeps away from 127.0.0.0/24, which Tern.start()'s
readiness probe (from 127.0.0.1) counts against.

The idle-connection test opens TERN_IDLE_CONNECTIONS connections (default
10,000: about 10 s here). It needs that many file descriptors in this
process and in tern: it raises RLIMIT_NOFILE to the hard limit, and fails
(under CI) or skips (elsewhere) when the hard limit is too low.
"""
import base64
import os
import resource
import selectors
import socket
import time
import unittest

from dialog import SmtpClient, send_message
from tern_harness import Tern, main

IDLE = int(os.environ.get("TERN_IDLE_CONNECTIONS", "10000"))


def greeting(port, source):
    """Connects from `source` and reads the greeting: (client, (code, enhanced, text))."""
    c = SmtpClient("127.0.0.1", port, source=source)
    r = c.reply()
    return c, ((r.code, r.enhanced(), r.text()) if r else (None, None, None))


def auth_plain(c, user, password):
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    c.cmd("AUTH PLAIN " + token, 235)


def raise_fd_limit(needed):
    """Raises the soft RLIMIT_NOFILE (inherited by tern) to cover `needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        return False
    if soft == resource.RLIM_INFINITY or soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return True


class IdleConnections(unittest.TestCase):
    def test_idle_connections_do_not_keep_a_good_client_waiting(self):
        # Each idle (or, for half of them, slow) connection from its own
        # address, 50 per /24: within every per-address and per-network limit
        # at their defaults, as a botnet would spread them; the total limit
        # leaves room for a few more.
        if not raise_fd_limit(IDLE + 1000):
            msg = "RLIMIT_NOFILE hard limit too low for %d connections" % IDLE
            if os.environ.get("CI"):
                self.fail(msg)
            self.skipTest(msg)
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 limits={"loopback_exempt": False, "max_connections": IDLE + 10})
        self.addCleanup(t.cleanup)
        t.start()
        port = t.port("smtp")
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        start = time.monotonic()
        for i in range(IDLE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.%d.%d.%d" % (1 + i // 12750, (i // 50) % 255, 1 + i % 50), 0))
            s.connect(("127.0.0.1", port))
        # Every one was served its greeting: they are open sessions, not a
        # backlog the kernel holds.
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        greeted, refused = 0, 0
        deadline = time.monotonic() + 120
        pending = len(socks)
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(512)
                sel.unregister(key.fileobj)
                pending -= 1
                if data.startswith(b"220 "):
                    greeted += 1
                else:
                    refused += 1
        sel.close()
        opened = time.monotonic() - start
        self.assertEqual((greeted, refused), (IDLE, 0), t.tail_log())
        # Half of them turn slow: a command line begun and never finished.
        for s in socks[::2]:
            s.send(b"EHLO slo")
        # A well-behaved client (limited too, from its own address) gets its
        # greeting and delivers at once.
        begin = time.monotonic()
        with SmtpClient("127.0.0.1", port, source="127.200.0.1") as c:
            c.expect(220, timeout=5)
            banner = time.monotonic() - begin
            r = send_message(c, "good@remote.test", ["good@example.test"],
                             b"Subject: still served\r\n\r\nhello\r\n")
            self.assertEqual(r.code, 250, c.transcript())
            c.cmd("QUIT", 221)
        delivered = time.monotonic() - begin
        # Starved, the client would wait for a slot (command_timeout, five
        # minutes) or be refused. The bounds leave room for a loaded CI
        # machine running another test beside this one (1 s and 3 s failed
        # there once): here 0.1 s for both, with the CI stage running beside.
        self.assertLess(banner, 3.0, "greeting took %.2fs under %d idle connections" % (banner, IDLE))
        self.assertLess(delivered, 10.0)
        self.assertEqual(len(t.wait_messages("good@example.test", 1)), 1)
        print("\n%d idle connections opened and greeted in %.1fs; good client: greeting %.3fs, "
              "message %.3fs" % (IDLE, opened, banner, delivered))


class SlowClients(unittest.TestCase):
    def test_slow_drip_is_closed_at_the_command_deadline(self):
        t = Tern(kinds=("smtp",), limits={"command_timeout": 2})
        self.addCleanup(t.cleanup)
        t.start()
        c = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO drip.test", 250)
        # A byte every 0.3 s, never a whole line: each read used to restart
        # the timeout, so this kept a session alive forever.
        start = time.monotonic()
        got = None
        for b in b"NOOP " * 6 + b"x" * 30:
            try:
                c.send(bytes([b]))
            except OSError:  # closed while we slept: its 421 may be buffered
                got = c.reply(timeout=1)
                break
            got = c.reply(timeout=0.3)
            if got is not None or c.eof:
                break
        elapsed = time.monotonic() - start
        self.assertIsNotNone(got, "no reply while dripping for %.1fs:\n%s" % (elapsed, c.transcript()))
        self.assertEqual((got.code, got.enhanced()), (421, "4.4.2"), c.transcript())
        c.expect_close(2)
        self.assertGreater(elapsed, 1.5)
        self.assertLess(elapsed, 3.5)
        self.assertIn("waiting=command limit=2s", t.read_log())

    def test_session_time_limit(self):
        t = Tern(kinds=("smtp",), limits={"session_timeout": 3, "command_timeout": 60})
        self.addCleanup(t.cleanup)
        t.start()
        c = SmtpClient("127.0.0.1", t.port("smtp"))
        self.addCleanup(c.close)
        start = time.monotonic()
        c.expect(220)
        c.cmd("EHLO busy.test", 250)
        # Busy, never idle: a NOOP every 0.25 s until the server ends it.
        r = None
        while time.monotonic() - start < 10:
            c.line("NOOP")
            r = c.reply(timeout=1)
            if r is None or r.code != 250:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - start
        self.assertIsNotNone(r, c.transcript())
        self.assertEqual((r.code, r.enhanced()), (421, "4.4.2"), c.transcript())
        self.assertIn("session time limit exceeded", r.text())
        c.expect_close(2)
        self.assertGreater(elapsed, 2.5)
        self.assertLess(elapsed, 4.5)
        self.assertIn("waiting=session limit=3s", t.read_log())


class Connections(unittest.TestCase):
    def start(self, **kw):
        """A started tern with an smtp listener (Tern keywords `kw`), its
        port, and a list for the test's client connections: closed, then
        the server stopped, when the test ends."""
        t = Tern(kinds=("smtp",), **kw)
        self.addCleanup(t.cleanup)
        t.start()
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        return t, t.port("smtp"), clients

    def test_per_address_concurrency_and_rate(self):
        t, port, clients = self.start(limits={"loopback_exempt": False,
                                              "max_connections_per_ip": 3,
                                              "connection_rate_per_ip": 5})
        got = []
        for _ in range(4):
            c, g = greeting(port, "127.0.5.2")
            clients.append(c)
            got.append(g[:2])
        self.assertEqual(got, [(220, "")] * 3 + [(421, "4.7.0")])
        self.assertIn("Too many connections from your address", g[2])
        clients[-1].expect_close()
        # Rate: 127.0.5.3 connects and leaves; its 6th in a minute is refused
        # although it has nothing open.
        got = []
        for _ in range(6):
            c, g = greeting(port, "127.0.5.3")
            got.append(g[:2])
            if g[0] == 220:
                c.cmd("QUIT", 221)
            c.close()
        self.assertEqual(got, [(220, "")] * 5 + [(421, "4.7.0")])
        self.assertIn("Too many connections from your address this minute", g[2])
        log = t.read_log()
        self.assertIn("limit client=127.0.5.2 auth=- limit=max_connections_per_ip key=127.0.5.2 "
                      "value=4 max=3", log)
        self.assertIn("limit client=127.0.5.3 auth=- limit=connection_rate_per_ip key=127.0.5.3 "
                      "value=6 max=5", log)

    def test_sighup_applies_new_limits_to_open_counts(self):
        t, port, clients = self.start(limits={"loopback_exempt": False,
                                              "max_connections_per_ip": 5})
        for _ in range(2):
            c, g = greeting(port, "127.0.12.2")
            clients.append(c)
            self.assertEqual(g[:2], (220, ""))
        with open(t.config_path) as f:
            text = f.read()
        with open(t.config_path, "w") as f:
            f.write(text.replace("max_connections_per_ip = 5", "max_connections_per_ip = 2"))
        t.reload()
        self.assertIn("SIGHUP: configuration reloaded", t.read_log())
        c, g = greeting(port, "127.0.12.2")
        clients.append(c)
        self.assertEqual(g[:2], (421, "4.7.0"))

    def test_per_network_aggregation(self):
        t, port, clients = self.start(limits={"loopback_exempt": False,
                                              "max_connections_per_ip": 5,
                                              "max_connections_per_network": 3})
        got = []
        for src in ("127.0.7.2", "127.0.7.2", "127.0.7.3", "127.0.7.3", "127.0.8.3"):
            c, g = greeting(port, src)
            clients.append(c)
            got.append(g)
        # Two addresses of 127.0.7.0/24 share its three; 127.0.8.0/24 is another network.
        self.assertEqual([g[:2] for g in got], [(220, "")] * 3 + [(421, "4.7.0"), (220, "")])
        self.assertIn("Too many connections from your network", got[3][2])
        self.assertIn("limit=max_connections_per_network key=127.0.7.0/24 value=4 max=3",
                      t.read_log())

    def test_trusted_network_is_exempt(self):
        t, port, clients = self.start(accept_any_local_part=True,
                                      extra='trusted_networks = ["127.0.6.0/24"]',
                                      limits={"loopback_exempt": False,
                                              "max_connections_per_ip": 2,
                                              "messages_per_hour_per_ip": 1})
        got = []
        for _ in range(6):
            c, g = greeting(port, "127.0.6.2")
            clients.append(c)
            got.append(g[:2])
        self.assertEqual(got, [(220, "")] * 6)
        for i in range(3):
            r = send_message(clients[0], "t@remote.test", ["t@example.test"],
                             b"Subject: trusted\r\n\r\nhi\r\n", ehlo=i == 0)
            self.assertEqual(r.code, 250, clients[0].transcript())
        # The same limits hold outside the trusted network.
        got = []
        for _ in range(3):
            c, g = greeting(port, "127.0.9.2")
            clients.append(c)
            got.append(g[:2])
        self.assertEqual(got, [(220, ""), (220, ""), (421, "4.7.0")])


class Messages(unittest.TestCase):
    def test_per_address_messages_and_recipients(self):
        t = Tern(kinds=("smtp",), accept_any_local_part=True,
                 limits={"loopback_exempt": False, "messages_per_hour_per_ip": 2,
                         "recipients_per_hour_per_ip": 3})
        self.addCleanup(t.cleanup)
        t.start()
        c, g = greeting(t.port("smtp"), "127.0.10.2")
        self.addCleanup(c.close)
        c.cmd("EHLO ten.test", 250)
        c.cmd("MAIL FROM:<s@remote.test>", 250)
        for i in range(3):
            c.cmd("RCPT TO:<r%d@example.test>" % i, 250)
        r = c.cmd("RCPT TO:<r3@example.test>", 450, "4.7.1")
        self.assertIn("Too many recipients from your address this hour", r.text())
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<s@remote.test>", 250)
        c.cmd("RSET", 250)
        # RFC 5321 4.3.2: MAIL's transient refusal is 451.
        r = c.cmd("MAIL FROM:<s@remote.test>", 451, "4.7.1")
        self.assertIn("Too many messages from your address this hour", r.text())
        # The network's counts are its addresses' together (defaults: far higher).
        log = t.read_log()
        self.assertIn("limit client=127.0.10.2 auth=- limit=recipients_per_hour_per_ip "
                      "key=127.0.10.2 value=4 max=3", log)
        self.assertIn("limit=messages_per_hour_per_ip key=127.0.10.2 value=3 max=2", log)

    def test_per_user_limits_on_submission(self):
        # Loopback stays exempt from the address limits here: the user's
        # limits hold from any address (a webmail on loopback with a leaked
        # password is what they are for).
        t = Tern(kinds=("submission",),
                 limits={"messages_per_hour_per_user": 2, "recipients_per_hour_per_user": 3,
                         "outbound_recipients_per_hour_per_user": 1})
        self.addCleanup(t.cleanup)
        t.add_users({"u@example.test": "pw-u-secret", "v@example.test": "pw-v-secret"})
        t.start()
        port = t.port("submission")

        def session(user, password, source):
            c = SmtpClient("127.0.0.1", port, source=source)
            self.addCleanup(c.close)
            c.expect(220)
            c.cmd("EHLO sub.test", 250)
            c.cmd("STARTTLS", 220)
            c.starttls()
            c.cmd("EHLO sub.test", 250)
            auth_plain(c, user, password)
            return c

        c = session("u@example.test", "pw-u-secret", "127.0.0.1")
        c.cmd("MAIL FROM:<u@example.test>", 250)
        c.cmd("RCPT TO:<far@remote.test>", 250)
        r = c.cmd("RCPT TO:<far2@remote.test>", 450, "4.7.1")
        self.assertIn("Too many recipients at other domains from <u@example.test> this hour",
                      r.text())
        c.cmd("RCPT TO:<v@example.test>", 250)
        c.cmd("RCPT TO:<u@example.test>", 250)
        r = c.cmd("RCPT TO:<v@example.test>", 450, "4.7.1")
        self.assertIn("Too many recipients from <u@example.test> this hour", r.text())
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<u@example.test>", 250)
        c.cmd("RSET", 250)
        r = c.cmd("MAIL FROM:<u@example.test>", 451, "4.7.1")
        self.assertIn("Too many messages from <u@example.test> this hour", r.text())
        # From another address the user is still over; another user is not.
        c2 = session("u@example.test", "pw-u-secret", "127.0.11.2")
        c2.cmd("MAIL FROM:<u@example.test>", 451, "4.7.1")
        c3 = session("v@example.test", "pw-v-secret", "127.0.11.2")
        c3.cmd("MAIL FROM:<v@example.test>", 250)
        c3.cmd("RCPT TO:<u@example.test>", 250)
        log = t.read_log()
        self.assertIn("limit client=127.0.0.1 auth=u@example.test "
                      "limit=outbound_recipients_per_hour_per_user key=u@example.test value=2 max=1",
                      log)
        self.assertIn("limit client=127.0.11.2 auth=u@example.test limit=messages_per_hour_per_user",
                      log)


if __name__ == "__main__":
    main()
