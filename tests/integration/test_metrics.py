"""The Prometheus endpoint ([metrics], docs/metrics.md) of the real tern.

What this proves, against a server on loopback with the endpoint on a free
port:
  - mail sent over every listener kind moves the metrics by exactly what
    was sent: connections, accepted messages, refusals by command and reply
    code, AUTH successes and failures by mechanism, inbound TLS versions,
    a per-user limit, SPF/DKIM/DMARC results, local deliveries with their
    latency histogram, a remote recipient deferred and waiting in the
    queue, the served certificate's notAfter;
  - `promtool check metrics` (Prometheus' own linter) accepts the output;
  - a real Prometheus scraping it every second reports the target up and
    the same counter value the test sent;
  - only GET /metrics is served (other paths 404), and a bare port in
    `listen` binds loopback 127.0.0.1 only (127.0.0.2, also loopback,
    is refused);
  - relaying to two MX peers (one with STARTTLS, one whose STARTTLS
    breaks): remote deliveries, outbound TLS handshakes, failures and
    certificate verification;
  - the certificate expiry gauge follows a new certificate at SIGHUP;
  - a command timeout is counted (and its 421, with no command);
  - as root, a privileged metrics port is bound before the drop and every
    thread (the HTTP ones included) runs as the dropped user;
  - without [metrics] nothing listens for it.

promtool and prometheus come from Debian's prometheus package; without it
the Prometheus parts skip on a dev machine and fail when CI is set.
"""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from dns_server import DnsServer
from smtp_peer import SmtpPeer
from tern_harness import Tern, free_port, main, unreachable_dns

DOMAIN = "example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "correct horse battery staple"
REMOTE = "someone@remote.test"  # [dns] never answers: stays queued
OUTSIDER = "sender@remote.test"  # SPF temperror: [dns] never answers
TIMEOUT = 10

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


def need(tool, name):
    if tool:
        return
    if os.environ.get("CI"):
        raise AssertionError(f"{name} is missing (Debian package prometheus; scripts/deps.sh test)")
    raise unittest.SkipTest(f"{name} is not installed")


def http_get(port, path, host="127.0.0.1", method="GET"):
    """(status, content type, body) of one request."""
    req = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels.items())): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def message(subject, to=BOB):
    return (f"From: {ALICE}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello\r\n").encode()


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port()
        # check_loopback: SPF, DKIM and DMARC run for these loopback clients;
        # DNS never answers, so SPF is temperror ("mark": still accepted).
        extra = ("check_loopback = true\n"
                 "[spf]\non_temperror = \"mark\"\n" + unreachable_dns() +
                 f'[metrics]\nlisten = "{cls.metrics_port}"\n')
        t = Tern(domains=[DOMAIN], extra=extra, limits={"messages_per_hour_per_user": 2})
        try:
            t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
            t.start()
        except BaseException:
            t.cleanup()
            raise
        cls.t = t

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()

    def scrape(self):
        status, ctype, body = http_get(self.metrics_port, "/metrics")
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        return body

    def wait_value(self, want, name, timeout=TIMEOUT, **labels):
        deadline = time.time() + timeout
        while True:
            got = value(parse(self.scrape()), name, **labels)
            if got == want or time.time() >= deadline:
                self.assertEqual(got, want, f"{name}{labels}\n{self.t.tail_log()}")
                return
            time.sleep(0.1)

    def test_1_mail_moves_the_metrics(self):
        t = self.t
        # The harness's readiness probes (a connect and close on each port)
        # are counted on the loop, maybe after start() returned: wait until
        # each listener counted one and none is open, then take the baseline.
        deadline = time.time() + TIMEOUT
        while True:
            before = parse(self.scrape())
            counted = {dict(labels)["listener"] for (n, labels), v in before.items()
                       if n == "tern_connections_total" and v > 0}
            still_open = sum(v for (n, _), v in before.items() if n == "tern_connections_open")
            if (len(counted) == 3 and still_open == 0) or time.time() >= deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(counted), 3, before)
        self.assertEqual(value(before, "tern_messages_accepted_total", listener="smtp"), 0)
        # smtp: two messages accepted, two recipients refused (unknown
        # user 550 5.1.1, relaying 550 5.7.1).
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.example")
            for i in range(2):
                s.sendmail(OUTSIDER, [BOB], message(f"mx {i}"))
            s.mail(OUTSIDER)
            self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
            self.assertEqual(s.rcpt(REMOTE)[0], 550)
            s.rset()
        # submission: STARTTLS, a wrong password (535), then PLAIN; one
        # message to a remote domain (deferred: DNS never answers).
        with smtplib.SMTP("localhost", t.port("submission"), timeout=TIMEOUT) as s:
            s.starttls(context=t.ssl_context())
            s.ehlo()
            # One mechanism only (login() would go on to LOGIN after PLAIN).
            s.user, s.password = ALICE, "wrong"
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [REMOTE], message("out", REMOTE))
        # submissions: implicit TLS; alice's second message this hour, and
        # the third is refused by messages_per_hour_per_user = 2.
        with smtplib.SMTP_SSL("localhost", t.port("submissions"), timeout=TIMEOUT,
                              context=t.ssl_context()) as s:
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [BOB], message("sub"))
            code, _ = s.mail(ALICE)
            self.assertEqual(code, 451)
        self.assertEqual(len(t.wait_messages(BOB, 3)), 3)

        m = parse(self.scrape())
        self.assertEqual(value(m, "tern_messages_accepted_total", listener="smtp"), 2)
        self.assertEqual(value(m, "tern_messages_accepted_total", listener="submission"), 1)
        self.assertEqual(value(m, "tern_messages_accepted_total", listener="submissions"), 1)
        self.assertEqual(value(m, "tern_smtp_refusals_total", listener="smtp", command="RCPT",
                               code="550"), 2)
        self.assertEqual(value(m, "tern_smtp_refusals_total", listener="submission",
                               command="AUTH", code="535"), 1)
        self.assertEqual(value(m, "tern_smtp_refusals_total", listener="submissions",
                               command="MAIL", code="451"), 1)
        self.assertEqual(value(m, "tern_auth_attempts_total", mechanism="PLAIN",
                               result="success"), 2)
        self.assertEqual(value(m, "tern_auth_attempts_total", mechanism="PLAIN",
                               result="failure"), 1)
        self.assertEqual(value(m, "tern_limit_refusals_total", limit="messages_per_hour_per_user"),
                         1)
        for kind in ("smtp", "submission", "submissions"):
            # One each (the readiness probes are in `before`).
            accepted = dict(listener=kind, outcome="accepted")
            self.assertEqual(value(m, "tern_connections_total", **accepted)
                             - value(before, "tern_connections_total", **accepted), 1, kind)
            self.assertGreater(value(m, "tern_received_bytes_total", listener=kind), 0, kind)
            self.assertGreater(value(m, "tern_sent_bytes_total", listener=kind), 0, kind)
        tls13 = value(m, "tern_tls_handshakes_total", direction="inbound", version="TLSv1.3")
        tls12 = value(m, "tern_tls_handshakes_total", direction="inbound", version="TLSv1.2")
        self.assertEqual(tls13 + tls12, 2)
        # SPF once per transaction on the smtp listener, at its first RCPT
        # (the third, whose recipients were refused, too); DKIM and DMARC
        # once per message at its end (no DKIM signature on either).
        self.assertEqual(value(m, "tern_spf_results_total", result="temperror"), 3)
        self.assertEqual(value(m, "tern_dkim_results_total", result="none"), 2)
        dmarc = sum(v for (n, _), v in m.items() if n == "tern_dmarc_results_total")
        self.assertEqual(dmarc, 2)

        # Deliveries: three local (Maildir written above; the record and
        # the metric follow), one remote deferred and waiting in the queue.
        self.wait_value(3, "tern_deliveries_total", result="delivered", destination="local")
        self.wait_value(1, "tern_deliveries_total", result="deferred", destination="remote")
        self.wait_value(1, "tern_queue_messages", state="deferred")
        m = parse(self.scrape())
        self.assertEqual(value(m, "tern_delivery_latency_seconds_count", destination="local"), 3)
        self.assertEqual(value(m, "tern_delivery_latency_seconds_bucket", destination="local",
                               le="+Inf"), 3)
        self.assertGreaterEqual(value(m, "tern_queue_oldest_message_age_seconds",
                                      state="deferred"), 0)
        self.assertEqual(value(m, "tern_queue_messages", state="active"), 0)

        # The served certificate's notAfter (the generated self-signed one).
        cert = ssl._ssl._test_decode_cert(t.cert_path())
        self.assertEqual(value(m, "tern_tls_certificate_expiry_timestamp_seconds"),
                         ssl.cert_time_to_seconds(cert["notAfter"]))
        self.assertGreater(value(m, "tern_start_time_seconds"), 1.7e9)

    def test_2_promtool_accepts_the_output(self):
        need(PROMTOOL, "promtool")
        text = self.scrape()
        # Labelled families have children by now (test_1 ran first).
        self.assertIn("tern_delivery_latency_seconds_bucket", text)
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"promtool:\n{r.stdout}{r.stderr}\n--- metrics ---\n{text}")

    def test_3_prometheus_scrapes_it(self):
        need(PROMETHEUS, "prometheus")
        sent = value(parse(self.scrape()), "tern_messages_accepted_total", listener="smtp")
        with smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=TIMEOUT) as s:
            s.sendmail(OUTSIDER, [BOB], message("for prometheus"))
        sent += 1
        tmp = tempfile.mkdtemp(prefix="tern-prom-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: tern\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.metrics_port}']\n")
        web = free_port()
        log = open(os.path.join(tmp, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                                 f"--web.listen-address=127.0.0.1:{web}"],
                                stdout=log, stderr=subprocess.STDOUT)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.addCleanup(stop)

        def api(path):
            try:
                status, _, body = http_get(web, path)
            except OSError:
                return None  # not listening yet
            return json.loads(body) if status == 200 else None

        def prom_log():
            with open(os.path.join(tmp, "prometheus.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]

        deadline = time.time() + 60
        up = got = None
        while time.time() < deadline and (up != "up" or got != sent):
            self.assertIsNone(proc.poll(), "prometheus exited:\n" + prom_log())
            targets = api("/api/v1/targets")
            if targets:
                active = targets["data"]["activeTargets"]
                up = active[0]["health"] if active else None
            q = api("/api/v1/query?query=" + urllib.request.quote(
                'tern_messages_accepted_total{job="tern",listener="smtp"}'))
            if q and q["data"]["result"]:
                got = float(q["data"]["result"][0]["value"][1])
            time.sleep(0.2)
        self.assertEqual(up, "up", prom_log())
        self.assertEqual(got, sent, prom_log())

    def test_4_only_metrics_is_served(self):
        for path in ("/", "/metrics/", "/metrics/x", "/other", "/metricsx"):
            self.assertEqual(http_get(self.metrics_port, path)[0], 404, path)
        self.assertEqual(http_get(self.metrics_port, "/metrics", method="HEAD")[0], 200)
        self.assertIn(http_get(self.metrics_port, "/metrics", method="POST")[0], (404, 405))

    def test_5_bare_port_binds_loopback_only(self):
        # 127.0.0.2 is loopback too: it connects only if tern bound every
        # address, which a bare port must not mean.
        with socket.socket() as s:
            s.settimeout(TIMEOUT)
            self.assertNotEqual(s.connect_ex(("127.0.0.2", self.metrics_port)), 0)
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=TIMEOUT):
            pass


def make_cert(directory, days):
    """A self-signed certificate for mx.example.test valid `days` days:
    (cert path, key path, notAfter as unix seconds)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", str(days), "-subj",
                    "/CN=mx.example.test", "-keyout", key + ".new", "-out", cert + ".new"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key + ".new", 0o600)
    os.replace(key + ".new", key)
    os.replace(cert + ".new", cert)
    not_after = ssl._ssl._test_decode_cert(cert)["notAfter"]
    return cert, key, ssl.cert_time_to_seconds(not_after)


class CertificateExpiryTest(unittest.TestCase):
    def test_set_at_start_and_reload(self):
        certs = tempfile.mkdtemp(prefix="tern-certs-")
        self.addCleanup(shutil.rmtree, certs, ignore_errors=True)
        cert, key, first = make_cert(certs, 10)
        port = free_port()
        t = Tern(domains=[DOMAIN], kinds=("smtp",), extra=f'[metrics]\nlisten = "{port}"\n',
                 tls={"certificate": cert, "private_key": key})
        self.addCleanup(t.cleanup)
        t.start()

        def expiry():
            status, _, body = http_get(port, "/metrics")
            self.assertEqual(status, 200)
            return value(parse(body), "tern_tls_certificate_expiry_timestamp_seconds")
        self.assertEqual(expiry(), first)
        _, _, second = make_cert(certs, 20)
        self.assertNotEqual(first, second)
        t.reload()
        self.assertIn("SIGHUP: configuration reloaded", t.read_log())
        self.assertEqual(expiry(), second)


@unittest.skipUnless(os.geteuid() == 0 or os.environ.get("CI"), "needs root")
class PrivilegedPortTest(unittest.TestCase):
    """Bound as root before the drop (a port below 1024), served by threads
    that, like every other, run as the dropped user."""

    def test_privileged_port_then_drop(self):
        self.assertEqual(os.geteuid(), 0, "CI runs the integration tests as root")
        port = None
        for p in range(990, 600, -1):  # a free privileged loopback port
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    continue
            port = p
            break
        self.assertIsNotNone(port)
        t = Tern(domains=[DOMAIN], kinds=("smtp",),
                 extra=f'run_as = "nobody"\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
        self.addCleanup(t.cleanup)
        os.chmod(t.tmp, 0o711)  # the dropped user reaches its data dir
        t.start()
        self.assertTrue(t.wait_log("running as user nobody"), t.tail_log())
        status, _, body = http_get(port, "/metrics")
        self.assertEqual(status, 200, t.tail_log())
        self.assertIn("tern_connections_total", body)
        uid = pwd.getpwnam("nobody").pw_uid
        for path in glob.glob(f"/proc/{t.proc.pid}/task/*/status"):
            with open(path) as f:
                uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
            self.assertEqual(uids, [str(uid)] * 4, path)


class OutboundTest(unittest.TestCase):
    """Relaying to two MX peers on loopback (smtp_peer.py, DNS from
    dns_server.py): one with STARTTLS and a self-signed certificate, one
    whose STARTTLS is broken (retried in plaintext)."""

    def test_outbound_tls_and_remote_deliveries(self):
        zone = "out.test"
        port = free_port()
        dns = DnsServer(zones=[zone], records=[
            f"good.{zone}. 300 IN MX 10 mx3.{zone}.", f"mx3.{zone}. 300 IN A 127.0.0.3",
            f"bad.{zone}. 300 IN MX 10 mx4.{zone}.", f"mx4.{zone}. 300 IN A 127.0.0.4"])
        self.addCleanup(dns.cleanup)
        dns.start()
        good = SmtpPeer("127.0.0.3", port, hostname=f"mx3.{zone}")
        self.addCleanup(good.cleanup)
        good.start()
        bad = SmtpPeer("127.0.0.4", port, hostname=f"mx4.{zone}")
        bad.starttls = "broken"
        self.addCleanup(bad.cleanup)
        bad.start()
        mport = free_port()
        t = Tern(domains=[DOMAIN], kinds=("smtp", "submissions"), ports={"smtp": port},
                 extra=(f'[dns]\nforward = ["{dns.forward}"]\ntimeout = 2\n'
                        f'[relay]\nport = {port}\nconnect_timeout = "2s"\n'
                        f'[metrics]\nlisten = "{mport}"\n'))
        self.addCleanup(t.cleanup)
        t.add_users({ALICE: PASSWORD, BOB: PASSWORD})
        t.start()
        for rcpt in (f"x@good.{zone}", f"y@bad.{zone}"):
            with smtplib.SMTP_SSL("localhost", t.port("submissions"), timeout=TIMEOUT,
                                  context=t.ssl_context()) as s:
                s.login(ALICE, PASSWORD)
                s.sendmail(ALICE, [rcpt], message("out", rcpt))
        self.assertEqual(len(good.wait_messages(1)), 1, t.tail_log())
        self.assertEqual(len(bad.wait_messages(1)), 1, t.tail_log())

        deadline = time.time() + TIMEOUT
        while True:
            m = parse(http_get(mport, "/metrics")[2])
            delivered = value(m, "tern_deliveries_total", result="delivered", destination="remote")
            if delivered == 2 or time.time() >= deadline:
                break
            time.sleep(0.1)
        self.assertEqual(delivered, 2, t.tail_log())
        self.assertEqual(value(m, "tern_delivery_latency_seconds_count", destination="remote"), 2)
        self.assertEqual(value(m, "tern_tls_handshake_failures_total", direction="outbound"), 1)
        outbound = sum(v for (n, labels), v in m.items() if n == "tern_tls_handshakes_total"
                       and ("direction", "outbound") in labels)
        self.assertEqual(outbound, 1)
        self.assertEqual(value(m, "tern_tls_peer_verification_total", direction="outbound",
                               result="unverified"), 1)
        self.assertEqual(value(m, "tern_queue_messages", state="deferred"), 0)


class TimeoutTest(unittest.TestCase):
    def test_command_timeout_is_counted(self):
        port = free_port()
        t = Tern(domains=[DOMAIN], kinds=("smtp",), limits={"command_timeout": 1},
                 extra=f'[metrics]\nlisten = "{port}"\n')
        self.addCleanup(t.cleanup)
        t.start()
        with socket.create_connection(("127.0.0.1", t.port("smtp")), timeout=TIMEOUT) as s:
            data = b""
            while True:  # the greeting, then (saying nothing) 421 and EOF
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertIn(b"421 4.4.2", data)
        m = parse(http_get(port, "/metrics")[2])
        self.assertEqual(value(m, "tern_timeouts_total", waiting="command"), 1, t.tail_log())
        self.assertEqual(value(m, "tern_smtp_refusals_total", listener="smtp", command="none",
                               code="421"), 1)


class NoMetricsTest(unittest.TestCase):
    def test_off_without_section(self):
        with Tern(domains=[DOMAIN]) as t:
            self.assertTrue(t.wait_log(" started hostname="), t.tail_log())
            self.assertNotIn("metrics listening", t.read_log())


if __name__ == "__main__":
    main()
