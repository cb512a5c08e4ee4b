"""No address form makes tern an open relay (issue 13), against the real
server on loopback.

Every historical open-relay trick (percent hack, source routes, quoted
local parts holding '@', bang paths, IP literals, trailing dots, case and
encoding variants, ORCPT, SMTPUTF8 forms, doubled '@', brackets with spaces
or comments) is sent by a client without AUTH on the smtp listener, each
followed by RCPT TO:<postmaster@remote.example>. Each must be refused at
RCPT with a 5xx whose enhanced code is 5.7.1 (relay denied) or 5.1.x (bad
address, unknown user, bad mailbox name): never a 250 and a bounce later.
Afterwards the queue is empty and no outbound connection was attempted.

How "no outbound connection" is seen: relay.smarthost points at a sink, a
TCP listener on loopback that counts the connections it accepts (any mail
for another domain goes there, without DNS); relay.port points there too.
The same server then relays one message for an authenticated user, which
must reach the sink: the check has teeth.

The client binds to 127.0.0.2. tern decides relaying only on AUTH
(server/directory.h, check_rcpt): loopback and trusted_networks are exempt
from SPF and connection limits, never a relay permission; 127.0.0.2 is not
in trusted_networks here either way.

Also here, the local-part rules of the same issue: "\"me\"" is the
mailbox "me" (RFC 5321 4.1.2), and a local part that can never be a
mailbox ("\"../../../tmp/pwn\"", "\"a/b\"") is 550 5.1.3 at RCPT.
"""
import os
import smtplib
import socket
import threading
import time
import unittest

from dialog import SmtpClient
from tern_harness import Tern, free_port, main

PASSWORD = "correct horse battery staple"
USER = "user@localhost"
ME = "me@localhost"
CLIENT = "127.0.0.2"  # not loopback's 127.0.0.1, not in trusted_networks

# What follows "RCPT TO:". Each must be refused; the comment says by what.
TRICKS = [
    # Percent hack: a local part of a local domain (unknown user), never a route.
    "<user%remote.example@localhost>",
    "<user%remote.example@example.test>",
    "<user%remote.example@[127.0.0.1]>",  # an address literal is not local here
    "<user%remote.example%localhost@localhost>",
    # Source routes (RFC 5321 appendix C): the route is dropped.
    "<@localhost:user@remote.example>",
    "<@a.example,@b.example:user@remote.example>",
    "<@example.test,@localhost:user@remote.example>",
    "<@[127.0.0.1]:user@remote.example>",
    # Quoted local parts holding '@' or '%'.
    '<"user@remote.example"@localhost>',
    '<"user@remote.example">',
    '<"user%remote.example"@localhost>',
    '<"user@remote.example"@remote.example>',
    '<"@remote.example:user"@localhost>',
    # Bang paths (UUCP).
    "<remote.example!user@localhost>",
    "<remote.example!user>",
    "<remote.example!user@example.test>",
    # IP literals: none is a local domain (domains lists names only).
    "<user@[127.0.0.1]>",
    "<user@[127.0.0.2]>",
    "<user@[IPv6:::1]>",
    "<user@[192.0.2.1]>",
    "<user@[IPv6:::ffff:127.0.0.1]>",
    "<postmaster@[127.0.0.1]>",
    # Trailing dots: not a Domain (RFC 5321 4.1.2), so a syntax error;
    # "localhost." is therefore neither local nor relayed.
    "<user@remote.example.>",
    "<user@localhost.>",
    "<user@example.test.>",
    # Case variants.
    "<USER@REMOTE.EXAMPLE>",
    "<user@Remote.Example>",
    "<User@LOCALHOST.>",
    # Encodings: %-, xtext- and URL-style escapes are plain local-part octets.
    "<user%40remote.example@localhost>",
    "<user=40remote.example@localhost>",
    "<user@remote%2eexample>",
    "<user@remote.example%00@localhost>",
    # ORCPT is only a note for DSNs: it never routes.
    "<user@remote.example> ORCPT=rfc822;user@localhost",
    "<nobody@localhost> ORCPT=rfc822;user@remote.example",
    "<nobody@localhost> ORCPT=rfc822;user+40remote.example",
    # SMTPUTF8 forms (the MAIL carries SMTPUTF8).
    "<user@remöte.example>",
    "<üser@remote.example>",
    "<user＠remote.example>",  # fullwidth commercial at: not an '@'
    "<user＠remote.example@localhost>",
    "<user@remote。example>",  # ideographic full stop: IDNA would map it to '.'
    "<user@bücher.example>",  # the U-label of a local A-label domain: no IDNA here
    "<user@BÜCHER.example>",
    # Doubled '@'.
    "<user@@remote.example>",
    "<user@remote.example@localhost>",
    "<user@localhost@remote.example>",
    "<@remote.example>",
    "<user@>",
    # Brackets with spaces, comments or more than one address.
    " <user@remote.example>",
    "<user@remote.example >",
    "< user@remote.example>",
    "<user@remote.example(comment)>",
    "<(comment)user@remote.example>",
    "<user(comment)@localhost>",
    "<user @remote.example>",
    "user@remote.example",
    "<<user@remote.example>>",
    "<user@remote.example> <user@localhost>",
    '"Name" <user@remote.example>',
    "<user@remote.example>\tNOTIFY=NEVER",
]

# Tricks whose refusal is about the parameters after the path.
PARAMETER_ERRORS = {"<user@remote.example> <user@localhost>"}


class Sink:
    """A TCP listener on loopback that counts the connections it accepts
    and greets each with 421 (so a client gives up at once)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self.lock:
                self.connections += 1
            try:
                conn.sendall(b"421 sink.test closing\r\n")
            except OSError:
                pass
            conn.close()

    def count(self):
        with self.lock:
            return self.connections

    def wait_count(self, n, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline and self.count() < n:
            time.sleep(0.05)
        return self.count()

    def close(self):
        self.sock.close()


class OpenRelayTest(unittest.TestCase):
    def start(self, accept_any_local_part=False, users=(USER, ME)):
        self.sink = Sink()
        self.addCleanup(self.sink.close)
        extra = "\n".join([
            f'relay.smarthost = "[127.0.0.1]:{self.sink.port}"',
            f"relay.port = {self.sink.port}",
            'relay.connect_timeout = "2s"',
            f'dns.forward = ["127.0.0.1@{free_port()}"]',  # nothing answers: no MX either
            'dns.timeout = "1s"',
        ])
        t = Tern(domains=("localhost", "example.test", "xn--bcher-kva.example"),
                 kinds=("smtp", "submission"), extra=extra,
                 limits={"max_errors": 1000}, accept_any_local_part=accept_any_local_part)
        self.addCleanup(t.cleanup)
        if users:
            t.add_users({u: PASSWORD for u in users})
        t.start()
        self.addCleanup(t.assert_running)
        self.t = t
        return t

    def client(self):
        c = SmtpClient("127.0.0.1", self.t.port("smtp"), source=CLIENT)
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO client.test", 250)
        return c

    def assert_refused(self, r, what):
        """A 5xx at RCPT: 5.7.1 (relay denied) or 5.1.x (bad address, unknown
        user, bad mailbox name); 501 5.5.4 only for a second address, which
        is read as a parameter. Never a 250."""
        self.assertEqual(r.code // 100, 5, f"{what!r} got {r.text()}")
        enhanced = r.enhanced()
        if what in PARAMETER_ERRORS:
            self.assertEqual((r.code, enhanced), (501, "5.5.4"), f"{what!r} got {r.text()}")
            return
        self.assertTrue(enhanced == "5.7.1" or enhanced.startswith("5.1."),
                        f"{what!r} got {r.text()}")

    def assert_nothing_left(self):
        """Nothing queued, nothing in the queue's tmp, no outbound connection."""
        self.assertEqual(self.t.queue_files(), [], self.t.tail_log())
        self.assertEqual(self.t.queue_tmp_files(), [], self.t.tail_log())
        self.assertEqual(self.sink.count(), 0, "tern connected to the relay sink")

    def relay_for_authenticated_user(self):
        """The control: an authenticated client may relay, and its message
        reaches the sink. Proves the sink would have seen a relayed message."""
        s = smtplib.SMTP("127.0.0.1", self.t.port("submission"), timeout=10)
        self.addCleanup(s.close)
        s.starttls(context=self.t.ssl_context(check_hostname=False))
        s.login(USER, PASSWORD)
        s.sendmail(USER, ["friend@remote.example"], b"Subject: control\r\n\r\nhi\r\n")
        self.assertGreaterEqual(self.sink.wait_count(1), 1,
                                "the control message never reached the sink\n" + self.t.tail_log())

    def test_every_trick_is_refused_at_rcpt(self):
        self.start()
        c = self.client()
        c.cmd("MAIL FROM:<spammer@sender.example> SMTPUTF8", 250)
        for trick in TRICKS:
            self.assert_refused(c.cmd("RCPT TO:" + trick), trick)
            # ... and the postmaster of the remote domain is still remote.
            r = c.cmd("RCPT TO:<postmaster@remote.example>", 550, "5.7.1")
            self.assertIn("Relay access denied", r.text())
        # No recipient was accepted: no DATA.
        c.cmd("DATA", 554)
        c.cmd("QUIT", 221)
        self.assert_nothing_left()
        self.relay_for_authenticated_user()

    def test_tricks_without_smtputf8_are_refused_too(self):
        self.start()
        c = self.client()
        c.cmd("MAIL FROM:<spammer@sender.example>", 250)
        for trick in TRICKS:
            r = c.cmd("RCPT TO:" + trick)
            # A UTF-8 address without SMTPUTF8 is 553 5.6.7 (RFC 6531 3.5).
            if any(ord(ch) > 127 for ch in trick) and r.enhanced() == "5.6.7":
                self.assertEqual(r.code, 553, r.text())
                continue
            self.assert_refused(r, trick)
        c.cmd("DATA", 554)
        self.assert_nothing_left()

    def test_local_interpretations_stay_local(self):
        # With every local part a mailbox, the percent hack and friends are
        # delivered here, under their literal name, never relayed.
        t = self.start(accept_any_local_part=True, users=())
        c = self.client()
        c.cmd("MAIL FROM:<sender@sender.example>", 250)
        c.cmd("RCPT TO:<user%remote.example@localhost>", 250)
        c.cmd("RCPT TO:<remote.example!user@localhost>", 250)
        c.cmd("RCPT TO:<\"me\"@localhost>", 250)
        c.cmd("RCPT TO:<user@remote.example>", 550, "5.7.1")
        c.cmd('RCPT TO:<"user@remote.example"@localhost>', 550, "5.1.3")
        c.cmd("DATA", 354)
        c.line("Subject: local\r\n\r\nbody\r\n.")
        c.expect(250)
        c.cmd("QUIT", 221)
        for mailbox in ("user%remote.example@localhost", "remote.example!user@localhost", ME):
            self.assertEqual(len(t.wait_messages(mailbox, 1)), 1, mailbox + "\n" + t.tail_log())
        # "\"me\"" is "me": no Maildir named with quotes.
        self.assertFalse(os.path.exists(os.path.join(t.data_dir, "mail", "localhost", '"me"')))
        self.assertEqual(t.wait_queue_empty(), [], t.tail_log())
        self.assertEqual(self.sink.count(), 0, "tern connected to the relay sink")

    def test_orcpt_to_a_remote_address_does_not_route(self):
        t = self.start()
        c = self.client()
        c.cmd("MAIL FROM:<sender@sender.example>", 250)
        c.cmd("RCPT TO:<user@localhost> ORCPT=rfc822;user@remote.example", 250)
        c.cmd("DATA", 354)
        c.line("Subject: orcpt\r\n\r\nbody\r\n.")
        c.expect(250)
        self.assertEqual(len(t.wait_messages(USER, 1)), 1, t.tail_log())
        self.assertEqual(t.wait_queue_empty(), [], t.tail_log())
        self.assertEqual(self.sink.count(), 0, "tern connected to the relay sink")


class LocalPartTest(unittest.TestCase):
    """Quoted local parts are compared unquoted; impossible ones are refused."""

    def setUp(self):
        self.t = Tern(domains=("localhost",), kinds=("smtp",), limits={"max_errors": 1000})
        self.addCleanup(self.t.cleanup)
        self.t.add_users({ME: PASSWORD})
        self.t.start()
        self.addCleanup(self.t.assert_running)

    def test_quoted_me_is_me(self):
        c = SmtpClient("127.0.0.1", self.t.port("smtp"), source=CLIENT)
        self.addCleanup(c.close)
        c.expect(220)
        c.cmd("EHLO client.test", 250)
        c.cmd("MAIL FROM:<sender@sender.example>", 250)
        r = c.cmd('RCPT TO:<"me"@localhost>', 250)
        self.assertIn("<me@localhost>", r.text())  # the canonical form
        c.cmd(r'RCPT TO:<"\m\e+tag"@LOCALHOST>', 250)
        c.cmd('RCPT TO:<"not me"@localhost>', 550, "5.1.1")
        for bad in ('"../../../tmp/pwn"', '"a/b"', "a/b", '".."', '"."', '".me"', '"me."',
                    '"m..e"', '""', '"me@localhost"'):
            r = c.cmd(f"RCPT TO:<{bad}@localhost>", 550, "5.1.3")
            self.assertIn("Bad destination mailbox address syntax", r.text())
        c.cmd("RCPT TO:<" + "a" * 65 + "@localhost>", 501, "5.1.3")  # over 64 octets
        c.cmd("DATA", 354)
        c.line("Subject: quoted\r\n\r\nbody\r\n.")
        c.expect(250)
        msgs = self.t.wait_messages(ME, 1)
        self.assertEqual(len(msgs), 1, self.t.tail_log())  # both RCPTs: one mailbox, one copy
        self.assertFalse(os.path.exists(os.path.join(self.t.data_dir, "mail", "localhost", '"me"')))
        self.assertEqual(self.t.wait_queue_empty(), [], self.t.tail_log())
        self.assertEqual(sorted(os.listdir(os.path.join(self.t.data_dir, "mail", "localhost"))),
                         ["me"])


if __name__ == "__main__":
    main()
