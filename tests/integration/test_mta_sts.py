"""MTA-STS (RFC 8461) on the outbound relay, against real servers: unbound
on loopback (dns_server.py) with the _mta-sts TXT records, MX and address
records of test domains; an HTTPS policy server (policy_server.py) whose
certificate a test CA (local_ca.py) signed; aiosmtpd MX hosts (smtp_peer.py)
with certificates of that CA, a wrong-name one, none, or a self-signed one.
tern trusts the test CA for the policy fetch ([mta_sts] ca_file) and for MX
hosts (SSL_CERT_FILE, which OpenSSL reads besides the system store), and
fetches policies from the test server's port ([mta_sts] https_port) at the
address its own resolver finds for mta-sts.<domain>.

What this proves:
  - enforce, good destination: delivered over verified TLS, the policy
    fetched once and cached on disk, "sts=enforce(matched)" on the log line;
  - enforce, certificate for another name: no mail goes out (no plaintext
    retry), the message stays queued, "sts=enforce(certificate-host-mismatch)";
  - enforce, STARTTLS not offered: not sent in plaintext, stays queued;
  - enforce, MX host not in the policy: not even connected to, 4.7.0 deferral;
  - a cached policy (on disk, as a restart finds it) whose record id changed
    but whose new policy cannot be fetched stays in force (5.1);
  - an id change fetches the policy again and the new one applies (and the
    cache file takes the new id);
  - testing mode delivers despite an untrusted certificate and logs
    "sts=testing(certificate-not-trusted)";
  - a redirect from the policy server is not followed, a policy over 64 KiB
    and one served as text/html are refused: no policy;
  - a domain without _mta-sts delivers as before, without an sts= field.
"""
import os
import re
import shutil  # noqa: F401 (for tests appended here)
import smtplib
import tempfile  # noqa: F401 (for tests appended here)
import time
import unittest

from dns_server import DnsServer
from policy_server import PolicyServer
from smtp_peer import SmtpPeer
from tern_harness import ClassServers, Tern, dns_toml, free_port, main, relay_toml
from tlsrpt_records import tls_rpt_results, wait_result
from local_ca import TestCa

Z = "sts.test"
A = f"a.{Z}"
ALICE = f"alice@{A}"
PASSWORD = "sts test password"

DOMAINS = ["good", "wrongname", "notls", "mismatch", "cached", "idchange", "testing",
           "redirect", "plain", "huge", "html"]


def policy(mode, *mx, max_age=86400):
    return ("version: STSv1\r\nmode: " + mode + "\r\n" +
            "".join(f"mx: {m}\r\n" for m in mx) + f"max_age: {max_age}\r\n")


def records():
    r = []
    mx_address = {"good": "127.0.0.21", "wrongname": "127.0.0.22", "notls": "127.0.0.23",
                  "mismatch": "127.0.0.21", "cached": "127.0.0.23", "idchange": "127.0.0.23",
                  "testing": "127.0.0.24", "redirect": "127.0.0.23", "plain": "127.0.0.23",
                  "huge": "127.0.0.23", "html": "127.0.0.23"}
    for d in DOMAINS:
        r.append(f"{d}.{Z}. 300 IN MX 10 mx.{d}.{Z}.")
        r.append(f"mx.{d}.{Z}. 300 IN A {mx_address[d]}")
        if d != "plain":
            r.append(f'_mta-sts.{d}.{Z}. 300 IN TXT "v=STSv1; id={d}1;"')
            r.append(f"mta-sts.{d}.{Z}. 300 IN A 127.0.0.1")
    return r


def submit(t, rcpt, subject):
    data = (f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n").encode()
    with smtplib.SMTP(t.host, t.port("submission"), timeout=10) as s:
        s.starttls(context=t.ssl_context(check_hostname=False))
        s.login(ALICE, PASSWORD)
        refused = s.sendmail(ALICE, [rcpt], data)
    assert not refused, refused



class MtaStsTest(ClassServers, unittest.TestCase):
    @classmethod
    def _start(cls):
        cls.tmp = cls.tempdir("tern-sts-")
        cls.ca = TestCa(cls.tmp)
        cls.P = free_port()
        cls.HP = free_port()
        cls.dns = DnsServer(zones=[Z], records=records())
        cls.cleanups.append(cls.dns.cleanup)
        cls.dns.start()

        names = [f"mta-sts.{d}.{Z}" for d in DOMAINS if d != "plain"]
        cls.web = PolicyServer("127.0.0.1", cls.HP, *cls.ca.issue(*names))
        cls.cleanups.append(cls.web.stop)
        cls.web.start()
        cls.web.policies[f"mta-sts.good.{Z}"] = policy("enforce", f"mx.good.{Z}")
        cls.web.policies[f"mta-sts.wrongname.{Z}"] = policy("enforce", f"mx.wrongname.{Z}")
        cls.web.policies[f"mta-sts.notls.{Z}"] = policy("enforce", f"mx.notls.{Z}")
        cls.web.policies[f"mta-sts.mismatch.{Z}"] = policy("enforce", f"mx.elsewhere.{Z}")
        # cached: nothing to fetch (404); idchange: a testing policy now.
        cls.web.policies[f"mta-sts.idchange.{Z}"] = policy("testing", f"mx.idchange.{Z}")
        cls.web.policies[f"mta-sts.testing.{Z}"] = policy("testing", f"mx.testing.{Z}")
        # Over the 64 KiB limit (a valid policy, padded with unknown keys),
        # and the wrong media type: both refused, so no policy.
        cls.web.policies[f"mta-sts.huge.{Z}"] = (policy("enforce", f"mx.huge.{Z}") +
                                                  "x: " + "y" * 70000 + "\r\n")
        cls.web.replies[f"mta-sts.html.{Z}"] = (200, policy("enforce", f"mx.html.{Z}"),
                                                 "text/html")
        cls.web.replies[f"mta-sts.redirect.{Z}"] = (
            301, f"https://mta-sts.good.{Z}:{cls.HP}/.well-known/mta-sts.txt", "text/plain")

        cls.peers = {}
        specs = {21: dict(cert=cls.ca.issue(f"mx.good.{Z}", f"mx.mismatch.{Z}")),
                 22: dict(cert=cls.ca.issue(f"other.{Z}")),
                 23: dict(tls=False),
                 24: dict()}  # self-signed: not trusted
        for n, kw in specs.items():
            p = SmtpPeer(f"127.0.0.{n}", cls.P, hostname=f"mx{n}.{Z}", **kw)
            cls.cleanups.append(p.cleanup)
            cls.peers[n] = p.start()

        extra = (dns_toml(cls.dns) + relay_toml(cls.P) +
                 f'[mta_sts]\nca_file = "{cls.ca.cert}"\nhttps_port = {cls.HP}\n'
                 'fetch_timeout = "5s"\n'
                 # TLS-RPT recording (RFC 8460, docs/tls.md "TLS-RPT").
                 '[tls_rpt]\nenabled = true\n')
        cls.a = Tern(domains=[A], hostname=A, kinds=("smtp", "submission"),
                     ports={"smtp": cls.P}, extra=extra)
        cls.cleanups.append(cls.a.cleanup)
        cls.a.add_users({ALICE: PASSWORD})
        # Cached policies as a previous run left them (the cache survives
        # restarts): both enforce, both under an id the TXT no longer has.
        cache = os.path.join(cls.a.data_dir, "mta-sts")
        os.makedirs(cache, exist_ok=True)
        now = int(time.time())
        for d in ("cached", "idchange"):
            with open(os.path.join(cache, f"{d}.{Z}"), "w") as f:
                f.write(f"tern-mta-sts 1\nid: old\nfetched: {now - 60}\n\n" +
                        policy("enforce", f"mx.{d}.{Z}").replace("\r\n", "\n"))
        # MX certificates are checked against what OpenSSL trusts: the
        # system store plus this file.
        cls.a.env["SSL_CERT_FILE"] = cls.ca.cert
        cls.a.start()

    def setUp(self):
        self.addCleanup(self.a.assert_running)

    def log_fail(self, msg):
        self.fail(f"{msg}\n{self.a.tail_log(60)}")

    def final_line(self, rcpt, timeout=15):
        """The relay's final log line for `rcpt` (status sent, deferred or bounced)."""
        pattern = re.compile(r"relay: \S+ to=<" + re.escape(rcpt) + r">.*status=(sent|deferred|bounced).*")
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = pattern.search(self.a.read_log())
            if m:
                return m.group(0)
            time.sleep(0.05)
        self.log_fail(f"no final status for {rcpt}")

    def tls_rpt(self, domain, res):
        """The recorded TLS-RPT result for `domain` with result `res` (waits for it)."""
        r = wait_result(self.a.data_dir, domain, res)
        if r is None:
            got = [x for x in tls_rpt_results(self.a.data_dir) if x.get("pd") == domain]
            self.log_fail(f"no TLS-RPT result {res} for {domain}; have {got}")
        return r

    def assert_log(self, needle):
        if needle not in self.a.read_log():
            self.log_fail(f"not in the log: {needle!r}")

    # -- enforce --
    def test_enforce_good_destination(self):
        rcpt = f"bob@good.{Z}"
        submit(self.a, rcpt, "good")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)
        self.assertIn("cert=verified", line)
        self.assertIn("sts=enforce(matched)", line)
        self.assertEqual(self.peers[21].delivered_to(rcpt), 1)
        r = self.tls_rpt(f"good.{Z}", "success")
        self.assertEqual(r["pt"], "sts")
        self.assertEqual(r["host"], f"mx.good.{Z}")
        self.assertEqual(r["rip"], "127.0.0.21")
        self.assertIn("mode: enforce", r["ps"].split(","))
        self.assertEqual(r["mx"], f"mx.good.{Z}")
        self.assertTrue(self.peers[21].wait(lambda: self.peers[21].messages[-1].tls))
        cache = os.path.join(self.a.data_dir, "mta-sts", f"good.{Z}")
        with open(cache) as f:
            text = f.read()
        self.assertIn("id: good1\n", text)
        self.assertIn(f"mx: mx.good.{Z}\n", text)
        # A second message uses the cached policy: no second fetch.
        asked = self.web.asked(f"mta-sts.good.{Z}")
        rcpt2 = f"carol@good.{Z}"
        submit(self.a, rcpt2, "good again")
        self.assertIn("status=sent", self.final_line(rcpt2))
        self.assertEqual(self.web.asked(f"mta-sts.good.{Z}"), asked)

    def test_enforce_wrong_name_certificate(self):
        rcpt = f"bob@wrongname.{Z}"
        submit(self.a, rcpt, "wrong name")
        line = self.final_line(rcpt)
        self.assertIn("status=deferred", line)
        self.assertRegex(line, r"4\.7\.\d")
        self.assert_log("sts=enforce(certificate-host-mismatch)")
        self.assertEqual(self.peers[22].transactions, 0)  # no MAIL, not even in plaintext
        self.assertNotIn("trying once more in plaintext", self.a.read_log())
        r = self.tls_rpt(f"wrongname.{Z}", "certificate-host-mismatch")
        self.assertEqual(r["pt"], "sts")
        self.assertEqual(r["host"], f"mx.wrongname.{Z}")

    def test_enforce_starttls_missing(self):
        rcpt = f"bob@notls.{Z}"
        before = self.peers[23].delivered_to(rcpt)
        submit(self.a, rcpt, "no starttls")
        line = self.final_line(rcpt)
        self.assertIn("status=deferred", line)
        self.assertRegex(line, r"4\.7\.\d")
        self.assert_log("sts=enforce(starttls-not-supported)")
        self.assertEqual(self.peers[23].delivered_to(rcpt), before)
        self.assertEqual(self.tls_rpt(f"notls.{Z}", "starttls-not-supported")["pt"], "sts")

    def test_enforce_mx_not_in_policy(self):
        rcpt = f"bob@mismatch.{Z}"
        submit(self.a, rcpt, "mismatch")
        line = self.final_line(rcpt)
        self.assertIn("status=deferred", line)
        self.assertIn("4.7.0", line)
        self.assertIn("matches its policy", line)
        self.assert_log(f"mx=mx.mismatch.{Z}[127.0.0.21]:{self.P} sts=enforce(mx-mismatch)")
        self.assertEqual(self.peers[21].delivered_to(rcpt), 0)

    # -- the cache --
    def test_cached_policy_stays_when_fetch_fails(self):
        rcpt = f"bob@cached.{Z}"
        submit(self.a, rcpt, "cached")
        line = self.final_line(rcpt)
        self.assertIn("status=deferred", line)  # enforced: the peer has no STARTTLS
        self.assert_log(f"mta-sts: cached.{Z} policy fetch failed (HTTP 404); "
                        "the cached policy (id=old) stays in force")
        self.assertGreaterEqual(self.web.asked(f"mta-sts.cached.{Z}"), 1)
        self.assertEqual(self.peers[23].delivered_to(rcpt), 0)

    def test_id_change_refetches(self):
        rcpt = f"bob@idchange.{Z}"
        submit(self.a, rcpt, "id change")
        line = self.final_line(rcpt)
        # The new policy (testing) applies: delivered, in plaintext, and logged.
        self.assertIn("status=sent", line)
        self.assertIn("sts=testing(starttls-not-supported)", line)
        self.assertEqual(self.web.asked(f"mta-sts.idchange.{Z}"), 1)
        with open(os.path.join(self.a.data_dir, "mta-sts", f"idchange.{Z}")) as f:
            text = f.read()
        self.assertIn("id: idchange1\n", text)
        self.assertIn("mode: testing\n", text)

    # -- testing mode, no policy --
    def test_testing_mode_delivers_and_reports(self):
        rcpt = f"bob@testing.{Z}"
        submit(self.a, rcpt, "testing")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)
        self.assertIn("sts=testing(certificate-not-trusted)", line)
        self.assertEqual(self.peers[24].delivered_to(rcpt), 1)
        # Testing mode: delivered, and the failure is what the report counts.
        r = self.tls_rpt(f"testing.{Z}", "certificate-not-trusted")
        self.assertEqual(r["pt"], "sts")
        self.assertIn("mode: testing", r["ps"].split(","))
        self.assertEqual([x for x in tls_rpt_results(self.a.data_dir)
                          if x["pd"] == f"testing.{Z}" and x["res"] == "success"], [])

    def test_redirect_not_followed(self):
        rcpt = f"bob@redirect.{Z}"
        submit(self.a, rcpt, "redirect")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)  # no policy: opportunistic, as before
        self.assertNotIn("sts=", line)
        self.assert_log(f"mta-sts: redirect.{Z} policy fetch failed "
                        "(HTTP 301 (redirects are not followed))")
        self.assertEqual(self.tls_rpt(f"redirect.{Z}", "sts-policy-fetch-error")["pt"], "sts")

    def test_oversized_policy_refused(self):
        rcpt = f"bob@huge.{Z}"
        submit(self.a, rcpt, "huge")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)  # no policy: the enforce one was never accepted
        self.assertNotIn("sts=", line)
        self.assert_log(f"mta-sts: huge.{Z} policy fetch failed (response larger than 65536 "
                        "octets)")

    def test_wrong_media_type_refused(self):
        rcpt = f"bob@html.{Z}"
        submit(self.a, rcpt, "html")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)
        self.assertNotIn("sts=", line)
        self.assert_log(f"mta-sts: html.{Z} policy fetch failed (media type 'text/html' is not "
                        "text/plain)")
        self.assertEqual(self.tls_rpt(f"html.{Z}", "sts-policy-invalid")["pt"], "sts")

    def test_no_policy_unchanged(self):
        rcpt = f"bob@plain.{Z}"
        submit(self.a, rcpt, "plain")
        line = self.final_line(rcpt)
        self.assertIn("status=sent", line)
        self.assertNotIn("sts=", line)


    def test_trace_field_records_the_hop(self):
        """docs/tls.md "The outbound trace": the message as the MX got it."""
        from trace_field import outbound_trace

        def trace(rcpt, n):
            peer = self.peers[n]
            self.assertTrue(peer.wait(lambda: peer.delivered_to(rcpt) == 1), self.a.tail_log())
            return outbound_trace([m for m in peer.messages if rcpt in m.rcpts][-1].data)

        for rcpt in (f"trace@good.{Z}", f"trace@testing.{Z}", f"trace@plain.{Z}"):
            submit(self.a, rcpt, "trace")
            self.assertIn("status=sent", self.final_line(rcpt))
        _, comment, with_, _ = trace(f"trace@good.{Z}", 21)
        self.assertEqual(with_, "ESMTPS")
        self.assertIn(f"authenticated by WebPKI for mx.good.{Z}, policy=verify per sts good.{Z}, "
                      "MTA-STS enforce id=good1", comment)
        comment = trace(f"trace@testing.{Z}", 24)[1]
        self.assertIn("opportunistic TLS not verified: ", comment)
        self.assertIn("MTA-STS testing id=testing1: certificate-not-trusted", comment)
        _, comment, with_, _ = trace(f"trace@plain.{Z}", 23)
        self.assertEqual(with_, "ESMTP")
        self.assertEqual(comment, f"tern outbound to mx.plain.{Z} [127.0.0.23], "
                                  "plaintext: STARTTLS not offered")


if __name__ == "__main__":
    main()
