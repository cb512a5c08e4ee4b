#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (issue 13).

Seeds come from the unit tests' inputs, the scripted dialogs of
tests/dialogs, docs/queue_format.md, examples/tern.toml and the reference
suites under ../shared/refs (RFC texts, suites/dkim, suites/spf,
suites/mime). Each seed is a file named by the SHA-1 of its content, as
libFuzzer names corpus files, so rerunning this script only adds files.

  python3 tests/fuzz/make_seeds.py [REFS_DIR]   (default: /work/shared/refs)
"""
import ast
import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUZZ = ROOT / "tests" / "fuzz"
REFS = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/refs")
MAX_SEED = 8192  # octets; larger inputs only slow every run down


def put(harness, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    data = data[:MAX_SEED]
    d = FUZZ / "corpus" / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def read(path):
    try:
        return pathlib.Path(path).read_bytes()
    except OSError:
        return b""


def literals(path):
    """The C++ string literals of a unit test, unescaped (simple ones only)."""
    text = read(path).decode("utf-8", "replace")
    out = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        try:
            out.append(ast.literal_eval('"' + m.group(1) + '"').encode("utf-8", "surrogateescape"))
        except (ValueError, SyntaxError):
            pass
    return out


def dialog_client_bytes(path):
    """What the client sends in a tests/dialogs script: C: lines get CRLF,
    C~ lines are Python bytes literals."""
    out = b""
    for line in read(path).decode("utf-8", "replace").splitlines():
        if line.startswith("C: "):
            out += line[3:].encode() + b"\r\n"
        elif line.startswith("C~ "):
            try:
                v = ast.literal_eval(line[3:])
                out += v if isinstance(v, bytes) else v.encode()
            except (ValueError, SyntaxError):
                pass
    return out


def header_section(msg):
    end = msg.find(b"\n\n")
    end2 = msg.find(b"\r\n\r\n")
    cut = min(x for x in (end, end2, len(msg)) if x >= 0)
    return msg[:cut + 1]


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def header_values(msg, names):
    out = []
    for m in re.finditer(rb"(?im)^(%s):[ \t]*((?:.*)(?:\r?\n[ \t].*)*)" % b"|".join(names), msg):
        out.append(m.group(2).rstrip(b"\r\n"))
    return out


UNIT = ROOT / "tests" / "unit"
dialogs = sorted((ROOT / "tests" / "dialogs").glob("*.dialog"))
mime_msgs = sorted((REFS / "suites" / "mime").rglob("*"))
mime_msgs = [p for p in mime_msgs if p.is_file() and p.stat().st_size < 64 * 1024][:80]
dkim_msgs = [p for p in (REFS / "suites" / "dkim").rglob("*")
             if p.is_file() and p.suffix in (".msg", ".eml", ".mbox", ".message", "")]

# command: every client line of the dialogs.
for d in dialogs:
    for line in dialog_client_bytes(d).split(b"\r\n"):
        if line:
            put("command", line)
for verb in ["EHLO x", "HELO x", "MAIL FROM:<a@b>", "RCPT TO:<a@b>", "DATA", "BDAT 10 LAST", "RSET",
             "NOOP", "QUIT", "VRFY a", "EXPN a", "HELP", "STARTTLS", "AUTH PLAIN", "ETRN @example.com",
             "ETRN #queue", "TURN"]:
    put("command", verb)

# params: MAIL/RCPT arguments of the dialogs and the unit tests; octet 0
# picks MAIL (0), RCPT (1), RCPT with SMTPUTF8 (2), xtext (3).
args = set()
for d in dialogs:
    for line in dialog_client_bytes(d).split(b"\r\n"):
        m = re.match(rb"(?i)(MAIL FROM:|RCPT TO:)(.*)", line)
        if m:
            args.add((0 if m.group(1).upper().startswith(b"MAIL") else 1, m.group(2)))
for lit in literals(UNIT / "params_test.cc"):
    if lit.startswith(b"<") or b"=" in lit:
        args.add((0, lit))
        args.add((1, lit))
for which, a in sorted(args):
    put("params", bytes([which]) + a)
    if which == 1:
        put("params", bytes([2]) + a)
for x in [b"a+2Bb", b"+3D", b"hello", b"+e9t+C3+A9"]:
    put("params", bytes([3]) + x)

# address: the address literals of the unit tests; octet 0: 1 allow_utf8,
# 2 allow_null, 4 allow_postmaster.
for lit in literals(UNIT / "address_test.cc") + literals(UNIT / "params_test.cc"):
    if b"@" in lit or lit.lower() in (b"<postmaster>", b"<>"):
        put("address", bytes([7]) + lit)
        put("address", bytes([0]) + lit)

# data_reader: message bodies in wire form, some with end markers and
# bare line ends (the parameters come from the input's last octets).
bodies = [b"Subject: x\r\n\r\nhello\r\n.\r\n", b".\r\n", b"..dot\r\n.\r\n", b"a\nb\r\n.\r\n",
          b"a\r\n.\n\r\n.\r\nNOOP\r\n", b"x\r.\r\n.\r\n"]
for p in mime_msgs[:20]:
    bodies.append(crlf(read(p))[:2000] + b"\r\n.\r\n")
for d in dialogs:
    c = dialog_client_bytes(d)
    i = c.find(b"DATA\r\n")
    if i >= 0:
        bodies.append(c[i + 6:])
for b in bodies:
    put("data_reader", b)

# server_session: a 24-octet header (see server_session_fuzz.cc), then a
# dialog's client bytes.
headers = [bytes(24), bytes([1 | 2 | 8 | 32 | 64, 3, 7, 24, 0xff, 0xff, 255]) + bytes(17),
           bytes([0x10 | 1, 0, 3, 5, 0, 64, 7]) + bytes([1, 2, 3, 4, 5, 6, 7, 8]) + bytes(9),
           bytes([2 | 4 | 128, 4 | 3, 7, 24, 0x10, 0, 0]) + bytes(17)]
auth = (b"EHLO c\r\nSTARTTLS\r\nEHLO c\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\n"
        b"AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\nMAIL FROM:<a@local.test> AUTH=<>\r\n"
        b"RCPT TO:<b@remote.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
for i, d in enumerate(dialogs + [None]):
    body = dialog_client_bytes(d) if d else auth
    put("server_session", headers[i % len(headers)] + body)
    put("server_session", headers[(i + 1) % len(headers)] + body)

# reply_parser and client_session: server replies.
replies = [
    b"220 mx.example.com ESMTP\r\n",
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
    b"250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
    b"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
    b"550-5.1.1 The email account that you tried to reach does not exist.\r\n"
    b"550 5.1.1 https://support.example.com/mail\r\n",
    b"421 4.7.0 Try again later, closing connection.\n",
    b"354 End data with <CR><LF>.<CR><LF>\r\n",
    b"250 2.0.0 Ok: queued as 12345\r\n221 2.0.0 Bye\r\n",
]
for r in replies:
    put("reply_parser", bytes([0]) + r)
    put("reply_parser", bytes([3]) + r)
for m in re.finditer(rb"(?m)^ +S: ([2-5]\d\d[ -].*)$", read(REFS / "rfc" / "rfc5321.txt")):
    put("reply_parser", bytes([31]) + m.group(1) + b"\r\n")

ehlo = replies[1]
sessions = [
    b"220 mx\r\n" + ehlo + b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n"
    b"250 2.0.0 queued\r\n250 2.1.0 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n",
    b"220 mx\r\n" + ehlo + b"220 2.0.0 go ahead\r\n" + ehlo + b"235 2.7.0 ok\r\n250 ok\r\n"
    b"550 5.1.1 no\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n",
    b"220 mx\r\n502 no EHLO\r\n250 hi\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n",
    b"220 mx\r\n" + ehlo + b"250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 chunk\r\n250 ok\r\n221 bye\r\n",
    b"554 go away\r\n",
    b"220 mx\r\n" + ehlo + b"334 \r\n334 VXNlcm5hbWU6\r\n535 5.7.8 bad\r\n221 bye\r\n",
]
for i, s in enumerate(sessions):
    for h in (bytes(8), bytes([2 | 4 | 64 | 128, 255, 1, 1, 1, 1, 1, 1]),
              bytes([1 | 2 | 16, 7, 0, 0, 0, 0, 0, 0])):
        put("client_session", h + s)

# mime: octet 0 picks encoded words (0), a mailbox or list (1), a header
# section (2).
for p in mime_msgs + [p for p in dkim_msgs if p.suffix in (".msg", ".eml")]:
    msg = read(p)
    put("mime", bytes([2]) + crlf(header_section(msg)))
    for v in header_values(msg, [b"From", b"To", b"Cc", b"Reply-To", b"Sender"]):
        put("mime", bytes([1]) + v.replace(b"\r\n", b"").replace(b"\n", b""))
    for v in header_values(msg, [b"Subject"]):
        put("mime", bytes([0]) + v)
for lit in literals(UNIT / "mime_mailbox_test.cc"):
    put("mime", bytes([1]) + lit)
for lit in literals(UNIT / "mime_encoded_word_test.cc"):
    put("mime", bytes([0]) + lit)

# DKIM: signatures from the signed messages, key records from the suites.
for p in dkim_msgs:
    for v in header_values(read(p), [b"DKIM-Signature"]):
        put("dkim_tag_list", v)
        put("dkim_signature", v)
for p in list((REFS / "suites" / "dkim").rglob("*.txt")) + list((REFS / "suites" / "dkim").rglob("*.dns")):
    for line in read(p).splitlines():
        if b"v=DKIM1" in line or b"p=" in line:
            rec = line[line.find(b"v=DKIM1"):] if b"v=DKIM1" in line else line
            put("dkim_key_record", rec.strip())
            put("dkim_tag_list", rec.strip())
for lit in literals(UNIT / "dkim_key_record_test.cc"):
    put("dkim_key_record", lit)
for lit in literals(UNIT / "dkim_tag_list_test.cc") + literals(UNIT / "dkim_signature_test.cc"):
    if b"=" in lit:
        put("dkim_tag_list", lit)
        put("dkim_signature", lit)

# SPF: TXT records and macro strings of the RFC 4408/7208 test suites.
for p in (REFS / "suites" / "spf").glob("*.yml"):
    for m in re.finditer(rb"v=spf1[^\"'\n]*", read(p)):
        rec = m.group(0).rstrip()
        put("spf_record", bytes([0]) + rec)
        for term in rec.split():
            if b"%" in term:
                spec = term.split(b":", 1)[-1].split(b"=", 1)[-1]
                put("spf_macro", bytes([0]) + spec)
                put("spf_macro", bytes([1]) + spec)
for lit in literals(UNIT / "spf_record_test.cc"):
    put("spf_record", bytes([0]) + lit)
for lit in literals(UNIT / "spf_macro_test.cc"):
    if b"%" in lit:
        put("spf_macro", bytes([0]) + lit)
        put("spf_macro", bytes([3]) + lit)

# DMARC: the unit tests' records (octet 0: 1 puts "v=DMARC1; " in front).
for lit in literals(UNIT / "dmarc_record_test.cc"):
    if b"=" in lit or b"mailto:" in lit:
        put("dmarc_record", bytes([0]) + lit)

# The queue: docs/queue_format.md's examples, and the unit tests' state lines.
qf = read(ROOT / "docs" / "queue_format.md")
blocks = re.findall(rb"```\n(.*?)```", qf, re.S)
for b in blocks:
    if b.startswith(b"tern-queue 1"):
        put("envelope_codec", b)
        put("envelope_codec", b.split(b"Received:")[0] + b"\n")
    if re.match(rb"(try|ok|fail|warn|done) \d", b):
        put("state_log", b)
        for line in b.splitlines():
            put("state_log", line + b"\n")
            put("state_log", line.rsplit(b" #", 1)[0] + b"\n")  # the harness adds the CRC
put("envelope_codec", b"tern-queue 1\nid 0TyMzQOCdH3kTQZb\nreceived-at 0\nfrom <>\nrcpt Postmaster\n\n")

# aliases and users.
for lit in literals(UNIT / "aliases_test.cc"):
    if b":" in lit and b"@" in lit:
        put("aliases", lit)
put("aliases", b"# comment\nalias@example.org: a@example.org, b@example.net\n*@example.org: c@example.org\n"
    b"loop@x.test: loop@x.test, other@x.test\r\n")
hash_ = b"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6r3N5Cq4aN0yqHxE2tT3mQ9w0Qf3l8pXk1m2n3o4p5q"
put("users", b"\0alice@example.org " + hash_ + b"\nbob@example.org " + hash_ + b"\n# x\n")
put("users", b"\1Alice@Example.ORG")
for lit in literals(UNIT / "users_test.cc"):
    if b"@" in lit:
        put("users", b"\1" + lit)

# config: the example file and the TOML snippets of the unit tests.
put("config", read(ROOT / "examples" / "tern.toml"))
for lit in literals(UNIT / "config_test.cc"):
    if b"=" in lit and (b"[" in lit or b"\n" in lit):
        put("config", lit)
for v in [b"10M", b"1h30m", b"127.0.0.1:25", b"[::1]:587", b"example.org"]:
    put("config", v)

for d in sorted((FUZZ / "corpus").iterdir()):
    files = list(d.iterdir())
    print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} octets")
