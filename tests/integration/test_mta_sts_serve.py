"""Serving our own MTA-STS policy ([mta_sts] serve, RFC 8461 3.2, 3.3) and
`tern check DOMAIN`'s transport-security findings, against real servers:
tern serves the policy over HTTPS with a certificate of a test CA
(local_ca.py); Python's ssl fetches it as a sender would (the CA trusted,
the name mta-sts.<domain> checked); unbound on loopback (dns_server.py)
publishes the records; `tern check` fetches the policy from tern itself.

What this proves:
  - GET https://mta-sts.<domain>/.well-known/mta-sts.txt answers 200, media
    type text/plain, the policy of the config (enforce, mx, max_age), and
    other paths 404;
  - the certificate is the listeners' one, and a new one (files replaced,
    SIGHUP) is presented from the next handshake on, without a restart;
  - the served policy's id (logged) is the start of SHA-256 of its text;
  - `tern check` on a domain set up right: ok for the _mta-sts record, the
    policy fetched and matched to the MX hosts, the TLS-RPT record and this
    server's TLSA 3 1 1 record (the SHA-256 of the served certificate's
    SPKI, as openssl computes it);
  - on a domain set up wrong (stale id, an MX outside the policy, no
    TLS-RPT record, two _mta-sts records on a third): a warning for the
    id with the record to publish, FAIL for the MX host, a warning with a
    suggested TLS-RPT record, FAIL for the records, and exit status 1.
"""
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import unittest

from dns_server import DnsServer
from tern_harness import TERN_BIN, ClassServers, Tern, dns_toml, free_port, main
from local_ca import TestCa

D = "example.test"
BAD = "bad.test"
MULTI = "multi.test"
HOST = f"mx.{D}"
POLICY = f"version: STSv1\nmode: enforce\nmx: {HOST}\nmx: *.mx.{D}\nmax_age: 86400\n"
POLICY_ID = hashlib.sha256(POLICY.encode()).hexdigest()[:32]


def spki_sha256(cert):
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


class MtaStsServeTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-sts-serve-")
        cls.ca = TestCa(cls.tmp)
        names = [HOST, f"mta-sts.{D}", f"mta-sts.{BAD}", f"mta-sts.{MULTI}"]
        cert, key = cls.ca.issue(*names)
        cls.cert = os.path.join(cls.tmp, "server.pem")
        cls.key = os.path.join(cls.tmp, "server.key")
        shutil.copy(cert, cls.cert)
        shutil.copy(key, cls.key)
        cls.next_cert, cls.next_key = cls.ca.issue(*names)
        cls.HP = free_port()
        records = [
            f"{D}. 300 IN MX 10 {HOST}.",
            f"{HOST}. 300 IN A 127.0.0.1",
            f'_mta-sts.{D}. 300 IN TXT "v=STSv1; id={POLICY_ID}"',
            f"mta-sts.{D}. 300 IN CNAME {HOST}.",
            f'_smtp._tls.{D}. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@{D}"',
            f"{BAD}. 300 IN MX 10 {HOST}.",
            f"{BAD}. 300 IN MX 20 mx.elsewhere.{BAD}.",
            f"mx.elsewhere.{BAD}. 300 IN A 127.0.0.1",
            f'_mta-sts.{BAD}. 300 IN TXT "v=STSv1; id=stale1"',
            f"mta-sts.{BAD}. 300 IN A 127.0.0.1",
            f"{MULTI}. 300 IN MX 10 {HOST}.",
            f'_mta-sts.{MULTI}. 300 IN TXT "v=STSv1; id=a"',
            f'_mta-sts.{MULTI}. 300 IN TXT "v=STSv1; id=b"',
        ]
        cls.dns = DnsServer(zones=[D, BAD, MULTI], records=records)
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()
        extra = (dns_toml(cls.dns) +
                 "[mta_sts]\nserve = true\n"
                 f'listen = "127.0.0.1:{cls.HP}"\nmode = "enforce"\n'
                 f'mx = ["{HOST}", "*.mx.{D}"]\nmax_age = 86400\n'
                 f'ca_file = "{cls.ca.cert}"\nhttps_port = {cls.HP}\n')
        cls.t = Tern(domains=[D], hostname=HOST, kinds=("smtp",), extra=extra,
                     tls={"certificate": cls.cert, "private_key": cls.key})
        cls.cleanups.append(cls.t.cleanup)
        cls.t.start()
        if not cls.t.wait_log("listening kind=mta-sts-https"):
            raise RuntimeError("no HTTPS listener:\n" + cls.t.tail_log())

    def get(self, path, name=f"mta-sts.{D}"):
        """GET over HTTPS, the CA trusted and `name` checked; returns
        (status, headers dict, body, the server certificate in DER)."""
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        with socket.create_connection(("127.0.0.1", self.HP), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                der = s.getpeercert(binary_form=True)
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
                          .encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, body.decode(), der

    def check(self, domain):
        return subprocess.run([TERN_BIN, "check", domain, "--config", self.t.config_path],
                              capture_output=True, text=True, timeout=60)

    def finding(self, out, level, topic, text):
        for line in out.splitlines():
            m = re.match(r"^(ok|warn|FAIL) +(\w+) +(.*)$", line)
            if m and m.group(1) == level and m.group(2) == topic and text in m.group(3):
                return line
        self.fail(f"no {level} {topic} finding with {text!r} in:\n{out}")

    def test_policy_served(self):
        status, headers, body, _ = self.get("/.well-known/mta-sts.txt")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"].split(";")[0], "text/plain")
        self.assertEqual(body, POLICY)
        self.assertIn(f"mta-sts: serving policy id={POLICY_ID} mode=enforce", self.t.read_log())
        status, _, _, _ = self.get("/.well-known/other.txt")
        self.assertEqual(status, 404)

    def test_certificate_follows_reload(self):
        with open(self.cert, "rb") as f:
            first = ssl.PEM_cert_to_DER_cert(f.read().decode())
        _, _, _, der = self.get("/.well-known/mta-sts.txt")
        self.assertEqual(der, first)
        shutil.copy(self.next_cert, self.cert)
        shutil.copy(self.next_key, self.key)
        self.t.reload()
        with open(self.next_cert, "rb") as f:
            second = ssl.PEM_cert_to_DER_cert(f.read().decode())
        _, _, body, der = self.get("/.well-known/mta-sts.txt")
        self.assertEqual(der, second)
        self.assertNotEqual(first, second)
        self.assertEqual(body, POLICY)

    def test_check_good_domain(self):
        p = self.check(D)
        out = p.stdout
        # SPF, DKIM and DMARC are not set up here (test_check.py covers
        # them): they fail; the transport-security findings must not.
        self.assertIn(p.returncode, (0, 1), out + p.stderr)
        self.finding(out, "ok", "sts", f"_mta-sts.{D} has MTA-STS id={POLICY_ID}")
        self.finding(out, "ok", "sts", f"policy mode=enforce mx={HOST},*.mx.{D} max_age=86400")
        self.finding(out, "ok", "tlsrpt", f'"v=TLSRPTv1; rua=mailto:tls-reports@{D}"')
        for line in out.splitlines():
            self.assertFalse(re.match(r"^(warn|FAIL) +(sts|tlsrpt|dane)", line), out)
        # Whichever certificate the reload test left: the check reads the file.
        self.finding(out, "ok", "dane",
                     f"_25._tcp.{HOST}. IN TLSA 3 1 1 {spki_sha256(self.cert)}")

    def test_check_bad_domain(self):
        p = self.check(BAD)
        out = p.stdout
        self.assertEqual(p.returncode, 1, out + p.stderr)
        self.finding(out, "warn", "sts", f"the published id stale1 is not the id of the policy")
        self.assertIn(f'_mta-sts.{BAD}. IN TXT "v=STSv1; id={POLICY_ID}"', out)
        self.finding(out, "FAIL", "sts", f"MX host mx.elsewhere.{BAD} is not in the policy's mx")
        self.finding(out, "warn", "tlsrpt", f"{BAD} has no TLS-RPT record")
        self.assertIn(f'_smtp._tls.{BAD}. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@{BAD}"', out)

    def test_check_two_records(self):
        p = self.check(MULTI)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.finding(p.stdout, "FAIL", "sts", "is not a valid MTA-STS record: 2 records")


if __name__ == "__main__":
    main()
