"""The smallest outside world a relaying tern needs in a test: a DNS server
(unbound on loopback, dns_server.py) whose MX records send mail for some
domains to one host, and an aiosmtpd peer (smtp_peer.py) on that host.

    dns, peer, port = start_mx_peer(cls.cleanups, "x.test", ["out.x.test"], records)
    extra = dns_toml(dns) + relay_toml(port)   # tern_harness.py
    ... mail to someone@out.x.test arrives in peer.messages

Both are started here; how to stop each is appended to `cleanups` as soon
as it exists (ClassServers or addCleanup-style lists, run in reverse order).
"""
from dns_server import DnsServer
from smtp_peer import SmtpPeer
from tern_harness import free_port


def start_mx_peer(cleanups, zone, mail_domains, records=(), address="127.0.0.3"):
    """Starts a DnsServer for `zone` serving `records`, plus an MX record
    naming mx.<zone> for each of `mail_domains` and mx.<zone>'s A record
    (`address`); then an SmtpPeer at `address` on a free port, named
    mx.<zone>. Returns (dns, peer, port); the relay's [relay] port is that
    port."""
    port = free_port()
    records = list(records) + [f"{d}. 300 IN MX 10 mx.{zone}." for d in mail_domains] + [
        f"mx.{zone}. 300 IN A {address}"]
    dns = DnsServer(zones=[zone], records=records)
    cleanups.append(dns.cleanup)
    dns.start()
    peer = SmtpPeer(address, port, hostname=f"mx.{zone}")
    cleanups.append(peer.cleanup)
    peer.start()
    return dns, peer, port


def received(test, peer, subject, log, timeout=10):
    """The peer's copy of the message whose Subject is `subject`; fails
    `test` with `log` (e.g. the sender's log tail) if none came in time."""
    needle = f"Subject: {subject}\r\n".encode()

    def find():
        for m in list(peer.messages):
            if needle in m.data:
                return m
        return None

    if not peer.wait(lambda: find() is not None, timeout):
        test.fail(f"the peer did not get '{subject}'\n{log()}")
    return find()
