"""The message builder (tern::Message) read back by an independent parser.

tests/tools/mime_sample renders a set of sample messages (NAME.eml) and
records what went into each (NAME.json). Every sample is parsed here with
Python's email package (policy=email.policy.default) and checked against
that record:

  - the raw bytes: CRLF line endings only, no line over 998 octets
    (RFC 5322 2.1.1), 8-bit octets only when the builder says is_8bit;
  - headers: From/To/Cc/Reply-To names and addresses, Subject and custom
    fields decode to the original UTF-8; no Bcc field and no Bcc address;
    Message-ID and Date as reported; no parser defects;
  - structure: the multipart tree message.h promises for the parts given
    (alternative, related, mixed), computed here independently;
  - bodies: text and HTML decode to the original (line breaks as CRLF);
    attachment and inline image bytes are identical, with their file names
    (RFC 2231 for non-ASCII) and media types; every inline image's
    Content-ID is referenced as cid: in the HTML;
  - the envelope the builder reports: sender, deduplicated recipients,
    SMTPUTF8.

The sample tool comes from TERN_MIME_SAMPLE (set by tests/CMakeLists.txt).
"""
import datetime
import email
import email.header
import email.policy
import email.utils
import json
import os
import re
import subprocess
import tempfile
import unittest

MIME_SAMPLE = os.environ.get("TERN_MIME_SAMPLE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "debug", "tests", "mime_sample")

POLICY = email.policy.default


def python_keeps_space_between_encoded_words():
    """True if this Python has CPython gh-128110 (fixed in 2025): in a
    display name it keeps the whitespace between two adjacent encoded
    words, which RFC 2047 6.2 says to drop. Our long names are split into
    several encoded words, so with such a Python we decode names the
    RFC 2047 way with email.header instead (still from the raw header)."""
    m = email.message_from_bytes(
        b"To: =?utf-8?q?a?= =?utf-8?q?b?= <x@example.com>\r\n\r\n", policy=POLICY)
    return m["To"].addresses[0].display_name != "ab"


PHRASE_BUG = python_keeps_space_between_encoded_words()


def unescape(s):
    """Header text with 8-bit octets comes back surrogate-escaped."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8")


def collapse(s):
    return " ".join(s.split())


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def expected_structure(j):
    """The tree include/tern/message.h documents for the parts given."""
    text, html = j["text"] is not None, j["html"] is not None
    inline, files = j["inline"], j["attachments"]
    body = []
    if text:
        body.append("text/plain")
    if html:
        if inline:
            body.append("multipart/related(text/html,%s)" %
                        ",".join(i["content_type"] for i in inline))
        else:
            body.append("text/html")
    leaves = ([] if html else [i["content_type"] for i in inline]) + \
        [a["content_type"] for a in files]
    main = "multipart/alternative(%s)" % ",".join(body) if len(body) == 2 else \
        (body[0] if body else None)
    if not leaves:
        return main or "text/plain"
    return "multipart/mixed(%s)" % ",".join(([main] if main else []) + leaves)


def raw_field(raw, name):
    """The unfolded value of the first top-level field `name`, as text."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    for line in re.sub(r"\r\n(?=[ \t])", "", head).split("\r\n"):
        field, _, value = line.partition(":")
        if field.lower() == name.lower():
            return value.strip()
    return None


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def lf(s):
    return s.replace("\r\n", "\n").replace("\r", "\n")


class Samples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run([MIME_SAMPLE, cls.tmp.name], check=True, timeout=60)
        cls.samples = []
        for name in sorted(os.listdir(cls.tmp.name)):
            if name.endswith(".json"):
                with open(os.path.join(cls.tmp.name, name), encoding="utf-8") as f:
                    j = json.load(f)
                with open(os.path.join(cls.tmp.name, j["name"] + ".eml"), "rb") as f:
                    raw = f.read()
                cls.samples.append((j, raw, email.message_from_bytes(raw, policy=POLICY)))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_all_samples_present(self):
        self.assertGreaterEqual(len(self.samples), 12)

    # ---- raw bytes

    def test_crlf_only_and_no_line_over_998(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertTrue(raw.endswith(b"\r\n"))
                lines = raw.split(b"\r\n")
                for n, line in enumerate(lines[:-1]):
                    self.assertNotIn(b"\n", line, "bare LF in line %d" % n)
                    self.assertNotIn(b"\r", line, "bare CR in line %d" % n)
                    self.assertLessEqual(len(line), 998, "line %d" % n)
                self.assertEqual(lines[-1], b"")

    def test_8bit_only_when_reported(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertEqual(any(b >= 0x80 for b in raw), j["is_8bit"])
                if j["is_8bit"]:
                    self.assertTrue(j["needs_smtputf8"])

    def test_headers_fold_within_76_where_words_allow(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                for part in [raw] + [p.as_bytes(policy=POLICY.clone(linesep="\r\n"))
                                     for p in msg.walk()][1:]:
                    head = part.split(b"\r\n\r\n", 1)[0]
                    for line in head.split(b"\r\n"):
                        if len(line) <= 76:  # RFC 2047 2 (RFC 5322 2.1.1 says 78)
                            continue
                        # Longer only when one word cannot be split.
                        words = line.split()
                        if line[:1] not in b" \t":
                            words = words[1:]  # the field name
                        self.assertEqual(len(words), 1, line)

    # ---- headers

    def assert_mailboxes(self, raw, field, got, expected):
        got_pairs = [(unescape(a.display_name),
                      unescape(a.username) + "@" + unescape(a.domain)) for a in got]
        want = [(collapse(e["name"]), e["address"]) for e in expected]
        if got_pairs != want and PHRASE_BUG:
            # RFC 2047 6.2 decoding of the same raw header (see PHRASE_BUG).
            got_pairs = [(str(email.header.make_header(email.header.decode_header(n))), a)
                         for n, a in email.utils.getaddresses([raw_field(raw, field)])]
        self.assertEqual(got_pairs, want, field)

    def test_address_headers_round_trip(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                for field, key in (("From", "from"), ("To", "to"), ("Cc", "cc"),
                                   ("Reply-To", "reply_to")):
                    expected = j[key] if isinstance(j[key], list) else [j[key]]
                    if field == "To" and not j["to"] and not j["cc"]:
                        self.assertEqual(str(msg["To"]), "undisclosed-recipients:;")
                        self.assertEqual(msg["To"].addresses, ())
                    elif not expected:
                        self.assertIsNone(msg[field], field)
                    else:
                        self.assert_mailboxes(raw, field, msg[field].addresses, expected)

    def test_bcc_never_written(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertIsNone(msg["Bcc"])
                self.assertNotIn(b"\nbcc:", raw.lower())
                for b in j["bcc"]:
                    self.assertNotIn(b["address"].encode(), raw)
                    if b["name"]:
                        self.assertNotIn(b["name"].encode(), raw)

    def test_subject_and_custom_headers(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                if j["subject"] is None:
                    self.assertIsNone(msg["Subject"])
                else:
                    self.assertEqual(str(msg["Subject"]), j["subject"].strip(" \t"))
                for name, value in j["headers"]:
                    self.assertEqual(str(msg[name]), value.strip(" \t"), name)

    def test_message_id_date_mime_version(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertEqual(unescape(str(msg["Message-ID"])), j["message_id"])
                self.assertEqual(msg["Date"].datetime,
                                 datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
                self.assertEqual(str(msg["MIME-Version"]), "1.0")

    def test_no_parser_defects(self):
        # UTF-8 addresses (RFC 6532) are outside what this parser accepts
        # without complaint; everything else must parse cleanly.
        allowed = (email.errors.NonASCIILocalPartDefect, email.errors.UndecodableBytesDefect)
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                for part in msg.walk():
                    self.assertEqual(part.defects, [], part.get_content_type())
                    for name, value in part.items():
                        defects = [d for d in getattr(value, "defects", ())
                                   if not (j["is_8bit"] and isinstance(d, allowed))]
                        self.assertEqual(defects, [], name)

    # ---- structure and bodies

    def test_structure(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertEqual(structure(msg), expected_structure(j))
                if msg.get_content_type() == "multipart/related" or any(
                        p.get_content_type() == "multipart/related" for p in msg.walk()):
                    rel = [p for p in msg.walk() if p.get_content_type() == "multipart/related"][0]
                    self.assertEqual(rel.get_param("type"), "text/html")

    def test_text_and_html_bodies(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                for key, ctype in (("text", "text/plain"), ("html", "text/html")):
                    if j[key] is None:
                        continue
                    part = [p for p in leaves(msg) if p.get_content_type() == ctype and
                            p.get_content_disposition() is None][0]
                    self.assertEqual(part.get_content_charset(), "utf-8")
                    self.assertIn(part["Content-Transfer-Encoding"],
                                  ("7bit", "quoted-printable", "base64"))
                    got, want = lf(part.get_content()), lf(j[key])
                    if msg is part and part["Content-Transfer-Encoding"] == "7bit":
                        # A single 7bit part may gain a final line break.
                        self.assertIn(got, (want, want + "\n"))
                    else:
                        self.assertEqual(got, want)

    def test_attachments(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                parts = [p for p in leaves(msg) if p.get_content_disposition() == "attachment"]
                self.assertEqual(len(parts), len(j["attachments"]))
                for part, want in zip(parts, j["attachments"]):
                    self.assertEqual(part.get_content_type(), want["content_type"])
                    self.assertEqual(part.get_filename(), want["filename"] or None)
                    self.assertEqual(part["Content-Transfer-Encoding"], "base64")
                    self.assertEqual(part.get_payload(decode=True), bytes.fromhex(want["data_hex"]))

    def test_inline_images(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                parts = [p for p in leaves(msg) if p["Content-ID"] is not None]
                self.assertEqual(len(parts), len(j["inline"]))
                for part, want in zip(parts, j["inline"]):
                    self.assertEqual(part.get_content_disposition(), "inline")
                    self.assertEqual(str(part["Content-ID"]), "<%s>" % want["cid"])
                    self.assertEqual(part.get_content_type(), want["content_type"])
                    self.assertEqual(part.get_filename(), want["filename"] or None)
                    self.assertEqual(part.get_payload(decode=True), bytes.fromhex(want["data_hex"]))
                    if j["html"] is not None:
                        self.assertIn('"cid:%s"' % want["cid"], j["html"])
                        html = [p for p in leaves(msg) if p.get_content_type() == "text/html"][0]
                        self.assertIn("cid:" + want["cid"], html.get_content())

    # ---- envelope

    def test_envelope(self):
        for j, raw, msg in self.samples:
            with self.subTest(sample=j["name"]):
                self.assertEqual(j["envelope_from"], j["from"]["address"])
                seen, rcpts = set(), []
                for m in j["to"] + j["cc"] + j["bcc"]:
                    local, _, domain = m["address"].rpartition("@")
                    if (local, domain.lower()) not in seen:
                        seen.add((local, domain.lower()))
                        rcpts.append(m["address"])
                self.assertEqual(j["recipients"], rcpts)
                addresses = [j["from"]] + j["to"] + j["cc"] + j["bcc"] + j["reply_to"]
                self.assertEqual(j["needs_smtputf8"],
                                 any(not m["address"].isascii() for m in addresses))


if __name__ == "__main__":
    unittest.main()
