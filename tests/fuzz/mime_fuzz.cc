// Fuzzes header parsing of src/mime (encoded words, mailboxes and address
// lists) and the DKIM header splitter (src/dkim/message). The first octet
// picks the target. Invariants: encode_words() output decodes back to its
// input; Mailbox::parse(str()) gives the mailbox back (mailbox.h); the
// header fields cover the header section exactly; MessageSplitter's result
// does not depend on how the message is cut.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/message.h"
#include "fuzz_check.h"
#include "mime/encoded_word.h"
#include "mime/text.h"
#include "tern/mailbox.h"

namespace {

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = tern::mime::utf8_step(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void fuzz_words(std::string_view s) {
  (void)tern::mime::looks_encoded(s);
  (void)tern::mime::decode_word(s);
  (void)tern::mime::decode_words(s);
  if (!s.empty() && valid_utf8(s)) {
    const std::vector<std::string> words = tern::mime::encode_words(s, 1 + s.size() % 80);
    std::string joined;
    for (const std::string& w : words) {
      FUZZ_CHECK(w.size() <= tern::mime::kMaxEncodedWord);
      if (!joined.empty()) joined += ' ';
      joined += w;
    }
    FUZZ_CHECK(tern::mime::decode_words(joined) == s);
  }
}

bool plain_spacing(std::string_view name) {
  if (name.empty()) return true;
  if (name.front() == ' ' || name.back() == ' ') return false;
  return name.find("  ") == std::string_view::npos;
}

void fuzz_mailbox(std::string_view s) {
  if (auto m = tern::Mailbox::parse(s)) {
    FUZZ_CHECK(!m->address.empty());
    if (plain_spacing(m->name) && m->name.find_first_of("\t\r\n") == std::string::npos) {
      auto again = tern::Mailbox::parse(m->str());
      FUZZ_CHECK(again && *again == *m);
    }
  }
  if (auto list = tern::Mailbox::parse_list(s)) {
    for (const tern::Mailbox& m : *list) FUZZ_CHECK(!m.address.empty());
  }
}

void fuzz_header(std::string_view s, size_t chunk) {
  const std::vector<tern::dkim::HeaderField> fields = tern::dkim::split_header_fields(s);
  std::string joined;
  for (const auto& f : fields) {
    joined += f.raw;
    (void)f.name();
  }
  FUZZ_CHECK(joined == s);

  auto split = [&](size_t step, std::string* body) {
    tern::dkim::MessageSplitter m(4096);
    for (size_t pos = 0; pos < s.size(); pos += step) *body += m.write(s.substr(pos, step));
    m.finish();
    return m;
  };
  std::string body_whole, body_cut;
  const tern::dkim::MessageSplitter whole = split(s.size() + 1, &body_whole);
  const tern::dkim::MessageSplitter cut = split(chunk, &body_cut);
  FUZZ_CHECK(body_whole == body_cut);
  FUZZ_CHECK(whole.overflow() == cut.overflow());
  FUZZ_CHECK(whole.fields().size() == cut.fields().size());
  for (size_t i = 0; i < whole.fields().size(); ++i)
    FUZZ_CHECK(whole.fields()[i].raw == cut.fields()[i].raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz_words(s);
      break;
    case 1:
      fuzz_mailbox(s);
      break;
    case 2:
      fuzz_header(s, 1 + data[0] / 3 % 64);
      break;
  }
  return 0;
}
