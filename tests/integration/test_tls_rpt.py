"""TLS-RPT reports (RFC 8460, src/tlsrpt/, docs/tls.md "TLS-RPT") sent by a
real `tern serve`: results of yesterday recorded as the relay records them
(`tern tls-rpt record`, the same log), `_smtp._tls` records served by a real
DNS server (unbound on loopback, dns_server.py).

What this proves:
  - a domain whose rua is mailto: gets one report by mail through tern's
    queue: delivered by MX to an aiosmtpd peer on loopback, a
    multipart/report; report-type="tlsrpt" with RFC 8460 5.3's Subject,
    TLS-Report-Domain and TLS-Report-Submitter, and an application/tlsrpt+gzip
    attachment named per 5.1 whose gunzip'd JSON has 4.4's fields, types
    and values, with the recorded counts;
  - a domain whose rua is https: gets the gzip'd report by POST
    (Content-Type application/tlsrpt+gzip) at a loopback HTTPS server whose
    certificate comes from a test CA ([tls_rpt] ca_file);
  - a domain without a _smtp._tls record gets nothing; the day is then
    marked sent.
"""
import email
import email.policy
import gzip
import json
import os
import re
import ssl
import subprocess
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from relay_setup import start_mx_peer
from tern_harness import TERN_BIN, ClassServers, Tern, dns_toml, main, relay_toml

Z = "rpt.test"
MAIL_DOMAIN = f"mail.{Z}"  # rua=mailto:
WEB_DOMAIN = f"web.{Z}"    # rua=https:
NONE_DOMAIN = f"none.{Z}"  # no record
HOST = f"relay.{Z}"        # this server

RESULT_TYPES = {"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
                "certificate-not-trusted", "validation-failure", "tlsa-invalid",
                "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
                "sts-policy-invalid", "sts-webpki-invalid"}
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def check_report(test, report, domain):
    """RFC 8460 4.4 as checks (its schema is informal): required fields,
    types, enumerations."""
    for k in ("organization-name", "contact-info", "report-id"):
        test.assertIsInstance(report[k], str)
    for k in ("start-datetime", "end-datetime"):
        test.assertRegex(report["date-range"][k], DATE_TIME)
    test.assertIsInstance(report["policies"], list)
    for p in report["policies"]:
        pol = p["policy"]
        test.assertIn(pol["policy-type"], ("sts", "tlsa", "no-policy-found"))
        test.assertEqual(pol["policy-domain"], domain)
        for k in ("policy-string", "mx-host"):
            if k in pol:
                test.assertTrue(all(isinstance(s, str) for s in pol[k]), pol)
        s = p["summary"]
        test.assertIsInstance(s["total-successful-session-count"], int)
        test.assertIsInstance(s["total-failure-session-count"], int)
        failed = 0
        for d in p.get("failure-details", []):
            test.assertIn(d["result-type"], RESULT_TYPES)
            test.assertIsInstance(d["failed-session-count"], int)
            failed += d["failed-session-count"]
            for k in ("sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
                      "receiving-ip", "additional-information", "failure-reason-code"):
                if k in d:
                    test.assertIsInstance(d[k], str)
        test.assertEqual(failed, s["total-failure-session-count"])


def make_ca(directory):
    """A test CA and a certificate for localhost it signed; returns (ca, cert, key)."""
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca-key.pem")
    cert, key = os.path.join(directory, "https.pem"), os.path.join(directory, "https-key.pem")
    csr, ext = os.path.join(directory, "https.csr"), os.path.join(directory, "ext.cnf")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=tern test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class ReportServer:
    """An HTTPS server on loopback that keeps every POST."""

    def __init__(self, cert, key):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.posts.append((self.path, self.headers.get("Content-Type"), body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TlsRptTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-tlsrpt-it-")
        ca, cert, key = make_ca(cls.tmp)
        cls.https = ReportServer(cert, key)
        cls.cleanups.append(cls.https.stop)
        records = [
            f'_smtp._tls.{MAIL_DOMAIN}. 300 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.{Z}"',
            f'_smtp._tls.{WEB_DOMAIN}. 300 IN TXT "v=TLSRPTv1;'
            f'rua=https://localhost:{cls.https.port}/v1/tlsrpt"',
        ]
        cls.dns, cls.peer, cls.P = start_mx_peer(cls.cleanups, Z, [f"reports.{Z}"], records)
        extra = (dns_toml(cls.dns) + relay_toml(cls.P) +
                 '[tls_rpt]\nenabled = true\norganization = "Tern Test Org"\n'
                 f'contact = "tlsrpt@{HOST}"\nreport_hour = 0\ncheck_every = "1s"\n'
                 f'ca_file = "{ca}"\n')
        cls.t = Tern(domains=[HOST], hostname=HOST, kinds=("smtp",), extra=extra)
        cls.cleanups.append(cls.t.cleanup)
        # Yesterday's results, recorded before the server starts so that
        # its first run sees the whole day.
        cls.yesterday = (int(time.time()) // 86400 - 1) * 86400
        sts = ["--type", "sts", "--policy-string", "version: STSv1", "--policy-string",
               "mode: enforce", "--policy-string", f"mx: *.{MAIL_DOMAIN}", "--policy-string",
               "max_age: 86400", "--mx-host", f"*.{MAIL_DOMAIN}"]
        cls.record("--domain", MAIL_DOMAIN, *sts, "--result", "success", "--count", "7")
        cls.record("--domain", MAIL_DOMAIN, *sts, "--result", "certificate-expired",
                   "--sending-ip", "192.0.2.1", "--mx", f"mx1.{MAIL_DOMAIN}", "--receiving-ip",
                   "198.51.100.7", "--reason", "certificate has expired", "--count", "2")
        cls.record("--domain", WEB_DOMAIN, "--type", "tlsa", "--policy-string",
                   "3 1 1 0123456789abcdef", "--result", "dane-required", "--mx",
                   f"mx.{WEB_DOMAIN}")
        cls.record("--domain", NONE_DOMAIN, "--type", "sts", "--result", "success")
        cls.t.start()

    @classmethod
    def record(cls, *args):
        p = subprocess.run([TERN_BIN, "tls-rpt", "record", "--config", cls.t.config_path,
                            "--time", str(cls.yesterday + 3600), *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr

    def setUp(self):
        self.addCleanup(self.t.assert_running)

    def wait(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        self.fail(f"{what}\n{self.t.tail_log(60)}")

    def test_report_by_mail(self):
        self.wait(lambda: self.peer.messages, "no report mail reached the peer")
        self.assertEqual(len(self.peer.messages), 1)
        m = self.peer.messages[0]
        self.assertEqual(m.rcpts, [f"tlsrpt@reports.{Z}"])
        self.assertEqual(m.mail_from, f"tlsrpt@{HOST}")
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        day = time.strftime("%Y-%m-%d", time.gmtime(self.yesterday))
        report_id = f"{day}.{MAIL_DOMAIN}@{HOST}"
        self.assertEqual(msg["Subject"],
                         f"Report Domain: {MAIL_DOMAIN} Submitter: {HOST} Report-ID: <{report_id}>")
        self.assertEqual(msg["TLS-Report-Domain"], MAIL_DOMAIN)
        self.assertEqual(msg["TLS-Report-Submitter"], HOST)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "tlsrpt")
        [part] = [p for p in msg.iter_parts() if p.get_content_type() == "application/tlsrpt+gzip"]
        name = part.get_filename()
        self.assertRegex(name, rf"^{re.escape(HOST)}!{re.escape(MAIL_DOMAIN)}!{self.yesterday}!"
                               rf"{self.yesterday + 86399}![0-9a-f]+\.json\.gz$")
        report = json.loads(gzip.decompress(part.get_content()))
        check_report(self, report, MAIL_DOMAIN)
        self.assertEqual(report["organization-name"], "Tern Test Org")
        self.assertEqual(report["contact-info"], f"tlsrpt@{HOST}")
        self.assertEqual(report["report-id"], report_id)
        self.assertEqual(report["date-range"]["start-datetime"], f"{day}T00:00:00Z")
        [p] = report["policies"]
        self.assertEqual(p["policy"]["policy-type"], "sts")
        self.assertEqual(p["policy"]["mx-host"], [f"*.{MAIL_DOMAIN}"])
        self.assertEqual(p["summary"], {"total-successful-session-count": 7,
                                        "total-failure-session-count": 2})
        self.assertEqual(p["failure-details"], [{
            "result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1",
            "receiving-mx-hostname": f"mx1.{MAIL_DOMAIN}", "receiving-ip": "198.51.100.7",
            "failed-session-count": 2, "failure-reason-code": "certificate has expired"}])

    def test_report_by_https_post(self):
        self.wait(lambda: self.https.posts, "no report was POSTed")
        self.assertEqual(len(self.https.posts), 1)
        path, content_type, body = self.https.posts[0]
        self.assertEqual(path, "/v1/tlsrpt")
        self.assertEqual(content_type, "application/tlsrpt+gzip")
        report = json.loads(gzip.decompress(body))
        check_report(self, report, WEB_DOMAIN)
        [p] = report["policies"]
        self.assertEqual(p["policy"]["policy-type"], "tlsa")
        self.assertEqual(p["policy"]["policy-string"], ["3 1 1 0123456789abcdef"])
        self.assertEqual(p["failure-details"][0]["result-type"], "dane-required")

    def test_day_is_marked_sent_and_no_record_means_no_report(self):
        day = time.strftime("%Y-%m-%d", time.gmtime(self.yesterday))
        sent = os.path.join(self.t.data_dir, "tls-rpt", day + ".sent")
        self.wait(lambda: os.path.exists(sent), "the day was not marked sent")
        self.assertTrue(self.t.wait_log(f"_smtp._tls.{NONE_DOMAIN} (no TLSRPTv1 record)"),
                        self.t.tail_log(40))
        self.assertFalse(any(NONE_DOMAIN.encode() in m.data for m in self.peer.messages))


if __name__ == "__main__":
    main()
