"""`tern send` and `tern sendmail` against a real `tern serve`.

What this proves, each message read back from the recipient's Maildir:
  - tern send: a UTF-8 subject and an attachment arrive intact (Python's
    email package decodes them); --html gives multipart/alternative; -b
    reaches its recipient and never shows in a header; AUTH over STARTTLS
    with --password-command and --ca-file; a wrong password exits 77;
    without -r or a configured from, the AUTH user is the sender;
    --list-unsubscribe/--one-click write RFC 2369/8058's two fields;
  - where mail goes: --config (the server's smtp listener), client.toml in
    $HOME/.config or $XDG_CONFIG_HOME, TERN_SMTP_* over the file, flags
    over the environment; a bad client.toml exits 78 with file:line:col;
  - --batch of 5 .eml files and --mbox of 3 (mboxrd) all arrive over one
    connection, with one plain line per message and a summary when stderr
    is not a terminal, a redrawn bar when it is;
  - exit codes: a refused recipient 69 with the server's reply, no server
    75, a bad command line 64;
  - sendmail: the call git send-email makes (also real git send-email when
    installed), cron's calls (-t, -oi, -FCronDaemon, unqualified "root"),
    a "." line ending input without -i, through a link named sendmail.
"""
import email
import email.policy
import os
import pty
import pwd
import shutil
import subprocess
import tempfile
import unittest

from tern_harness import TERN_BIN, Tern, free_port, main

DOMAIN = "example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
PASSWORD = "cli secret"
LOGIN = pwd.getpwuid(os.getuid()).pw_name


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def text(part):
    """A text part's content with the CRLF of the Maildir file as LF."""
    return part.get_content().replace("\r\n", "\n")


class SendCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tern(domains=[DOMAIN], accept_any_local_part=True)
        cls.t.add_users({BOB: PASSWORD})
        cls.t.start()
        cls.bin = os.path.abspath(TERN_BIN)

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()

    def setUp(self):
        self.t.assert_running()
        self.home = tempfile.mkdtemp(prefix="tern-send-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    # -- helpers --
    def env(self, **extra):
        """A clean environment: an empty HOME, no TERN_* or XDG variables."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TERN_") and k != "XDG_CONFIG_HOME"}
        env["HOME"] = self.home
        env.update(extra)
        return env

    def run_tern(self, *args, input=b"", env=None, argv0=None):
        cmd = [argv0 or self.bin, *args]
        return subprocess.run(cmd, input=input, capture_output=True, timeout=60,
                              env=env or self.env())

    def sendmail_link(self):
        """A symlink named sendmail to the tern binary, as installed systems have."""
        path = os.path.join(self.home, "sendmail")
        if not os.path.exists(path):
            os.symlink(self.bin, path)
        return path

    def mailbox(self, local):
        """A fresh address at the test domain (each test its own Maildir)."""
        return f"{local}-{self.id().split('.')[-1].replace('_', '-')}@{DOMAIN}"

    def one_message(self, address):
        msgs = self.t.wait_messages(address, 1)
        self.assertEqual(len(msgs), 1, f"{address}: {len(msgs)} messages\n{self.t.tail_log()}")
        return msgs[0]

    def write_client_toml(self, path, port, extra=""):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n{extra}')

    # -- tern send --
    def test_subject_and_attachment_arrive_intact(self):
        to = self.mailbox("bob")
        att = os.path.join(self.home, "données.bin")
        data = bytes(range(256)) * 40 + b"\r\n.\r\nend"
        with open(att, "wb") as f:
            f.write(data)
        subject = "Grüße aus Köln — ünïcödé"
        r = self.run_tern("send", "--config", self.t.config_path, "-s", subject, "-a", att, to,
                          input="Hallo Welt\nzweite Zeile\n".encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")  # quiet on success, like mailx
        m = parse(self.one_message(to))
        self.assertEqual(m["Subject"], subject)
        self.assertEqual(m["To"], to)
        self.assertEqual(m["From"], f"{LOGIN}@{DOMAIN}")
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        body = m.get_body(("plain",))
        self.assertEqual(text(body), "Hallo Welt\nzweite Zeile\n")
        parts = list(m.iter_attachments())
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0].get_filename(), "données.bin")
        self.assertEqual(parts[0].get_content(), data)

    def test_html_alternative_cc_and_bcc(self):
        to, cc, bcc = self.mailbox("to"), self.mailbox("cc"), self.mailbox("bcc")
        html = os.path.join(self.home, "body.html")
        with open(html, "w") as f:
            f.write("<p>Hello <b>world</b></p>\n")
        r = self.run_tern("send", "--config", self.t.config_path, "-s", "alt", "--html", html,
                          "-c", cc, "-b", bcc, "-r", "Sender Name <sender@example.test>", to,
                          input=b"Hello world\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for address in (to, cc, bcc):
            raw = self.one_message(address)
            self.assertNotIn(b"Bcc", raw)
            # The trace fields tern adds name the recipient; the message's own never do.
            self.assertNotIn(bcc.encode(), raw[raw.index(b"\nDate:"):])
            m = parse(raw)
            self.assertEqual(m.get_content_type(), "multipart/alternative")
            self.assertEqual(m["Cc"], cc)
            self.assertEqual(m["From"], "Sender Name <sender@example.test>")
            self.assertEqual(text(m.get_body(("html",))), "<p>Hello <b>world</b></p>\n")
            self.assertEqual(text(m.get_body(("plain",))), "Hello world\n")
        self.assertIn(b"Return-Path: <sender@example.test>", self.one_message(to))

    def test_auth_starttls_password_command(self):
        to = self.mailbox("bob")
        args = ["send", "--host", "localhost", "--port", str(self.t.port("submission")),
                "--security", "starttls", "--ca-file", self.t.cert_path(), "--user", BOB,
                "-s", "authenticated", "-r", BOB, to]
        r = self.run_tern(*args, "--password-command", f"echo '{PASSWORD}'", input=b"x\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"ESMTPSA", self.one_message(to))  # TLS and AUTH (RFC 3848)
        # A wrong password: EX_NOPERM, with the server's 535.
        r = self.run_tern(*args, "--password-command", "echo wrong", input=b"x\n")
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn(b"535", r.stderr)
        # The generated certificate is not trusted without --ca-file...
        no_ca = [a for a in args if a not in ("--ca-file", self.t.cert_path())]
        r = self.run_tern(*no_ca, "--password-command", f"echo '{PASSWORD}'", input=b"x\n")
        # Temporary or not is the library's verdict (SmtpError.temporary).
        self.assertIn(r.returncode, (69, 75), r.stderr)
        self.assertIn(b"not trusted", r.stderr)
        # ... unless checks are turned off explicitly.
        r = self.run_tern(*no_ca, "--insecure", "--password-command", f"echo '{PASSWORD}'",
                          input=b"x\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_auth_user_is_the_default_sender(self):
        # issue 15: no -r and no configured from: the AUTH user (an address)
        # is From and the envelope sender; login@hostname would be refused
        # by the submission listener as not owned by bob.
        to = self.mailbox("bob")
        r = self.run_tern("send", "--host", "localhost", "--port", str(self.t.port("submission")),
                          "--security", "starttls", "--ca-file", self.t.cert_path(),
                          "--user", BOB, "--password-command", f"echo '{PASSWORD}'",
                          "-s", "as the user", to, input=b"x\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        raw = self.one_message(to)
        self.assertIn(f"Return-Path: <{BOB}>".encode(), raw)
        self.assertEqual(parse(raw)["From"], BOB)

    def test_client_toml_and_precedence(self):
        to = self.mailbox("bob")
        live, dead = self.t.port("smtp"), free_port()
        self.write_client_toml(os.path.join(self.home, ".config", "tern", "client.toml"), live,
                               'from = "Tester <tester@example.test>"\n')
        r = self.run_tern("send", "-s", "via client.toml", to, input=b"1\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(parse(self.one_message(to))["From"], "Tester <tester@example.test>")

        # XDG_CONFIG_HOME wins over ~/.config: its file points nowhere.
        xdg = os.path.join(self.home, "xdg")
        self.write_client_toml(os.path.join(xdg, "tern", "client.toml"), dead)
        r = self.run_tern("send", "-s", "x", to, input=b"2\n", env=self.env(XDG_CONFIG_HOME=xdg))
        self.assertEqual(r.returncode, 75, r.stderr)
        # The environment beats the file...
        env = self.env(XDG_CONFIG_HOME=xdg, TERN_SMTP_PORT=str(live))
        r = self.run_tern("send", "-s", "x", to, input=b"3\n", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        # ... and a flag beats the environment.
        r = self.run_tern("send", "--port", str(dead), "-s", "x", to, input=b"4\n", env=env)
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertEqual(len(self.t.wait_messages(to, 2)), 2)

    def test_bad_client_toml(self):
        path = os.path.join(self.home, "bad.toml")
        with open(path, "w") as f:
            f.write('host = "127.0.0.1"\nport = 99999\n')
        r = self.run_tern("send", "--client-config", path, "-s", "x", BOB, input=b"x\n")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(f"{path}:2:8: key 'port': must be a port from 1 to 65535".encode(), r.stderr)
        r = self.run_tern("send", "--client-config", path + ".missing", "-s", "x", BOB)
        self.assertEqual(r.returncode, 78, r.stderr)
        # A password in a file others can read is refused, as msmtp does.
        with open(path, "w") as f:
            f.write('host = "127.0.0.1"\npassword = "secret"\n')
        os.chmod(path, 0o644)
        r = self.run_tern("send", "--client-config", path, "-s", "x", BOB, input=b"x\n")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"chmod 600", r.stderr)
        r = self.run_tern("send", "-s", "x", BOB, env=self.env(TERN_SMTP_SECURITY="ssl"))
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"TERN_SMTP_SECURITY", r.stderr)

    def test_refused_recipient_is_permanent(self):
        to = self.mailbox("bob")
        r = self.run_tern("send", "--config", self.t.config_path, "-s", "x", to,
                          "someone@elsewhere.example", input=b"x\n")
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn(b"refused someone@elsewhere.example", r.stderr)
        self.assertIn(b"550 5.7.1", r.stderr)  # the server's reply, as it said it
        self.assertIn(b"Relay access denied", r.stderr)
        self.assertIn(b"needs AUTH", r.stderr)  # our own server, no AUTH: say why
        self.one_message(to)  # the accepted recipient still got it

    def test_list_unsubscribe_one_click(self):
        # RFC 2369 3.2 and RFC 8058 3.1, as bulk senders must (issue 15).
        to = self.mailbox("bob")
        r = self.run_tern("send", "--config", self.t.config_path, "-s", "news",
                          "--list-unsubscribe", "https://example.test/u?id=7",
                          "--list-unsubscribe", "mailto:leave@example.test", "--one-click", to,
                          input=b"x\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = parse(self.one_message(to))
        self.assertEqual(m["List-Unsubscribe"],
                         "<https://example.test/u?id=7>, <mailto:leave@example.test>")
        self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        # Refused before anything is sent: one-click without https, a bad
        # URI, --one-click alone, and the options with --batch.
        for args in (["--list-unsubscribe", "mailto:leave@example.test", "--one-click"],
                     ["--list-unsubscribe", "https://x/<script>"],
                     ["--one-click"]):
            r = self.run_tern("send", "--config", self.t.config_path, "-s", "x", *args, to,
                              input=b"x\n")
            self.assertEqual(r.returncode, 64, (args, r.stderr))
        r = self.run_tern("send", "--config", self.t.config_path, "--batch", self.home,
                          "--list-unsubscribe", "https://example.test/u")
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertEqual(len(self.t.messages(to)), 1)

    def test_no_server_is_temporary(self):
        r = self.run_tern("send", "--host", "127.0.0.1", "--port", str(free_port()),
                          "--security", "none", "-s", "x", BOB, input=b"x\n")
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn(b"connect", r.stderr)

    def test_usage_errors(self):
        r = self.run_tern("send", "--bogus", BOB)
        self.assertEqual(r.returncode, 64, r.stderr)
        r = self.run_tern("send", "-s", "no recipients", "--config", self.t.config_path)
        self.assertEqual(r.returncode, 64, r.stderr)
        r = self.run_tern("send", "--config", self.t.config_path, "-a", "/nonexistent", BOB)
        self.assertEqual(r.returncode, 66, r.stderr)
        self.assertIn(b"/nonexistent", r.stderr)

    # -- many messages --
    def eml(self, i, to, extra=""):
        return (f"From: Batch <batch@example.test>\nTo: {to}\nSubject: batch {i}\n{extra}"
                f"\nmessage {i}\n")

    def test_batch_directory(self):
        to, hidden = self.mailbox("bob"), self.mailbox("hidden")
        d = os.path.join(self.home, "batch")
        os.mkdir(d)
        for i in range(5):
            with open(os.path.join(d, f"{i:02}.eml"), "w") as f:
                f.write(self.eml(i, to, f"Bcc: {hidden}\nReturn-Path: <old@x.example>\n"))
        with open(os.path.join(d, "README"), "w") as f:
            f.write("not a message\n")
        r = self.run_tern("send", "--config", self.t.config_path, "--batch", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertNotIn("\r", err)  # not a terminal: plain lines
        lines = err.splitlines()
        self.assertEqual(len(lines), 6, err)
        for i in range(5):
            self.assertTrue(lines[i].startswith(f"sent {i + 1}/5 {d}/{i:02}.eml: 250 "), err)
        self.assertEqual(lines[5], "tern send: 5 messages: 5 sent, 0 failed")
        msgs = self.t.wait_messages(to, 5)
        self.assertEqual(sorted(parse(m)["Subject"] for m in msgs),
                         [f"batch {i}" for i in range(5)])
        self.assertEqual(len(self.t.wait_messages(hidden, 5)), 5)
        for m in msgs:
            self.assertNotIn(b"Bcc:", m)
            self.assertNotIn(b"old@x.example", m)
            self.assertIn(b"Return-Path: <batch@example.test>", m)  # envelope from From
        # One connection for the whole batch (RSET between messages).
        self.assertTrue(self.t.wait_log(" messages=5 "), self.t.tail_log())

    def test_mbox(self):
        to = self.mailbox("bob")
        path = os.path.join(self.home, "three.mbox")
        with open(path, "w") as f:
            for i in range(3):
                f.write(f"From batch@example.test Mon Jan  1 00:00:0{i} 2024\n")
                f.write(self.eml(i, to).replace(f"message {i}\n",
                                                f"message {i}\n>From quoted\n>>From twice\n"))
                f.write("\n")
        r = self.run_tern("send", "--config", self.t.config_path, "--mbox", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"tern send: 3 messages: 3 sent, 0 failed", r.stderr)
        msgs = self.t.wait_messages(to, 3)
        self.assertEqual(len(msgs), 3)
        for m in msgs:
            body = text(parse(m))
            self.assertTrue(body.endswith("\nFrom quoted\n>From twice\n"), body)

    def test_batch_with_failures_and_tty_progress(self):
        to = self.mailbox("bob")
        d = os.path.join(self.home, "mixed")
        os.mkdir(d)
        with open(os.path.join(d, "1.eml"), "w") as f:
            f.write(self.eml(1, to))
        with open(os.path.join(d, "2.eml"), "w") as f:
            f.write(self.eml(2, "stranger@elsewhere.example"))
        with open(os.path.join(d, "3.eml"), "w") as f:
            f.write("Subject: no recipients\n\nx\n")
        # stderr on a pseudo-terminal: the bar is redrawn in place.
        master, slave = pty.openpty()
        p = subprocess.Popen([self.bin, "send", "--config", self.t.config_path, "--batch", d],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                             env=self.env())
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertEqual(p.wait(timeout=60), 69, out)
        self.assertIn(b"\r\x1b[K[", out)
        self.assertIn(b"FAILED 2/3", out)
        self.assertIn(b"550 5.7.1", out)
        self.assertIn(b"FAILED 3/3", out)
        self.assertIn(b"1/3 sent, 2 failed", out)
        self.assertIn(b"3 messages: 1 sent, 2 failed", out)
        self.one_message(to)

    # -- sendmail --
    def test_git_send_email_style(self):
        to, cc = self.mailbox("bob"), self.mailbox("carol")
        patch = (f"From: Dev <dev@example.test>\nTo: {to}\nCc: {cc}\nSubject: [PATCH] fix\n"
                 "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-Id: <1.git@example.test>\n"
                 "X-Mailer: git-send-email 2.39.5\n\n---\n.\n f | 1 +\n-- \n2.39.5\n").encode()
        # git-send-email.perl: exec($smtp_server, '-f', $raw_from, '-i', @recipients)
        r = self.run_tern("-f", "dev@example.test", "-i", to, cc, input=patch,
                          env=self.env(TERN_CONFIG=self.t.config_path),
                          argv0=self.sendmail_link())
        self.assertEqual(r.returncode, 0, r.stderr)
        for address in (to, cc):
            raw = self.one_message(address)
            self.assertIn(b"Return-Path: <dev@example.test>", raw)
            self.assertTrue(raw.endswith(b"\r\n---\r\n.\r\n f | 1 +\r\n-- \r\n2.39.5\r\n"), raw)
            m = parse(raw)
            self.assertEqual(m["Message-Id"], "<1.git@example.test>")  # kept, not added
            self.assertEqual(len(m.get_all("Date")), 1)

    def test_real_git_send_email(self):
        # --dump-aliases fails when git-email or its Perl modules are missing.
        if shutil.which("git") is None or subprocess.run(
                ["git", "send-email", "--dump-aliases"], capture_output=True).returncode != 0:
            self.skipTest("git send-email is not installed (git-email, libmailtools-perl)")
        to = self.mailbox("bob")
        repo = os.path.join(self.home, "repo")
        env = self.env(TERN_CONFIG=self.t.config_path, GIT_CONFIG_NOSYSTEM="1")

        def git_run(*args):
            subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)
        subprocess.run(["git", "init", "-q", repo], check=True, env=env)
        git_run("config", "user.name", "Dev Eloper")
        git_run("config", "user.email", "dev@example.test")
        with open(os.path.join(repo, "f"), "w") as f:
            f.write("one\n")
        git_run("add", "f")
        git_run("commit", "-qm", "Add f")
        git_run("send-email", f"--smtp-server={self.sendmail_link()}", f"--to={to}",
                "--envelope-sender=dev@example.test", "--confirm=never", "--quiet", "-1")
        m = parse(self.one_message(to))
        self.assertEqual(m["Subject"], "[PATCH] Add f")
        self.assertEqual(m["From"], "Dev Eloper <dev@example.test>")
        self.assertIn("+one", text(m))

    def test_cron_style(self):
        root = f"root@{DOMAIN}"
        before = len(self.t.messages(root))
        # Vixie cron's MAILARGS; Debian's cron adds -B8BITMIME.
        msg = (b"To: root\nSubject: Cron <root@box> run-parts\nContent-Type: text/plain\n\n"
               b"job output\n.\nmore output\n")
        r = self.run_tern("-FCronDaemon", "-i", "-B8BITMIME", "-odi", "-oem", "-oi", "-t",
                          input=msg, env=self.env(TERN_CONFIG=self.t.config_path),
                          argv0=self.sendmail_link())
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.t.wait_messages(root, before + 1)
        self.assertEqual(len(msgs), before + 1)
        m = parse(msgs[-1])
        self.assertEqual(m["From"], f"CronDaemon <{LOGIN}@{DOMAIN}>")
        self.assertEqual(m["To"], "root")  # as written; the envelope was qualified
        self.assertIsNotNone(m["Date"])
        self.assertIsNotNone(m["Message-ID"])
        self.assertEqual(text(m), "job output\n.\nmore output\n")

    def test_sendmail_t_without_i_stops_at_dot(self):
        to, hidden = self.mailbox("bob"), self.mailbox("hidden")
        msg = f"To: {to}\nBcc: {hidden}\nSubject: dot\n\nbefore\n.\nafter\n".encode()
        r = self.run_tern("sendmail", "-t", "--config", self.t.config_path, input=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        for address in (to, hidden):
            raw = self.one_message(address)
            self.assertNotIn(b"Bcc", raw)
            self.assertEqual(text(parse(raw)), "before\n")

    def test_sendmail_errors(self):
        link = self.sendmail_link()
        r = self.run_tern("-k", BOB, argv0=link)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"sendmail: unknown option -k", r.stderr)
        r = self.run_tern("-bp", argv0=link)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"tern queue list", r.stderr)
        r = self.run_tern("sendmail", "-i", input=b"Subject: x\n\ny\n",
                          env=self.env(TERN_CONFIG=self.t.config_path))
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"tern sendmail: no recipients given", r.stderr)
        # Our server does not relay for strangers: permanent, with a hint.
        r = self.run_tern("-i", "someone@elsewhere.example", input=b"Subject: x\n\ny\n",
                          env=self.env(TERN_CONFIG=self.t.config_path), argv0=link)
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn(b"550 5.7.1", r.stderr)
        self.assertIn(b"needs AUTH", r.stderr)
        r = self.run_tern("--help", argv0=link)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"-t ", r.stdout)


if __name__ == "__main__":
    main()
