"""tern's ACME client against pebble, Let's Encrypt's test CA, on loopback.

Each test runs its own pebble (Debian's 2.4, /usr/bin/pebble) on free
loopback ports, with a loopback unbound (dns_server.py) that resolves the
names to 127.0.0.1, and pebble's httpPort pointed at tern's HTTP-01
listener (or at a proxy in front of it that the test controls).

pebble's settings here, and why:
  - PEBBLE_VA_NOSLEEP=1: no random 0-15 s wait before each validation;
  - PEBBLE_WFE_NONCEREJECT=25: a quarter of good nonces are refused as
    badNonce, so the client's retry (RFC 8555 6.5) runs in every test;
  - PEBBLE_AUTHZREUSE=0: every order needs a fresh HTTP-01 validation
    (otherwise a renewal may reuse the valid authorization and never ask
    port 80, and the failed-challenge case could not fail);
  - PEBBLE_VA_ALWAYS_VALID is never set: every challenge is really fetched.
pebble 2.4 issues certificates valid for years and has no option for
shorter ones, so the renewal tests set tern's test-only acme.renew_after
(renew N seconds after not_before) instead of waiting two thirds of it.

What this proves:
  - first issuance: the smtp (STARTTLS) and submissions (implicit TLS)
    listeners serve a certificate for the hostname and the extra name that
    verifies against pebble's root (fetched from its management API), with
    the key in <data_dir>/acme/key.pem (mode 0600);
  - renewal: the served certificate changes, its key does not (TLSA 3 1 1
    stays valid), and an SMTP session opened before the swap completes;
  - a failed challenge (port 80 answers a wrong key authorization) is
    logged with pebble's reason and retried with a growing backoff, and the
    old certificate is kept until a later attempt succeeds;
  - pebble down at renewal time: logged, retried, renewed once it is back;
  - started as root with run_as = "nobody", the HTTP-01 listener on a
    port below 1024 is bound before the drop, and the acme/ files belong to
    the user (0600);
  - `tern acme rollkey` stages a new key and prints its TLSA 3 1 1 record;
    SIGHUP issues a certificate for it, which is then served (the record
    matches the served key) and becomes key.pem.
"""
import base64
import hashlib
import json
import os
import pwd
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dns_server import DnsServer
from tern_harness import Tern, free_port, main, wait_port

PEBBLE = "/usr/bin/pebble"
HOST = "mx.example.test"
EXTRA = "mail.example.test"
TIMEOUT = 60


def need_pebble(test):
    if not os.path.exists(PEBBLE):
        if os.environ.get("CI"):
            test.fail("pebble is not installed (scripts/deps.sh test)")
        test.skipTest("pebble is not installed")


class Pebble:
    """A pebble process with its own TLS certificate (for 127.0.0.1)."""

    def __init__(self, http_port, dns):
        self.tmp = tempfile.mkdtemp(prefix="tern-pebble-")
        self.port = free_port()
        self.mgmt_port = free_port()
        self.cert = os.path.join(self.tmp, "cert.pem")
        key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", self.cert], check=True, capture_output=True)
        self.config = os.path.join(self.tmp, "pebble.json")
        with open(self.config, "w") as f:
            json.dump({"pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
                "certificate": self.cert, "privateKey": key,
                "httpPort": http_port, "tlsPort": free_port(),
                "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
        self.dns = dns
        self.proc = None
        self.log_path = os.path.join(self.tmp, "pebble.log")

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self):
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="25",
                   PEBBLE_AUTHZREUSE="0")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PEBBLE, "-config", self.config, "-dnsserver", self.dns],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_port("127.0.0.1", self.port)
        wait_port("127.0.0.1", self.mgmt_port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
            self.log.close()
        self.proc = None

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def root_pem(self):
        """pebble's root (and intermediate): made anew at each start."""
        ctx = ssl.create_default_context(cafile=self.cert)
        out = ""
        for what in ("roots/0", "intermediates/0"):
            with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt_port}/{what}",
                                        context=ctx, timeout=10) as r:
                out += r.read().decode()
        return out


class Proxy:
    """pebble's httpPort when the test decides what port 80 answers:
    forwards to tern's HTTP-01 listener, or answers a wrong key
    authorization."""

    def __init__(self, target_port):
        self.wrong = False
        self.seen = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.seen += 1
                if proxy.wrong:
                    body, status = b"not-the-key-authorization", 200
                else:
                    try:
                        with urllib.request.urlopen(
                                f"http://127.0.0.1:{target_port}{self.path}", timeout=5) as r:
                            body, status = r.read(), r.status
                    except urllib.error.HTTPError as e:
                        body, status = e.read(), e.code
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def served_cert(port, roots, starttls):
    """The leaf tern serves on `port`, verified against `roots` (PEM) for
    HOST: (serial, public key DER, issuer CN)."""
    ctx = ssl.create_default_context(cadata=roots)
    if starttls:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s._host = HOST  # starttls() checks the name it connected to
            s.starttls(context=ctx)
            return cert_facts(s.sock)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            return cert_facts(s)


def cert_facts(sock):
    der = sock.getpeercert(binary_form=True)
    info = sock.getpeercert()
    pem = ssl.DER_cert_to_PEM_cert(der)
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=pem,
                         capture_output=True, text=True, check=True).stdout
    sans = sorted(v for k, v in info.get("subjectAltName", ()) if k == "DNS")
    return info["serialNumber"], pub, sans


class AcmeTest(unittest.TestCase):
    def setUp(self):
        need_pebble(self)
        self.dns = DnsServer(zones=["example.test"],
                             records=[f"{HOST}. 300 IN A 127.0.0.1",
                                      f"{EXTRA}. 300 IN A 127.0.0.1"]).start()
        self.addCleanup(self.dns.cleanup)
        self.http_port = free_port()

    def start(self, pebble_http_port=None, renew_after=None, retry_min="1s", run_as=None):
        self.pebble = Pebble(pebble_http_port or self.http_port, self.dns.forward.replace("@", ":"))
        self.pebble.start()
        self.addCleanup(self.pebble.stop)
        extra = ["[acme]", "enabled = true", f'directory = "{self.pebble.directory}"',
                 'email = "postmaster@example.test"', f'names = ["{EXTRA}"]',
                 f'listen = "127.0.0.1:{self.http_port}"', f'ca_file = "{self.pebble.cert}"',
                 f'retry_min = "{retry_min}"']
        if renew_after:
            extra.append(f'renew_after = "{renew_after}"')
        if run_as:
            extra.insert(0, f'run_as = "{run_as}"')
        self.t = Tern(hostname=HOST, accept_any_local_part=True, extra="\n".join(extra) + "\n")
        if run_as:
            # The dropped user reads the config and pebble's certificate.
            os.chmod(self.t.tmp, 0o711)
            os.chmod(self.pebble.tmp, 0o711)
            os.chmod(self.pebble.cert, 0o644)
        self.t.start()
        self.addCleanup(self.t.cleanup)
        wait_port("127.0.0.1", self.http_port)
        return self.t

    def wait_count(self, needle, count, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.t.read_log().count(needle) >= count:
                return
            time.sleep(0.1)
        self.fail(f"'{needle}' not seen {count} times\n{self.t.tail_log()}\n"
                  f"--- pebble ---\n{self.pebble.read_log()[-3000:]}")

    SWAPPED = "acme: listeners serve the new certificate"

    def test_first_issuance(self):
        t = self.start()
        self.wait_count(self.SWAPPED, 1)
        roots = self.pebble.root_pem()
        for port, starttls in ((t.port("smtp"), True), (t.port("submissions"), False)):
            serial, pub, sans = served_cert(port, roots, starttls)
            self.assertEqual(sans, sorted([HOST, EXTRA]))
        key = os.path.join(t.data_dir, "acme", "key.pem")
        for name in ("key.pem", "account.pem", "chain.pem"):
            mode = os.stat(os.path.join(t.data_dir, "acme", name)).st_mode & 0o777
            self.assertEqual(mode, 0o600, name)
        key_pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], capture_output=True,
                                 text=True, check=True).stdout
        self.assertEqual(pub, key_pub)
        # Really validated over HTTP-01 (not a reused or always-valid authorization).
        self.assertIn("acme: challenge answered", t.read_log())

    def test_renewal_keeps_key_and_sessions(self):
        t = self.start(renew_after="8s")
        self.wait_count(self.SWAPPED, 1)
        roots = self.pebble.root_pem()
        serial1, pub1, _ = served_cert(t.port("submissions"), roots, False)
        # A session opened (and in TLS) before the renewal...
        ctx = ssl.create_default_context(cadata=roots)
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=30)
        s._host = HOST  # starttls() checks the name it connected to
        s.starttls(context=ctx)
        s.ehlo("client.example.test")
        s.mail("sender@example.org")
        self.wait_count(self.SWAPPED, 2)
        serial2, pub2, _ = served_cert(t.port("submissions"), roots, False)
        self.assertNotEqual(serial1, serial2)
        self.assertEqual(pub1, pub2)  # the key is kept: TLSA 3 1 1 stays valid
        # ... still completes after it.
        self.assertEqual(s.rcpt("alice@example.test")[0], 250)
        code, _ = s.data(b"Subject: across a renewal\r\n\r\nhello\r\n")
        s.quit()
        self.assertEqual(code, 250)
        self.assertEqual(len(t.wait_messages("alice@example.test", 1)), 1)

    def test_failed_challenge_is_retried_and_old_certificate_kept(self):
        proxy = Proxy(self.http_port)
        self.addCleanup(proxy.stop)
        t = self.start(pebble_http_port=proxy.port, renew_after="3s")
        self.wait_count(self.SWAPPED, 1)
        roots = self.pebble.root_pem()
        proxy.wrong = True
        self.wait_count("acme: issuance failed", 2)
        log = t.read_log()
        self.assertIn("attempt=1", log)
        self.assertIn("attempt=2", log)
        self.assertIn("unauthorized", log)  # pebble's reason, passed on
        # Backoff: the waits announced grow (1 s, then about 2 s; +-10%).
        waits = [int(line.split("retry_in=")[1].split("s")[0])
                 for line in log.splitlines() if "acme: issuance failed" in line]
        self.assertLessEqual(waits[0], waits[1])
        serial_old, _, _ = served_cert(t.port("submissions"), roots, False)
        self.assertEqual(t.read_log().count(self.SWAPPED), 1)  # nothing swapped
        proxy.wrong = False
        self.wait_count(self.SWAPPED, 2)
        serial_new, _, _ = served_cert(t.port("submissions"), roots, False)
        self.assertNotEqual(serial_old, serial_new)

    def test_pebble_down_at_renewal(self):
        t = self.start(renew_after="3s")
        self.wait_count(self.SWAPPED, 1)
        self.pebble.stop()
        self.wait_count("acme: issuance failed", 2)
        self.assertIn("Couldn't connect", t.read_log())
        t.assert_running()
        self.pebble.start()  # same ports; a new root, a new account
        self.wait_count(self.SWAPPED, 2)
        served_cert(t.port("submissions"), self.pebble.root_pem(), False)


    def test_rollkey(self):
        t = self.start()
        self.wait_count(self.SWAPPED, 1)
        roots = self.pebble.root_pem()
        _, pub_old, _ = served_cert(t.port("submissions"), roots, False)
        out = t.tern("acme", "rollkey").stdout
        current = re.search(r"^current: _25\._tcp\.mx\.example\.test\. IN TLSA 3 1 1 ([0-9a-f]{64})$",
                            out, re.M)
        nxt = re.search(r"^next: _25\._tcp\.mx\.example\.test\. IN TLSA 3 1 1 ([0-9a-f]{64})$",
                        out, re.M)
        self.assertTrue(current and nxt, out)
        self.assertEqual(current.group(1), spki_sha256(pub_old))
        self.assertNotEqual(current.group(1), nxt.group(1))
        # Staged only: nothing changes until the reload.
        self.assertEqual(t.read_log().count(self.SWAPPED), 1)
        t.reload()
        self.wait_count(self.SWAPPED, 2)
        _, pub_new, _ = served_cert(t.port("submissions"), roots, False)
        self.assertEqual(spki_sha256(pub_new), nxt.group(1))
        acme_dir = os.path.join(t.data_dir, "acme")
        self.assertFalse(os.path.exists(os.path.join(acme_dir, "key.next.pem")))
        status = t.tern("acme", "status").stdout
        self.assertIn("key: _25._tcp.mx.example.test. IN TLSA 3 1 1 " + nxt.group(1), status)


    @unittest.skipUnless(os.geteuid() == 0 or os.environ.get("CI"),
                         "needs root (port 80 bound before the privilege drop)")
    def test_privileged_port_bound_before_the_drop(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root; this one needs it")
        # A free port below 1024 (80 itself may be taken on a shared machine).
        self.http_port = next(p for p in [80] + list(range(1023, 900, -1)) if port_free(p))
        t = self.start(run_as="nobody")
        self.assertTrue(t.wait_log("running as user nobody"), t.tail_log())
        self.wait_count(self.SWAPPED, 1)
        uid = pwd.getpwnam("nobody").pw_uid
        for name in ("account.pem", "key.pem", "chain.pem"):
            st = os.stat(os.path.join(t.data_dir, "acme", name))
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (uid, 0o600), name)
        served_cert(t.port("submissions"), self.pebble.root_pem(), False)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def spki_sha256(pub_pem):
    """A TLSA 3 1 1 record's data, from a PEM public key (SubjectPublicKeyInfo)."""
    body = "".join(l for l in pub_pem.splitlines() if not l.startswith("-----"))
    return hashlib.sha256(base64.b64decode(body)).hexdigest()


if __name__ == "__main__":
    main()
