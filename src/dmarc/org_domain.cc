#include "dmarc/org_domain.h"

#include <libpsl.h>

#include <mutex>

#include "core/ascii.h"

namespace tern::dmarc {
namespace {

struct Psl {
  const psl_ctx_t* ctx = nullptr;
  std::string source;
};

const Psl& psl() {
  static Psl p;
  static std::once_flag once;
  std::call_once(once, [] {
    // psl_latest(NULL): the newer of Debian's list (psl_dist_filename(),
    // /usr/share/publicsuffix/public_suffix_list.dafsa) and the built-in
    // data. Never freed: it lives as long as the process.
    if (const psl_ctx_t* latest = psl_latest(nullptr)) {
      p.ctx = latest;
      // psl_latest hands back the built-in copy when it is the newer one.
      const char* dist = psl_dist_filename();
      p.source = latest == psl_builtin() ? "built-in" : dist && *dist ? dist : "file";
    } else if (const psl_ctx_t* builtin = psl_builtin()) {
      p.ctx = builtin;
      p.source = "built-in";
    } else {
      p.source = "none (last two labels)";
    }
  });
  return p;
}

std::string normalised(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return ascii_lower(domain);
}

}  // namespace

std::string organizational_domain(std::string_view domain) {
  const std::string d = normalised(domain);
  if (d.empty()) return d;
  const Psl& p = psl();
  if (p.ctx == nullptr) {
    // No list at all (libpsl built without data and no file): the last two
    // labels, the guess RFC 7489 3.2 warns about, rather than nothing.
    const size_t last = d.rfind('.');
    if (last == std::string::npos || last == 0) return d;
    const size_t before = d.rfind('.', last - 1);
    return before == std::string::npos ? d : d.substr(before + 1);
  }
  // 3.2 steps 3-4: the longest public suffix plus one label. NULL when the
  // name is a public suffix itself (or empty labels make it no name).
  const char* registrable = psl_registrable_domain(p.ctx, d.c_str());
  return registrable ? std::string(registrable) : d;
}

bool aligned(std::string_view a, std::string_view b, Alignment mode) {
  const std::string x = normalised(a);
  const std::string y = normalised(b);
  if (x.empty() || y.empty()) return false;
  if (x == y) return true;
  if (mode == Alignment::kStrict) return false;
  return organizational_domain(x) == organizational_domain(y);
}

std::string public_suffix_list_source() { return psl().source; }

}  // namespace tern::dmarc
