"""The sending side of the DANE tests (test_dane.py, test_dane_postfix.py):
a tern that relays through the validating resolver of a DnssecDns
(dnssec_zone.py), trusting its anchor, so that it finds TLSA records at
_P._tcp.<MX host> for MX hosts listening on P.

    cls.dns = DnssecDns(); ...; cls.dns.start()
    cls.a = start_dane_sender(cls.cleanups, cls.dns, P, ALICE, PASSWORD)

DnssecServers starts and stops them with the test class. The peers, the
zones and the certificates stay with each test: they are what it checks.
"""
import dnssec_zone
from dnssec_zone import DnssecDns
from tern_harness import ClassServers, Tern, dns_toml, fail_if_ci, relay_toml


class DnssecServers(ClassServers):
    """ClassServers for a class whose servers include a DnssecDns: skipped
    without nsd, ldnsutils or unbound (a failure under CI). new_dns() makes
    the class's DnssecDns (not started: the test adds its zones), stopped
    with the class."""

    @classmethod
    def setUpClass(cls):
        fail_if_ci(dnssec_zone.missing(), "DNSSEC peers")
        super().setUpClass()

    @classmethod
    def new_dns(cls, **kwargs):
        cls.dns = DnssecDns(**kwargs)
        cls.cleanups.append(cls.dns.cleanup)
        return cls.dns


def start_dane_sender(cleanups, dns, port, user, password, more=""):
    """Starts tern A for user's domain (host name mx.<domain>; smtp on
    loopback port `port`, submission on a free one) relaying to MX hosts at
    `port` through `dns` (a started DnssecDns) with DNSSEC validation on;
    `user` may submit with `password`; `more` is TOML appended to its
    config. Its cleanup (stop, temp dir removed) is appended to `cleanups`.
    Returns the started Tern."""
    domain = user.split("@", 1)[1]
    extra = dns_toml(dns, timeout=3, dnssec=True) + relay_toml(port) + more
    a = Tern(domains=[domain], hostname=f"mx.{domain}", kinds=("smtp", "submission"),
             ports={"smtp": port}, extra=extra)
    cleanups.append(a.cleanup)
    a.add_users({user: password})
    a.start()
    return a
