// Domain-name syntax: the one check behind the config's domains, MX
// targets, DKIM's d= and selectors. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string_view>

namespace tern {

struct DomainRules {
  size_t min_labels = 1;
  // Underscores in labels: DKIM selectors and d= are accepted leniently
  // with them (RFC 6376 3.1 names are DNS names, and "_" occurs in the wild).
  bool underscore = false;
};

// True for an ASCII domain name (RFC 1035 2.3.1 as relaxed by RFC 1123
// 2.1): dot-separated labels of 1..63 letters, digits and hyphens, not
// starting or ending with a hyphen, 253 octets at most (RFC 1035 2.3.4's
// 255 less the length octets), no trailing dot, at least `min_labels`
// labels. Internationalised names must be written as A-labels ("xn--...").
bool valid_domain_name(std::string_view name, DomainRules rules = {});

// valid_domain_name with the default rules (the config's domains, MX hosts).
inline bool is_valid_domain(std::string_view name) { return valid_domain_name(name); }

}  // namespace tern
