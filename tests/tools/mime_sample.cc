// mime_sample: renders a fixed set of sample messages with tern::Message,
// for tests/integration/test_mime.py to parse back with Python's email
// package.
//
//   mime_sample OUTDIR
//
// For each sample NAME it writes OUTDIR/NAME.eml (what render() gives) and
// OUTDIR/NAME.json (what went in: addresses, subject, bodies, files as hex,
// and the envelope the Message reports). It uses only the public API, as a
// client program would. Output is deterministic (fixed date and tokens).
// Exits 0 on success, 1 on any refused input or I/O error, 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tern/message.h"

namespace {

using tern::Mailbox;
using tern::Message;
using tern::MessageStatus;

constexpr int64_t kDate = 1767225600;  // Thu, 01 Jan 2026 00:00:00 +0000

void check(const MessageStatus& st, const std::string& what) {
  if (st.ok()) return;
  std::fprintf(stderr, "mime_sample: %s: %s\n", what.c_str(), st.message().c_str());
  std::exit(1);
}

// ---- A minimal JSON writer (strings are UTF-8 or escaped).

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string hex(const std::string& data) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string mailbox_json(const Mailbox& m) {
  return "{\"name\": " + quote(m.name) + ", \"address\": " + quote(m.address) + "}";
}

std::string list_json(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

std::string bytes_of(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>(rng() & 0xFF);
  return s;
}

// A Message plus a record of what went into it.
class Sample {
 public:
  explicit Sample(std::string name) : name_(std::move(name)), msg_(kDate, token(name_)) {}

  void from(const Mailbox& m) {
    check(msg_.set_from(m), name_ + " from");
    from_ = mailbox_json(m);
  }
  void to(const Mailbox& m) { add(&to_, msg_.add_to(m), m); }
  void cc(const Mailbox& m) { add(&cc_, msg_.add_cc(m), m); }
  void bcc(const Mailbox& m) { add(&bcc_, msg_.add_bcc(m), m); }
  void reply_to(const Mailbox& m) { add(&reply_to_, msg_.add_reply_to(m), m); }
  void subject(const std::string& s) {
    check(msg_.set_subject(s), name_ + " subject");
    subject_ = quote(s);
  }
  void header(const std::string& n, const std::string& v) {
    check(msg_.add_header(n, v), name_ + " header " + n);
    headers_.push_back("[" + quote(n) + ", " + quote(v) + "]");
  }
  void text(const std::string& t) {
    msg_.set_text(t);
    text_ = quote(t);
  }
  void html(const std::string& h) {
    msg_.set_html(h);
    html_ = quote(h);
  }
  void attach(const std::string& filename, const std::string& data, const std::string& type,
              const std::string& expected_type) {
    check(msg_.attach(filename, data, type), name_ + " attach " + filename);
    files_.push_back(file_json(filename, data, expected_type, ""));
  }
  void attach_file(const std::string& dir, const std::string& filename, const std::string& data,
                   const std::string& expected_type) {
    const std::string path = write_temp(dir, filename, data);
    check(msg_.attach_file(path), name_ + " attach_file " + path);
    files_.push_back(file_json(filename, data, expected_type, ""));
  }
  void image(const std::string& cid, const std::string& data, const std::string& type,
             const std::string& filename) {
    check(msg_.inline_image(cid, data, type, filename), name_ + " image " + cid);
    images_.push_back(file_json(filename, data, type, cid));
  }
  void image_file(const std::string& dir, const std::string& cid, const std::string& filename,
                  const std::string& data, const std::string& expected_type) {
    const std::string path = write_temp(dir, filename, data);
    check(msg_.inline_image_file(cid, path), name_ + " image_file " + path);
    images_.push_back(file_json(filename, data, expected_type, cid));
  }

  void write(const std::string& dir) const {
    std::string eml;
    check(msg_.render(&eml), name_ + " render");
    std::vector<std::string> rcpts;
    for (const std::string& r : msg_.recipients()) rcpts.push_back(quote(r));
    std::string json = "{\n";
    json += "  \"name\": " + quote(name_) + ",\n";
    json += "  \"from\": " + from_ + ",\n";
    json += "  \"to\": " + list_json(to_) + ",\n";
    json += "  \"cc\": " + list_json(cc_) + ",\n";
    json += "  \"bcc\": " + list_json(bcc_) + ",\n";
    json += "  \"reply_to\": " + list_json(reply_to_) + ",\n";
    json += "  \"subject\": " + subject_ + ",\n";
    json += "  \"headers\": " + list_json(headers_) + ",\n";
    json += "  \"text\": " + text_ + ",\n";
    json += "  \"html\": " + html_ + ",\n";
    json += "  \"attachments\": " + list_json(files_) + ",\n";
    json += "  \"inline\": " + list_json(images_) + ",\n";
    json += "  \"message_id\": " + quote(msg_.message_id()) + ",\n";
    json += "  \"envelope_from\": " + quote(msg_.envelope_from()) + ",\n";
    json += "  \"recipients\": " + list_json(rcpts) + ",\n";
    json +=
        std::string("  \"needs_smtputf8\": ") + (msg_.needs_smtputf8() ? "true" : "false") + ",\n";
    json += std::string("  \"is_8bit\": ") + (msg_.is_8bit() ? "true" : "false") + "\n}\n";
    save(dir + "/" + name_ + ".eml", eml);
    save(dir + "/" + name_ + ".json", json);
  }

 private:
  // A fixed token per sample name (FNV-1a of the name seeds the bytes).
  static Message::Token token(const std::string& name) {
    uint32_t h = 2166136261u;
    for (unsigned char c : name) h = (h ^ c) * 16777619u;
    std::mt19937 rng(h);
    Message::Token t{};
    for (auto& b : t) b = static_cast<uint8_t>(rng());
    return t;
  }
  static void save(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
    if (!out) {
      std::fprintf(stderr, "mime_sample: cannot write %s\n", path.c_str());
      std::exit(1);
    }
  }
  static std::string write_temp(const std::string& dir, const std::string& filename,
                                const std::string& data) {
    const std::string path = dir + "/files/" + filename;
    save(path, data);
    return path;
  }
  static std::string file_json(const std::string& filename, const std::string& data,
                               const std::string& type, const std::string& cid) {
    return "{\"filename\": " + quote(filename) + ", \"content_type\": " + quote(type) +
           ", \"cid\": " + quote(cid) + ", \"data_hex\": " + quote(hex(data)) + "}";
  }
  void add(std::vector<std::string>* list, const MessageStatus& st, const Mailbox& m) {
    check(st, name_ + " address " + m.address);
    list->push_back(mailbox_json(m));
  }

  std::string name_;
  Message msg_;
  std::string from_ = "null", subject_ = "null", text_ = "null", html_ = "null";
  std::vector<std::string> to_, cc_, bcc_, reply_to_, headers_, files_, images_;
};

// ---- The samples.

std::vector<Sample> samples(const std::string& dir) {
  std::vector<Sample> out;
  const Mailbox alice{"Alice Example", "alice@example.com"};
  const Mailbox bob{"Bob", "bob@example.org"};
  const std::string png = "\x89PNG\r\n\x1a\n" + bytes_of(700, 1);
  const std::string gif = "GIF89a" + bytes_of(300, 2);

  {
    Sample s("text_only");
    s.from(alice);
    s.to(bob);
    s.subject("Plain ASCII");
    s.text("Hello Bob,\n\nthis is plain text.\n-- \nAlice\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("html_only");
    s.from(alice);
    s.to(bob);
    s.subject("Only HTML");
    s.html("<html><body><p>Hello <b>Bob</b></p></body></html>\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("alternative_utf8");
    s.from({"Jörg Müller", "joerg@example.de"});
    s.to({"Zoë Ærøskøbing", "zoe@example.dk"});
    s.to({"Doe, John Q.", "john@example.com"});
    s.cc({"李小龍", "bruce@example.cn"});
    s.cc({"", "plain@example.com"});
    s.reply_to({"Équipe Support", "support@example.fr"});
    s.subject("Grüße aus Köln — café, naïve, ½ price! 😀");
    s.text("Grüße!\nÇa va? Let's meet at the café.\n");
    s.html("<p>Grüße!</p><p>Ça va? Let's meet at the <i>café</i>.</p>\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("attachments");
    s.from(alice);
    s.to(bob);
    s.subject("Files attached");
    s.text("See the attached files.\n");
    s.attach("random.bin", bytes_of(10000, 3), "", "application/octet-stream");
    s.attach("data.csv", "a,b\nc,d\r\ne,f\n", "", "text/csv");
    s.attach("Übersicht März 2026.pdf", "%PDF-1.4\n" + bytes_of(2000, 4), "", "application/pdf");
    std::string long_name;
    for (int i = 0; i < 25; ++i) long_name += "日本語ファイル";
    s.attach(long_name + ".txt", "long name\n", "", "text/plain");
    s.attach("my \"quoted\" file (1).txt", "quoted\n", "", "text/plain");
    s.attach("=?UTF-8?Q?not_encoded?=.bin", "x", "application/x-test", "application/x-test");
    s.attach("", "no name", "application/octet-stream", "application/octet-stream");
    s.attach_file(dir, "from disk.ZIP", "PK\x03\x04" + bytes_of(500, 5), "application/zip");
    out.push_back(std::move(s));
  }
  {
    Sample s("inline_images");
    s.from(alice);
    s.to(bob);
    s.subject("Pictures inline");
    s.text("Our logo and a photo (HTML only).\n");
    s.html(
        "<html><body><img src=\"cid:logo@tern.test\" alt=\"logo\">"
        "<p>Photo:</p><img src=\"cid:photo-1\"></body></html>\n");
    s.image("logo@tern.test", png, "image/png", "logo.png");
    s.image_file(dir, "photo-1", "Foto Köln.gif", gif, "image/gif");
    s.attach("report.pdf", "%PDF-1.4 report", "", "application/pdf");
    out.push_back(std::move(s));
  }
  {
    Sample s("related_only");
    s.from(alice);
    s.to(bob);
    s.subject("HTML and one image");
    s.html("<img src=\"cid:only\">\n");
    s.image("only", png, "image/png", "");
    out.push_back(std::move(s));
  }
  {
    Sample s("inline_without_html");
    s.from(alice);
    s.to(bob);
    s.text("An image, but no HTML to show it.\n");
    s.image("img", gif, "image/gif", "pic.gif");
    out.push_back(std::move(s));
  }
  {
    Sample s("long_lines");
    s.from(alice);
    s.to(bob);
    std::string subject = "A very long subject:";
    for (int i = 0; i < 40; ++i) subject += " word" + std::to_string(i) + (i % 7 ? "" : "ü");
    s.subject(subject);
    s.header("X-Long", std::string(1500, 'L') + " then words " + std::string(100, 'w'));
    s.header("X-Spaces", "a" + std::string(1200, ' ') + "b");
    s.text(std::string(3000, 'x') + "\nshort line\n" + std::string(1000, 'y') + " é\n");
    // Exact end: no final line break (quoted-printable keeps that).
    s.html("<p>" + std::string(2500, 'h') + "</p>");
    out.push_back(std::move(s));
  }
  {
    Sample s("base64_text");
    s.from(
        {"Ελληνικά ονόματα είναι μεγάλα και πολύ μεγάλα και πολύ πολύ μεγάλα", "greek@example.gr"});
    s.to({"Пётр Ильич Чайковский", "pyotr@example.ru"});
    s.subject("Привет из Москвы, это длинная тема письма, которая должна быть сложена");
    s.text("Привет! Это письмо написано по-русски.\nВторая строка.\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("bcc_only");
    s.from(alice);
    s.bcc({"Hidden One", "hidden1@example.net"});
    s.bcc({"", "hidden2@example.net"});
    s.subject("Nobody sees the list");
    s.text("Bcc only.\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("smtputf8");
    s.from({"Пользователь", "пользователь@пример.рф"});
    s.to({"Jörg", "jörg@bücher.example"});
    s.bcc({"", "秘密@例え.jp"});
    s.subject("UTF-8 addresses");
    s.text("This message needs SMTPUTF8.\n");
    out.push_back(std::move(s));
  }
  {
    Sample s("tricky");
    s.from({"\"Quoted\" \\ Name (with) <specials>, and; more:", "tricky@example.com"});
    s.to(bob);
    s.to(bob);  // twice in To: the envelope has it once
    s.bcc({"", "BOB@EXAMPLE.ORG"});
    s.subject("  =?UTF-8?Q?looks_encoded?= \t tabs\tand  spaces ");
    s.header("X-Injected-Looking", "Bcc: nobody@example.com; =?x?y?=");
    s.header("List-Unsubscribe", "<mailto:unsubscribe@example.com>");
    s.text(
        "--=_tern_boundary_lookalike\n.\n.leading dot\nFrom the start\n=3D not qp\n"
        "trailing spaces   \n\ttab\n");
    s.attach("boundary.txt", "--=_tern_\r\n--=_tern_00000000_0--\r\n", "", "text/plain");
    out.push_back(std::move(s));
  }
  {
    Sample s("empty");
    s.from(alice);
    s.to(bob);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mime_sample OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir + "/files", ec);
  if (ec) {
    std::fprintf(stderr, "mime_sample: %s/files: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  for (const Sample& s : samples(dir)) s.write(dir);
  return 0;
}
