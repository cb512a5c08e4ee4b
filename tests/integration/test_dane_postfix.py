"""DANE interop with Postfix, both ways, over real DNSSEC (dnssec_zone.py:
nsd with signed zones behind a validating unbound).

  - tern A delivers to a private Postfix (postfix_peer.py) whose MX host
    publishes TLSA 3 1 1 of Postfix's certificate: tern logs
    "dane=verified(3 1 1)";
  - the same Postfix, configured for DANE (smtp_tls_security_level = dane,
    smtp_dns_support_level = dnssec), relays to tern B by MX, and
    authenticates tern B by its TLSA record: Postfix logs "Verified TLS
    connection established" and tern B stores the message.

Postfix asks the system resolver (glibc, /etc/resolv.conf, which has no
port and which the machine's other programs use): it runs in a mount
namespace of its own (unshare -m) where /etc/resolv.conf names an address
on which the test unbound also listens at port 53, with "options
trust-ad" so that glibc passes the AD bit on. Nothing outside that
namespace sees the change.

Needs root, postfix, nsd, ldnsutils, unbound, unshare (util-linux) and
python3-cryptography (scripts/deps.sh test): skipped on a dev machine
without them, failed under CI.
"""
import os
import random
import shutil
import smtplib
import socket
import subprocess
import time
import unittest

from cryptography import x509

import dnssec_zone
import postfix_peer
from dnssec_zone import DnssecDns
from postfix_peer import POSTFIX, PostfixPeer
from dane_setup import start_dane_sender
from tern_harness import ClassServers, Tern, fail_if_ci, free_port, main, wait_port
from test_dane import make_cert, message, spki_sha256

Z = "dane.test"
PF = f"pf.{Z}"  # Postfix's domain
B = f"b.{Z}"  # tern B's domain
A_DOMAIN = "a.sender.test"
ALICE = f"alice@{A_DOMAIN}"
PASSWORD = "dane postfix test password"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def resolver_address():
    """A loopback address whose port 53 is free (UDP and TCP)."""
    for _ in range(50):
        ip = f"127.53.{random.randrange(1, 255)}.{random.randrange(1, 255)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((ip, 53))
                t.bind((ip, 53))
            return ip
        except OSError:
            continue
    raise RuntimeError("no loopback address with port 53 free")


class DanePostfix(PostfixPeer):
    """A private Postfix whose SMTP client does DANE through `resolver`,
    sending mail for `relay_domain` to its MX hosts at `port`."""

    def __init__(self, host, port, domain, mailboxes, resolver, relay_domain):
        super().__init__(host, port, domain, mailboxes)
        main_cf = os.path.join(self.etc, "main.cf")
        with open(main_cf) as f:
            text = f.read()
        text = text.replace("disable_dns_lookups = yes\n", "")
        text = text.replace("smtp_dns_support_level = disabled\n", "")
        text += (
            "smtp_dns_support_level = dnssec\n"
            "smtp_tls_security_level = dane\n"
            "smtp_tls_loglevel = 1\n"
            "smtp_host_lookup = dns\n"
            # "domain:port": MX lookup, then each MX host at that port
            # (whose TLSA records are at _port._tcp.host).
            f"transport_maps = inline:{{ {relay_domain}=smtp:{relay_domain}:{port} }}\n"
            "smtp_connect_timeout = 5s\n"
            "maximal_backoff_time = 10s\n"
            "minimal_backoff_time = 5s\n"
            "queue_run_delay = 5s\n")
        with open(main_cf, "w") as f:
            f.write(text)
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write(f"nameserver {resolver}\noptions edns0 trust-ad\n")
        self.cert_file = os.path.join(self.etc, "peer-cert.pem")

    def start(self, timeout=30):
        # master and every daemon it starts stay in the new mount namespace.
        script = (f'mount --bind "{self.resolv}" /etc/resolv.conf && '
                  f'exec "{POSTFIX}" -c "{self.etc}" start')
        r = subprocess.run([UNSHARE, "-m", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed ({r.returncode}):\n{r.stdout}{r.stderr}\n"
                               f"{self.read_log()}")
        try:
            wait_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise RuntimeError("postfix did not listen:\n" + self.read_log())
        return self


class DanePostfixTest(ClassServers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = postfix_peer.available() or dnssec_zone.missing()
        if not why and not os.access(UNSHARE, os.X_OK):
            why = "unshare (util-linux) is not installed"
        fail_if_ci(why, "Postfix/DNSSEC peers")
        super().setUpClass()

    @classmethod
    def _start(cls):
        cls.P = P = free_port()
        cls.dns = DnssecDns(port53=resolver_address())
        cls.cleanups.append(cls.dns.cleanup)
        cls.pf = DanePostfix("127.0.0.9", P, PF, [f"ok@{PF}"], cls.dns.port53, B)
        cls.cleanups.append(cls.pf.cleanup)
        with open(cls.pf.cert_file, "rb") as f:
            pf_cert = x509.load_pem_x509_certificate(f.read())
        b_cert = make_cert(cls.dns.tmp, "tern-b", f"mx-b.{Z}")
        cls.dns.zone(Z, [
            f"{PF}. 300 IN MX 10 mx-pf.{Z}.",
            f"mx-pf.{Z}. 300 IN A 127.0.0.9",
            f"_{P}._tcp.mx-pf.{Z}. 300 IN TLSA 3 1 1 {spki_sha256(pf_cert)}",
            f"{B}. 300 IN MX 10 mx-b.{Z}.",
            f"mx-b.{Z}. 300 IN A 127.0.0.10",
            f"_{P}._tcp.mx-b.{Z}. 300 IN TLSA 3 1 1 {spki_sha256(b_cert[0])}",
        ])
        cls.dns.start()
        cls.pf.start()
        cls.b = Tern(domains=[B], hostname=f"mx-b.{Z}", host="127.0.0.10", kinds=("smtp",),
                     ports={"smtp": P}, accept_any_local_part=True,
                     tls={"certificate": b_cert[2], "private_key": b_cert[3]})
        cls.cleanups.append(cls.b.cleanup)
        cls.b.start()
        cls.a = start_dane_sender(cls.cleanups, cls.dns, P, ALICE, PASSWORD)

    def diagnostics(self):
        return (f"--- tern A\n{self.a.tail_log(40)}\n--- tern B\n{self.b.tail_log(20)}\n"
                f"--- postfix\n{self.pf.read_log()[-4000:]}\n{self.dns.read_logs()}")

    def test_tern_delivers_to_postfix_by_dane(self):
        rcpt = f"ok@{PF}"
        with smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=10) as s:
            s.starttls(context=self.a.ssl_context(check_hostname=False))
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [rcpt], message("tern to postfix", rcpt))
        msgs = self.pf.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.diagnostics())
        line = next((l for l in self.a.read_log().splitlines() if f"to=<{rcpt}>" in l), "")
        self.assertIn("status=sent", line, self.diagnostics())
        self.assertIn("dane=verified(3 1 1)", line)
        self.assertIn("policy=dane(dane)", line)

    def test_postfix_delivers_to_tern_by_dane(self):
        rcpt = f"someone@{B}"
        with smtplib.SMTP("127.0.0.9", self.P, timeout=10) as s:
            s.sendmail(f"sender@{PF}", [rcpt], message("postfix to tern", rcpt))
        deadline = time.time() + 30
        while time.time() < deadline and not self.b.messages(rcpt):
            time.sleep(0.1)
        msgs = self.b.messages(rcpt)
        self.assertEqual(len(msgs), 1, self.diagnostics())
        log = self.pf.read_log()
        # Postfix's own words for a DANE-authenticated peer (smtp_tls_loglevel 1).
        self.assertIn(f"Verified TLS connection established to mx-b.{Z}[127.0.0.10]:{self.P}",
                      log, self.diagnostics())
        self.assertIn(b"with ESMTPS", msgs[0])


if __name__ == "__main__":
    main()
