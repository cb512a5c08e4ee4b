"""A raw-socket SMTP client and a runner for scripted dialogs.

SmtpClient speaks SMTP over a plain socket with nothing in between: the
test decides every byte that goes out, and every reply is read whole
(multi-line replies up to their final line) with a bounded wait.

Dialog files (tests/dialogs/*.dialog) hold one directive per line:

    -- text           a comment; each dialog opens with one saying why it exists
    CONFIG k = v      server configuration for this dialog, before any C:/S:.
                      "limits.KEY = V" goes into [limits], anything else is a
                      top-level key. V is TOML ("normalize" with quotes, 1000).
    C: text           send text followed by CRLF
    C~ expr           send these bytes exactly: a Python bytes literal, or such
                      literals joined with + and repeated with * N
                      (C~ b"NOOP " + b"x" * 1541 + b"\\r\\n")
    S: 250            expect one reply with this code (multi-line replies are
                      read to their final line; every line must carry the code)
    S: 250 2.1.5      ... and this RFC 3463 enhanced code on every line
    S~ regex          expect one reply whose text (its lines joined with "\\n",
                      CRLF removed) matches regex (re.search)
    SILENT secs       expect no bytes at all for secs seconds
    TLS               TLS handshake on the same socket (after "220" to STARTTLS);
                      plaintext the server sent after that 220 is an error
    CLOSE             expect the server to close the connection: EOF, with no
                      reply before it
    REPEAT n DIRECTIVE  the directive n times; "{n}" in it becomes 1..n

Blank lines are ignored. Any other line is an error in the dialog.
"""
import ast
import re
import socket
import ssl
import time

REPLY_TIMEOUT = 5.0  # seconds to wait for one reply


class DialogError(AssertionError):
    """The server did not behave as the dialog says (or the dialog is malformed)."""


class Reply:
    """One complete SMTP reply."""

    def __init__(self, lines):
        self.lines = lines  # decoded text lines without CRLF, e.g. ["250-a", "250 b"]
        self.code = int(lines[-1][:3])

    def texts(self):
        """The text of each line, after "ddd-" / "ddd "."""
        return [ln[4:] for ln in self.lines]

    def enhanced(self):
        """The enhanced code of the final line, or "" if it has none."""
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})(?: |$)", self.texts()[-1])
        return m.group(1) if m else ""

    def has_enhanced(self, code):
        return all(t == code or t.startswith(code + " ") for t in self.texts())

    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%r)" % self.text()


class SmtpClient:
    """A blocking SMTP client on a raw socket. Every wait is bounded."""

    def __init__(self, host, port, timeout=REPLY_TIMEOUT, source=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        try:
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        self.log = []  # ("C"|"S", bytes) in order: the transcript

    # -- output --
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.log.append(("C", data))
        self.sock.sendall(data)

    def line(self, text):
        self.send(text.encode() + b"\r\n" if isinstance(text, str) else text + b"\r\n")

    # -- input --
    def _fill(self, deadline):
        """Reads more bytes into buf. False on EOF or when the deadline passes."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError):
            data = b""
        except ssl.SSLError as e:
            if "closed" in str(e).lower() or "eof" in str(e).lower():
                data = b""
            else:
                raise
        if not data:
            self.eof = True
            return False
        self.log.append(("S", data))
        self.buf += data
        return True

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, timeout=None):
        """The next complete reply, or None on EOF/timeout before one arrived."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        lines = []
        while True:
            ln = self._read_line(deadline)
            if ln is None:
                if lines:
                    raise DialogError("reply cut off after %r" % lines)
                return None
            if not re.match(r"^\d{3}([ -]|$)", ln):
                raise DialogError("malformed reply line %r" % ln)
            if lines and ln[:3] != lines[0][:3]:
                raise DialogError("code changes inside a multi-line reply: %r, %r" % (lines, ln))
            lines.append(ln)
            if len(ln) == 3 or ln[3] == " ":
                return Reply(lines)

    def expect(self, code, enhanced=None, timeout=None):
        """Reads one reply and checks it; returns it."""
        r = self.reply(timeout)
        if r is None:
            raise DialogError("expected %s%s, got %s" % (
                code, " " + enhanced if enhanced else "", "EOF" if self.eof else "nothing (timeout)"))
        if r.code != int(code) or (enhanced and not r.has_enhanced(enhanced)):
            raise DialogError("expected %s%s, got %r" % (code, " " + enhanced if enhanced else "", r.text()))
        return r

    def replies_until_close(self, timeout=REPLY_TIMEOUT):
        """Every reply until the server closes (or the time is up); (replies, closed)."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            r = self.reply(max(0.0, deadline - time.monotonic()))
            if r is None:
                return out, self.eof
            out.append(r)

    def expect_close(self, timeout=None):
        r = self.reply(timeout)
        if r is not None:
            raise DialogError("expected the server to close, got %r" % r.text())
        if not self.eof:
            raise DialogError("expected the server to close; it is still open after %ss" %
                              (timeout if timeout is not None else self.timeout))
        if self.buf:
            raise DialogError("partial line %r before close" % self.buf)

    def expect_silence(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.buf and self._fill(deadline):
            pass
        if self.buf:
            raise DialogError("expected silence, got %r" % self.buf)
        if self.eof:
            raise DialogError("expected silence, the server closed the connection")

    def starttls(self, server_hostname="mx.example.test"):
        """TLS handshake on this socket. Returns the peer certificate (DER)."""
        if self.buf:
            raise DialogError("plaintext %r arrived before the TLS handshake" % self.buf)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.log.append(("S", b"<TLS handshake done>"))
        return self.sock.getpeercert(binary_form=True)

    # -- conveniences for tests --
    def cmd(self, text, code=None, enhanced=None):
        """Sends one command line and returns (and optionally checks) its reply."""
        self.line(text)
        if code is None:
            r = self.reply()
            if r is None:
                raise DialogError("no reply to %r" % text)
            return r
        return self.expect(code, enhanced)

    def transcript(self):
        return "\n".join("%s: %r" % (who, data) for who, data in self.log)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_message(client, sender, rcpts, body, ehlo=True):
    """One whole DATA transaction (EHLO first if ehlo). Returns the final reply
    (None if the connection died first). body is bytes, already dot-stuffed,
    ending with CRLF; the terminator is added here."""
    if ehlo:
        client.cmd("EHLO client.test", 250)
    client.cmd("MAIL FROM:<%s>" % sender, 250)
    for r in rcpts:
        client.cmd("RCPT TO:<%s>" % r, 250)
    client.cmd("DATA", 354)
    client.send(body + b".\r\n")
    return client.reply()


def queue_id(reply):
    """The ID in "250 2.0.0 Ok: queued as ID", or None."""
    m = re.search(r"queued as (\S+)", reply.text()) if reply else None
    return m.group(1) if m else None


# -- dialog files --

def safe_bytes(expr):
    """Evaluates a bytes literal, or literals combined with + and * int."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, int)):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a * b
        raise ValueError("only bytes literals, + and * are allowed: %r" % expr)
    value = ev(ast.parse(expr, mode="eval"))
    if not isinstance(value, bytes):
        raise ValueError("not bytes: %r" % expr)
    return value


class Dialog:
    """A parsed .dialog file."""

    def __init__(self, path):
        self.path = path
        self.config = {}   # top-level key -> TOML text
        self.limits = {}   # [limits] key -> TOML text
        self.steps = []    # (line number, directive, argument)
        self.comment = ""
        with open(path, encoding="utf-8") as f:
            for no, raw in enumerate(f, 1):
                self._parse(no, raw.rstrip("\n"))
        if not self.comment:
            raise ValueError("%s: a dialog must open with a '--' comment saying why it exists" % path)

    def _parse(self, no, line):
        where = "%s:%d" % (self.path, no)
        if not line.strip():
            return
        if line.startswith("--"):
            if not self.steps and not self.config and not self.limits:
                self.comment += line[2:].strip() + " "
            return
        if not self.comment:
            raise ValueError("%s: a dialog must open with a '--' comment" % where)
        if line.startswith("CONFIG "):
            if self.steps:
                raise ValueError("%s: CONFIG after the first step" % where)
            key, _, value = line[7:].partition("=")
            key, value = key.strip(), value.strip()
            if not key or not value:
                raise ValueError("%s: CONFIG needs key = value" % where)
            if key.startswith("limits."):
                self.limits[key[7:]] = value
            else:
                self.config[key] = value
            return
        count = None
        m = re.match(r"REPEAT (\d+) (.*)$", line)
        if m:
            count, line = int(m.group(1)), m.group(2)
        step = self._step(where, line)
        if count is None:
            self.steps.append((no, *step))
        else:
            for i in range(1, count + 1):
                kind, arg = step
                if isinstance(arg, str):
                    arg = arg.replace("{n}", str(i))
                elif isinstance(arg, bytes):
                    arg = arg.replace(b"{n}", str(i).encode())
                self.steps.append((no, kind, arg))

    @staticmethod
    def _step(where, line):
        if line.startswith("C: "):
            return "send", line[3:].encode("utf-8") + b"\r\n"
        if line.startswith("C~ "):
            try:
                return "send", safe_bytes(line[3:].strip())
            except (ValueError, SyntaxError) as e:
                raise ValueError("%s: %s" % (where, e)) from None
        if line.startswith("S: "):
            m = re.fullmatch(r"(\d{3})(?: ([245]\.\d{1,3}\.\d{1,3}))?", line[3:].strip())
            if not m:
                raise ValueError("%s: S: wants a code and an optional enhanced code" % where)
            return "expect", (m.group(1), m.group(2))
        if line.startswith("S~ "):
            return "match", re.compile(line[3:])
        if line.strip() == "CLOSE":
            return "close", None
        if line.strip() == "TLS":
            return "tls", None
        m = re.fullmatch(r"SILENT (\d+(?:\.\d+)?)", line.strip())
        if m:
            return "silent", float(m.group(1))
        raise ValueError("%s: unknown directive %r" % (where, line))

    def config_key(self):
        """Dialogs with equal keys can share one server."""
        return (tuple(sorted(self.config.items())), tuple(sorted(self.limits.items())))

    def extra_toml(self):
        """TOML for Tern(extra=...): top-level keys, then a [limits] table."""
        lines = ["%s = %s" % kv for kv in sorted(self.config.items())]
        if self.limits:
            lines.append("[limits]")
            lines += ["%s = %s" % kv for kv in sorted(self.limits.items())]
        return "\n".join(lines)

    def run(self, host, port):
        """Plays the dialog against host:port; raises DialogError on a mismatch."""
        client = SmtpClient(host, port)
        try:
            for no, kind, arg in self.steps:
                try:
                    self._do(client, kind, arg)
                except (DialogError, OSError, ssl.SSLError) as e:
                    raise DialogError("%s:%d: %s\n--- transcript ---\n%s" % (
                        self.path, no, e, client.transcript())) from None
        finally:
            client.close()

    @staticmethod
    def _do(client, kind, arg):
        if kind == "send":
            client.send(arg)
        elif kind == "expect":
            client.expect(*arg)
        elif kind == "match":
            r = client.reply()
            if r is None:
                raise DialogError("expected a reply matching /%s/, got %s" % (
                    arg.pattern, "EOF" if client.eof else "nothing (timeout)"))
            if not arg.search(r.text()):
                raise DialogError("expected a reply matching /%s/, got %r" % (arg.pattern, r.text()))
        elif kind == "close":
            client.expect_close()
        elif kind == "silent":
            client.expect_silence(arg)
        elif kind == "tls":
            client.starttls()
