// Fuzzes ARC header parsing and chain validation (src/arc, RFC 8617 4, 5.2)
// from a whole message (header section and body), and sealing on top of it.
// Invariants: no ARC field gives arc=none and any ARC field something else;
// the instance is at most 50; pass has an oldest-pass below the instance;
// collect_sets agrees with the verifier; a message without ARC sets that
// our Sealer seals (cv=none) then verifies as pass with our key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arc/sealer.h"
#include "arc/sets.h"
#include "arc/verifier.h"
#include "dkim/keys.h"
#include "fuzz_check.h"

namespace {

const tern::dkim::PrivateKey& Key() {
  static const tern::dkim::PrivateKey key = [] {
    tern::dkim::PrivateKey k;
    tern::dkim::PrivateKey::from_ed25519_seed(std::string(32, '\x2a'), &k);
    return k;
  }();
  return key;
}

tern::dkim::KeyAnswer Lookup(const std::string& q) {
  if (q == "fz._domainkey.fuzz.example") {
    return tern::dkim::KeyAnswer::found({tern::dkim::key_record_text(Key())});
  }
  return tern::dkim::KeyAnswer::not_found();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tern::arc::ChainStatus;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const tern::arc::ChainResult r = tern::arc::verify_chain(message, Lookup);
  FUZZ_CHECK(r.instance >= 0 && r.instance <= tern::arc::kMaxInstance);
  if (r.status == ChainStatus::kPass) FUZZ_CHECK(r.oldest_pass < r.instance);

  tern::dkim::MessageSplitter splitter(1 << 20);
  splitter.write(message);
  splitter.finish();
  bool any_arc = false;
  for (const tern::dkim::HeaderField& f : splitter.fields()) {
    any_arc = any_arc || tern::arc::arc_field_kind(f).has_value();
  }
  if (!splitter.overflow()) FUZZ_CHECK(any_arc == (r.status != ChainStatus::kNone));
  std::vector<tern::arc::ArcSet> sets;
  if (tern::arc::collect_sets(splitter.fields(), &sets).ok() && !sets.empty()) {
    FUZZ_CHECK(static_cast<int>(sets.size()) == r.instance);
  }
  if (std::optional<std::string> p = tern::arc::our_results(splitter.fields(), "fuzz.example")) {
    (void)tern::arc::method_result(*p, "arc");
  }

  tern::arc::Sealer sealer(Key(), {.domain = "fuzz.example",
                                   .selector = "fz",
                                   .authserv_id = "fuzz.example",
                                   .timestamp = 1767268800});
  sealer.write(message);
  std::string fields;
  // (A first line starting with WSP would continue our last field: never
  // so in a stored message.)
  const bool folds_into_ours = !message.empty() && (message[0] == ' ' || message[0] == '\t');
  if (sealer.finish(&fields).ok() && !any_arc && !folds_into_ours) {
    const tern::arc::ChainResult sealed =
        tern::arc::verify_chain(fields + std::string(message), Lookup);
    FUZZ_CHECK(sealed.status == ChainStatus::kPass);
    FUZZ_CHECK(sealed.instance == 1);
  }
  return 0;
}
