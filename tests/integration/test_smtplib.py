"""Python smtplib, a real and strict SMTP client, against every listener kind.

What this proves, each against a fresh server on loopback:
  - plain delivery on the smtp (MX) listener, with the headers local
    delivery prepends (Return-Path, Delivered-To, Received);
  - on submission: AUTH is not offered before STARTTLS, MAIL is refused
    (530 5.7.0) before TLS and before AUTH, STARTTLS verifies against the
    generated certificate, AUTH PLAIN and AUTH LOGIN (with and without an
    initial response) both work, a wrong password is 535 5.7.8 after a delay;
  - on submissions (implicit TLS): SMTP_SSL with login();
  - policy: relay refused 550 5.7.1 on smtp, unknown user 550 5.1.1 with a
    user database, an authenticated user may send to another domain (the
    message is queued and stays, since outbound relay does not exist yet);
  - content: SMTPUTF8 with a UTF-8 address, BODY=8BITMIME kept byte for
    byte, several recipients in one transaction, an alias expanding to two
    users, user+tag@ delivered to user, a catch-all not taking real users.

Certificates are verified for real (cafile = the generated cert) with
hostname checking on: clients connect to "localhost", which the
self-signed certificate names in its subjectAltName (src/tls/self_signed.cc).
"""
import base64
import smtplib
import time
import unittest

from tern_harness import Tern, main, unreachable_dns

DOMAIN = "example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
PASSWORD = "correct horse battery staple"
# A remote recipient (RFC 2606 name); the test that sends to it points
# [dns] at a server that never answers, so it stays queued and nothing
# reaches any real host.
REMOTE = "someone@remote.test"
TIMEOUT = 10


def message(subject, body="hello\r\n", extra_headers=""):
    return (f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: {subject}\r\n{extra_headers}"
            f"\r\n{body}").encode()


def b64(data):
    return base64.b64encode(data).decode()


def try_auth(s, mechanism, user, password):
    """AUTH with exactly one mechanism; returns (code, text), even for 535."""
    s.user, s.password = user, password
    authobject = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mechanism]
    try:
        return s.auth(mechanism, authobject)
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code, e.smtp_error


class SmtplibTest(unittest.TestCase):
    def start(self, users=(ALICE, BOB, CAROL), **kw):
        t = Tern(**kw)
        self.addCleanup(t.cleanup)
        if users:
            t.add_users({u: PASSWORD for u in users})
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        return t

    def fail_with_log(self, msg):
        self.fail(f"{msg}\n{self.t.tail_log()}")

    def assertDelivered(self, address, count=1, timeout=10):
        msgs = self.t.wait_messages(address, count, timeout)
        if len(msgs) != count:
            self.fail_with_log(f"{address}: expected {count} message(s) in "
                               f"{self.t.maildir(address)}, found {len(msgs)}")
        return msgs

    def submission(self):
        """An smtplib session on submission, after STARTTLS and a new EHLO."""
        s = smtplib.SMTP("localhost", self.t.port("submission"), timeout=TIMEOUT)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        s.starttls(context=self.t.ssl_context())
        s.ehlo("client.test")
        return s

    # -- smtp (MX) listener --

    def test_plain_delivery_on_smtp(self):
        t = self.start()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            code, _ = s.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertNotIn("auth", s.esmtp_features, "AUTH must not be offered on smtp (MX)")
            self.assertIn("starttls", s.esmtp_features)
            refused = s.sendmail("sender@remote.invalid", [ALICE], message("plain"))
            self.assertEqual(refused, {})
        msg = self.assertDelivered(ALICE)[0]
        self.assertTrue(msg.startswith(b"Return-Path: <sender@remote.invalid>\r\n"), msg[:200])
        self.assertIn(b"Delivered-To: " + ALICE.encode(), msg)
        self.assertIn(b"Received: from client.test ([127.0.0.1])", msg)
        self.assertIn(b"with ESMTP id", msg)
        self.assertIn(b"Subject: plain\r\n", msg)
        self.assertTrue(msg.endswith(b"\r\nhello\r\n"), msg[-50:])

    def test_relay_refused_on_smtp(self):
        t = self.start()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("sender@remote.invalid")[0], 250)
            code, text = s.rcpt("victim@elsewhere.invalid")
            self.assertEqual(code, 550, text)
            self.assertTrue(text.startswith(b"5.7.1 "), text)
        self.assertEqual(t.wait_queue(0, timeout=0.2), [])

    def test_unknown_user_with_user_db(self):
        # accept_any_local_part is false (the harness default): only users,
        # aliases and postmaster exist.
        t = self.start(users=(ALICE,))
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            s.mail("sender@remote.invalid")
            code, text = s.rcpt("nobody@example.test")
            self.assertEqual(code, 550, text)
            self.assertTrue(text.startswith(b"5.1.1 "), text)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            self.assertEqual(s.rcpt("postmaster@example.test")[0], 250)
            self.assertEqual(s.rcpt("Alice@EXAMPLE.test")[0], 250, "addresses are case-insensitive")
            # Whole-transaction failure: the only recipient unknown.
            s.rset()
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("sender@remote.invalid", ["ghost@example.test"], message("x"))
            code, text = cm.exception.recipients["ghost@example.test"]
            self.assertEqual((code, text[:6]), (550, b"5.1.1 "))

    # -- submission: STARTTLS, then AUTH, then MAIL --

    def test_submission_requires_tls_then_auth(self):
        t = self.start()
        s = smtplib.SMTP("localhost", t.port("submission"), timeout=TIMEOUT)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertIn("starttls", s.esmtp_features)
        self.assertNotIn("auth", s.esmtp_features, "AUTH offered before TLS")
        code, text = s.mail(ALICE)
        self.assertEqual(code, 530, text)
        self.assertTrue(text.startswith(b"5.7.0 "), text)
        code, text = s.docmd("AUTH", "PLAIN AGFsaWNlAHB3")
        self.assertEqual(code, 530, text)
        self.assertTrue(text.startswith(b"5.7.0 "), text)

        s.starttls(context=t.ssl_context())
        s.ehlo("client.test")
        self.assertNotIn("starttls", s.esmtp_features, "STARTTLS offered again inside TLS")
        self.assertEqual(set(s.esmtp_features.get("auth", "").split()), {"PLAIN", "LOGIN"})
        code, text = s.mail(ALICE)
        self.assertEqual(code, 530, text)
        self.assertTrue(text.startswith(b"5.7.0 "), text)

    def auth_and_send(self, mechanism, initial_response_ok=True):
        s = self.submission()
        s.user, s.password = ALICE, PASSWORD
        authobject = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mechanism]
        code, text = s.auth(mechanism, authobject, initial_response_ok=initial_response_ok)
        self.assertEqual(code, 235, text)
        self.assertTrue(text.startswith(b"2.7.0 "), text)
        self.assertEqual(s.sendmail(ALICE, [BOB], message(f"auth {mechanism}")), {})
        s.quit()
        msg = self.assertDelivered(BOB)[0]
        self.assertIn(f"Subject: auth {mechanism}".encode(), msg)
        self.assertIn(b"with ESMTPSA id", msg)  # RFC 3848: TLS and AUTH
        self.assertIn(b"(authenticated user alice@example.test)", msg)
        self.assertIn(b"(version=TLSv1.", msg)

    def test_starttls_auth_plain(self):
        self.start()
        self.auth_and_send("PLAIN")

    def test_starttls_auth_plain_without_initial_response(self):
        self.start()
        self.auth_and_send("PLAIN", initial_response_ok=False)

    def test_starttls_auth_login(self):
        self.start()
        self.auth_and_send("LOGIN")

    def test_starttls_auth_login_without_initial_response(self):
        self.start()
        self.auth_and_send("LOGIN", initial_response_ok=False)

    def test_wrong_password(self):
        self.start()
        s = self.submission()
        # One mechanism only: login() would try PLAIN, then LOGIN, and the
        # server doubles the delay for each failure from the same address.
        began = time.monotonic()
        code, text = try_auth(s, "PLAIN", ALICE, "not the password")
        elapsed = time.monotonic() - began
        self.assertEqual(code, 535, text)
        self.assertTrue(text.startswith(b"5.7.8 "), text)
        self.assertGreaterEqual(elapsed, 0.8, "a failed AUTH should be delayed about 1 s")
        # Still not authenticated, still usable: MAIL refused, AUTH works now.
        self.assertEqual(s.mail(ALICE)[0], 530)
        s.user, s.password = ALICE, PASSWORD
        self.assertEqual(s.auth("PLAIN", s.auth_plain)[0], 235)

    def test_passwords_of_every_length(self):
        # Short passwords live inside std::string itself (SSO, <= 15
        # octets), long ones on the heap: both paths, plus UTF-8 and the
        # characters a naive SASL PLAIN split would trip on.
        passwords = {
            "p1@example.test": "x",
            "p2@example.test": "pw",
            "p15@example.test": "fifteen-octets!",
            "p16@example.test": "sixteen-octets!!",
            "p200@example.test": "L" * 200,
            "putf8@example.test": "p\u00e4ssw\u00f6rd \u65e5\u672c",
            "pspecial@example.test": "a:b@c=d\"e' f\\g",
        }
        t = Tern()
        self.addCleanup(t.cleanup)
        t.add_users(passwords)
        t.start()
        self.addCleanup(t.assert_running)  # before cleanup: a crash fails
        self.t = t
        for user, password in passwords.items():
            for mechanism in ("PLAIN", "LOGIN"):
                with self.subTest(user=user, mechanism=mechanism):
                    with smtplib.SMTP_SSL("localhost", t.port("submissions"), timeout=TIMEOUT,
                                          context=t.ssl_context()) as s:
                        s.ehlo("client.test")
                        # smtplib base64-encodes ASCII only; send UTF-8 ourselves.
                        if mechanism == "PLAIN":
                            token = f"\0{user}\0{password}".encode()
                            code, text = s.docmd("AUTH", "PLAIN " + b64(token))
                        else:
                            self.assertEqual(s.docmd("AUTH", "LOGIN")[0], 334)
                            self.assertEqual(s.docmd(b64(user.encode()))[0], 334)
                            code, text = s.docmd(b64(password.encode()))
                        self.assertEqual(code, 235, f"{text}\n{t.tail_log()}")
        self.assertIsNone(t.proc.poll(), "the server died\n" + t.tail_log())

    def test_unknown_user_auth_fails_like_wrong_password(self):
        self.start()
        s = self.submission()
        code, text = try_auth(s, "LOGIN", "mallory@example.test", PASSWORD)
        self.assertEqual(code, 535, text)
        self.assertTrue(text.startswith(b"5.7.8 "), text)

    def test_authenticated_relay_is_queued(self):
        t = self.start(extra=unreachable_dns())
        s = self.submission()
        s.login(ALICE, PASSWORD)
        self.assertEqual(s.sendmail(ALICE, [REMOTE], message("outbound")), {})
        s.quit()
        queued = t.wait_queue(1)
        self.assertEqual(len(queued), 1, f"queue/msg: {t.queue_files()}\n{t.tail_log()}")
        # Its MX cannot be looked up (a temporary failure): the message must
        # stay, not vanish or bounce.
        time.sleep(0.5)
        self.assertEqual(t.wait_queue(1, timeout=0), queued, t.tail_log())
        with open(f"{t.data_dir}/queue/msg/{queued[0]}", "rb") as f:
            content = f.read()
        self.assertIn(b"remote.test", content)
        self.assertIn(b"Subject: outbound", content)

    # -- submissions: implicit TLS --

    def test_submissions_smtp_ssl(self):
        t = self.start()
        with smtplib.SMTP_SSL("localhost", t.port("submissions"), timeout=TIMEOUT,
                              context=t.ssl_context()) as s:
            s.ehlo("client.test")
            self.assertNotIn("starttls", s.esmtp_features)
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            self.assertEqual(s.mail(ALICE)[0], 530)
            s.rset()
            self.assertEqual(s.login(ALICE, PASSWORD)[0], 235)
            self.assertEqual(s.sendmail(ALICE, [BOB], message("implicit tls")), {})
        msg = self.assertDelivered(BOB)[0]
        self.assertIn(b"Subject: implicit tls", msg)
        self.assertIn(b"with ESMTPSA id", msg)

    # -- content and recipients --

    def test_smtputf8_address(self):
        t = self.start(users=(), accept_any_local_part=True)
        rcpt = "jos\u00e9@example.test"
        body = ("From: j\u00f6rg@example.test\r\nTo: " + rcpt +
                "\r\nSubject: caf\u00e9 \u2615\r\n\r\nna\u00efve r\u00e9sum\u00e9\r\n").encode()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("smtputf8"))
            # Without SMTPUTF8 a UTF-8 address is refused (RFC 6531 3.5).
            s.command_encoding = "utf-8"
            s.putcmd("MAIL FROM:<j\u00f6rg@example.test>")
            code, text = s.getreply()
            self.assertEqual(code, 553, text)
            self.assertTrue(text.startswith(b"5.6.7 "), text)
            refused = s.sendmail("j\u00f6rg@example.test", [rcpt], body,
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(refused, {})
        msg = self.assertDelivered(rcpt)[0]
        self.assertIn("Return-Path: <j\u00f6rg@example.test>".encode(), msg)
        self.assertIn(("Delivered-To: " + rcpt).encode(), msg)
        self.assertIn(b"with UTF8SMTP id", msg)
        self.assertIn("Subject: caf\u00e9 \u2615\r\n".encode(), msg)
        self.assertTrue(msg.endswith(body.split(b"\r\n\r\n", 1)[1]))

    def test_8bitmime_body_is_kept_byte_for_byte(self):
        t = self.start(users=(), accept_any_local_part=True)
        # Latin-1 and UTF-8 octets, a NUL-free line of every octet >= 0x80,
        # and a line that starts with a dot (dot-stuffed on the wire).
        high = bytes(range(0x80, 0x100))
        body = (b"Content-Type: text/plain; charset=iso-8859-1\r\n"
                b"Content-Transfer-Encoding: 8bit\r\nSubject: 8bit\r\n\r\n"
                b"Gr\xfc\xdfe aus K\xf6ln\r\n" + high + b"\r\n.leading dot\r\n" +
                "\u00e9t\u00e9\r\n".encode())
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("8bitmime"))
            self.assertEqual(s.sendmail("sender@remote.invalid", [ALICE], body,
                                        mail_options=["BODY=8BITMIME"]), {})
        msg = self.assertDelivered(ALICE)[0]
        self.assertTrue(msg.endswith(body), msg[-300:])

    def test_multiple_recipients_and_alias(self):
        t = self.start()
        t.write_aliases("# a team alias\nteam@example.test: alice@example.test, bob@example.test\n")
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            refused = s.sendmail("sender@remote.invalid", [CAROL, "team@example.test"],
                                 message("to many"))
            self.assertEqual(refused, {})
        for who in (ALICE, BOB, CAROL):
            msg = self.assertDelivered(who)[0]
            self.assertIn(b"Subject: to many", msg)
            self.assertIn(b"Delivered-To: " + who.encode(), msg, who)
            self.assertEqual(msg.count(b"Delivered-To:"), 1, who)
        # Mail for the alias alone has no Maildir of its own.
        self.assertEqual(t.messages("team@example.test"), [])
        self.assertEqual(t.wait_queue(0), [], t.tail_log())

    def test_alias_written_while_running(self):
        t = self.start()
        t.write_aliases("sales@example.test: carol@example.test\n")
        # The server looks at the file at most once a second: retry a while.
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            deadline = time.monotonic() + 5
            while True:
                s.rset()
                s.mail("sender@remote.invalid")
                code, text = s.rcpt("sales@example.test")
                if code == 250 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(code, 250, text)
            self.assertEqual(s.data(message("sales"))[0], 250)
        self.assertIn(b"Subject: sales", self.assertDelivered(CAROL)[0])

    def test_plus_tag_goes_to_user(self):
        t = self.start()
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("sender@remote.invalid", ["alice+lists@example.test"],
                                        message("tagged")), {})
        msg = self.assertDelivered(ALICE)[0]
        self.assertIn(b"Subject: tagged", msg)
        self.assertIn(b"for <alice+lists@example.test>", msg)
        self.assertFalse(t.messages("bob@example.test"))

    def test_catch_all_does_not_take_real_users(self):
        # aliases.h: "if the caller says the address is a real mailbox,
        # itself; else the catch-all of its domain".
        t = self.start()
        t.write_aliases("*@example.test: carol@example.test\n")
        with smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("sender@remote.invalid", ["whoever@example.test"],
                                        message("to the catch-all")), {})
            self.assertEqual(s.sendmail("sender@remote.invalid", [ALICE],
                                        message("to alice herself")), {})
        self.assertEqual(t.wait_queue(0), [], "both messages delivered\n" + t.tail_log())
        msgs = t.messages(ALICE)
        carol = t.messages(CAROL)
        self.assertEqual(len(msgs), 1,
                         "mail for the real user alice@ went to the catch-all target instead: "
                         f"carol has {[m.split(b'Subject: ')[1][:20] for m in carol]}\n"
                         + t.tail_log())
        self.assertIn(b"Subject: to alice herself", msgs[0])
        self.assertEqual(len(carol), 1)
        self.assertIn(b"Subject: to the catch-all", carol[0])


if __name__ == "__main__":
    main()
