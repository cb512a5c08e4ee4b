"""A scriptable SMTP server for the relay tests: Python's aiosmtpd (Debian
package python3-aiosmtpd) on a loopback address, in a thread of its own,
with knobs for the faults a sending MTA must survive.

    with SmtpPeer("127.0.0.3", port) as peer:
        peer.rcpt["later@x.test"] = ["450 4.2.1 try later"]   # then accepted
        ... tern relays ...
        peer.wait_messages(1)
        peer.messages[0].rcpts, peer.messages[0].data

Knobs (attributes; change them at any time, they apply to the next command):
  banner       None, or a reply ("421 4.3.2 busy") given instead of the 220
               greeting, after which the connection is closed.
  rcpt         {address (lower case): [reply, ...]}: the replies to successive
               RCPTs of that address, then 250 (None in the list also means 250).
  mail_reply   None, or the reply to every MAIL.
  data         None, "stall" (no reply to the end of data until release() or
               the peer stops: the body is never accepted), or "drop" (the
               connection is closed instead of replying to the end of data).
  starttls     None, or "broken": STARTTLS is answered 220, then garbage
               is sent instead of a TLS handshake and the connection closed.
  no_ehlo      set of EHLO keywords not to offer ("8BITMIME", "SMTPUTF8",
               "STARTTLS").
  tls          True (the default): STARTTLS offered, with a self-signed
               certificate made by openssl at start, or `cert` (a
               (certificate, key) pair of paths) when given.

What it saw: `connections` (accepted TCP connections), `transactions` (MAIL
commands), `messages` (Message(mail_from, rcpts, data, peer, tls) for each
body answered 250), `tls_sessions` (messages received over TLS).
"""
import asyncio
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass
class Message:
    mail_from: str
    rcpts: list
    data: bytes
    mail_options: list
    tls: bool


def self_signed(directory, name="peer.test"):
    """A certificate and key for `name` (openssl CLI); returns their paths."""
    cert = os.path.join(directory, "peer-cert.pem")
    key = os.path.join(directory, "peer-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={name}", "-addext",
                    f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class _Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        drop = self.peer.no_ehlo
        return [r for r in responses if r[4:].split(" ")[0].upper() not in drop]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.peer.lock:
            self.peer.transactions += 1
        if self.peer.mail_reply:
            return self.peer.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.peer.lock:
            script = self.peer.rcpt.get(address.lower())
            reply = script.pop(0) if script else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.peer.data
        if mode == "stall":
            with self.peer.lock:
                self.peer.stalled += 1
            while self.peer.data == "stall" and not self.peer.stopping:
                await asyncio.sleep(0.05)
            server.transport.close()  # never accepted
            return "451 4.3.0 stalled"
        if mode == "drop":
            server.transport.close()
            return "451 4.3.0 dropped"
        with self.peer.lock:
            self.peer.messages.append(Message(envelope.mail_from, list(envelope.rcpt_tos),
                                              envelope.content, list(envelope.mail_options),
                                              session.ssl is not None))
        return "250 2.0.0 Ok: queued"


class _Smtp(SMTP):
    """aiosmtpd's SMTP with the banner and STARTTLS faults."""

    def __init__(self, handler, peer, **kw):
        super().__init__(handler, **kw)
        self.peer = peer

    async def _handle_client(self):
        with self.peer.lock:
            self.peer.connections += 1
        if self.peer.banner:
            await self.push(self.peer.banner)
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_STARTTLS(self, arg):
        if self.peer.starttls == "broken":
            await self.push("220 2.0.0 Ready to start TLS")
            self.transport.write(b"this is not a TLS server hello\r\n")
            self.transport.close()
            return
        await super().smtp_STARTTLS(arg)


class _Controller(Controller):
    def __init__(self, peer, **kw):
        self.peer = peer
        super().__init__(_Handler(peer), **kw)

    def factory(self):
        return _Smtp(self.handler, self.peer, **self.SMTP_kwargs)


class SmtpPeer:
    def __init__(self, host, port, hostname="peer.test", tls=True, cert=None):
        self.host, self.port = host, port
        self.lock = threading.Lock()
        self.banner = None
        self.rcpt = {}
        self.mail_reply = None
        self.data = None
        self.starttls = None
        self.no_ehlo = set()
        self.connections = 0
        self.transactions = 0
        self.stalled = 0
        self.messages = []
        self.stopping = False
        self.tmp = tempfile.mkdtemp(prefix="tern-peer-")
        kw = {}
        if tls:
            cert, key = cert or self_signed(self.tmp, hostname)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            kw["tls_context"] = ctx
        self.controller = _Controller(self, hostname=host, port=port, server_hostname=hostname,
                                      ready_timeout=10, **kw)

    def start(self):
        self.controller.start()
        # start() made one connection to see the server answer (and read
        # its greeting, so it is counted by now): not one of the test's.
        with self.lock:
            self.connections = 0
        return self

    def stop(self):
        self.stopping = True
        self.controller.stop()

    def cleanup(self):
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    def release(self):
        """Ends a "stall": the stalled transactions are closed unanswered."""
        self.data = None

    def delivered_to(self, address):
        """How many accepted messages named `address` among their recipients."""
        with self.lock:
            return sum(1 for m in self.messages
                       if address.lower() in (r.lower() for r in m.rcpts))

    def wait(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def wait_messages(self, count, timeout=10.0):
        self.wait(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)
