// Aliases: <data_dir>/aliases, one rule per line:
//   alias@domain: target@domain, other@domain
//   *@domain: user@domain            (catch-all for the domain)
// '#' starts a comment when it begins a line or follows white space (it is
// a valid character inside an address); blank lines are ignored; CRLF line
// ends are accepted. Aliases and targets are "local@domain"; an alias may
// not carry a "+tag" and a target may not be a wildcard. Matching is on the
// lower-cased address with any "+tag" removed from the local part.
//
// Expansion of a recipient, in order: an exact alias; else, if the caller
// says the address is a real mailbox, itself; else the catch-all of its
// domain; else itself. Targets are expanded again through exact aliases
// only, never through a catch-all: what the file names as a target is what
// gets the mail (no Postfix-style catch-all capturing real users). An
// address reached again while it is being expanded (a loop, or
// "bob: bob, archive") is final, delivered to its own mailbox; so is an
// address at depth 11. Expansion therefore never yields nothing.
//
// Thread safety: const methods may be called concurrently. Copyable: a
// reload can build a new object while readers keep the old one.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tern {

class Aliases {
 public:
  // Replaces the rules with those of `text`. On error the rules are
  // unchanged and the Permanent error names the line: "<source>:3: ...".
  Status parse(std::string_view text, const std::string& source);
  // parse() of the file at `path` (source = path). A missing file means no
  // aliases; an unreadable one is a Transient error, rules unchanged.
  Status load(const std::string& path);
  // load() if the file's mtime or size changed since the last successful
  // load (or it appeared or vanished). A file that failed to parse is tried
  // again on every call until it parses.
  Status reload_if_changed(const std::string& path);

  // True if `address` is an alias or matches a catch-all.
  bool matches(const std::string& address) const;
  // The final addresses for recipient `address` (itself if not an alias),
  // de-duplicated by alias_key(), in first-seen order and as first written.
  // `is_mailbox` (may be empty) tells which addresses are real mailboxes:
  // a catch-all never takes those.
  std::vector<std::string> expand(
      const std::string& address,
      const std::function<bool(const std::string&)>& is_mailbox = {}) const;

 private:
  std::map<std::string, std::vector<std::string>> rules_;  // key: "local@domain" or "*@domain"
  long long mtime_ns_ = -1;  // of the last load; -2 if the file was missing
  long long size_ = -1;
};

// Normalises an address for matching: a quoted local part unquoted
// (unquote_local; RFC 5321 4.1.2), lower-case (ASCII), and the "+tag" (from
// the first '+' to the last '@') removed: "Bob+x@Y" -> "bob@y",
// "\"Bob+x\"@Y" -> "bob@y".
std::string alias_key(const std::string& address);

}  // namespace tern
