// Aliases: <data_dir>/aliases, one rule per line:
//   alias@domain: target@domain, other@domain
//   *@domain: user@domain            (catch-all for the domain)
// '#' starts a comment; blank lines are ignored. Matching is on the lower-
// cased address with any "+tag" removed from the local part. Targets may be
// aliases themselves (expanded recursively, loops and depth > 10 cut).
//
// Thread safety: const methods may be called concurrently.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tern {

class Aliases {
 public:
  // Parses the file text; errors name the line: "aliases:3: ...".
  Status parse(std::string_view text, const std::string& source);
  Status load(const std::string& path);   // missing file = no aliases
  Status reload_if_changed(const std::string& path);

  // True if `address` is an alias or matches a catch-all.
  bool matches(const std::string& address) const;
  // The final addresses for `address` (itself if not an alias), de-duplicated,
  // in first-seen order. Exact aliases win over the catch-all.
  std::vector<std::string> expand(const std::string& address) const;

 private:
  std::map<std::string, std::vector<std::string>> rules_;  // key: "local@domain" or "*@domain"
  long long mtime_ns_ = -1;
  long long size_ = -1;
};

// Normalises an address for matching: lower-case, "+tag" removed.
std::string alias_key(const std::string& address);

}  // namespace tern
