// Fuzzes the MAIL FROM / RCPT TO argument parsers and xtext
// (src/core/params). Invariants: xtext round-trips both ways; every error
// is a 5xx reply with an enhanced code; an address that needs UTF-8 is
// refused without SMTPUTF8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/params.h"
#include "fuzz_check.h"

namespace {

void check_error(const tern::Reply& r) {
  FUZZ_CHECK(r.code >= 500 && r.code < 600);
  FUZZ_CHECK(!r.enhanced.empty() && r.enhanced[0] == '5');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first octet picks the parser, so one corpus serves all three.
  const uint8_t which = data[0] % 4;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (which) {
    case 0: {
      auto r = tern::parse_mail_args(text);
      if (auto* e = std::get_if<tern::Reply>(&r)) {
        check_error(*e);
      } else {
        const auto& m = std::get<tern::MailArgs>(r);
        if (!m.smtputf8) FUZZ_CHECK(!m.from.needs_utf8());
        for (char c : m.envid) FUZZ_CHECK(c >= ' ' && c <= '~');  // RFC 3461 4.4
      }
      break;
    }
    case 1:
    case 2: {
      auto r = tern::parse_rcpt_args(text, which == 2);
      if (auto* e = std::get_if<tern::Reply>(&r)) {
        check_error(*e);
      } else {
        const auto& a = std::get<tern::RcptArgs>(r);
        if (which == 1) FUZZ_CHECK(!a.to.needs_utf8());
        FUZZ_CHECK(!a.to.is_null());
        FUZZ_CHECK((a.notify & tern::kNotifyNever) == 0 || a.notify == tern::kNotifyNever);
      }
      break;
    }
    case 3: {
      // encode is total and decode inverts it; decode's output re-encodes
      // to an equivalent form.
      const std::string enc = tern::xtext_encode(text);
      auto back = tern::xtext_decode(enc);
      FUZZ_CHECK(back && *back == text);
      if (auto dec = tern::xtext_decode(text)) {
        auto again = tern::xtext_decode(tern::xtext_encode(*dec));
        FUZZ_CHECK(again && *again == *dec);
      }
      break;
    }
  }
  return 0;
}
