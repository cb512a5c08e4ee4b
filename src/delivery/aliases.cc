#include "delivery/aliases.h"

#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <string_view>

#include "fs/file_io.h"
#include "tern/address.h"

namespace tern {
namespace {

constexpr int kMaxDepth = 10;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The line without its comment: '#' at the start or after white space.
std::string_view strip_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

// "local@domain" with both parts non-empty and no white space or commas.
bool is_address(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  for (char c : s) {
    if (is_space(c) || c == ',' || c == '\0') return false;
  }
  return true;
}

std::string domain_of(const std::string& key) { return key.substr(key.rfind('@') + 1); }

struct Expander {
  const std::map<std::string, std::vector<std::string>>& rules;
  const std::function<bool(const std::string&)>& is_mailbox;
  std::vector<std::string> out;
  std::set<std::string> emitted;  // alias keys of `out`
  std::vector<std::string> path;  // alias keys being expanded

  void emit(const std::string& address) {
    if (emitted.insert(alias_key(address)).second) out.push_back(address);
  }

  void expand(const std::string& address, int depth) {
    std::string key = alias_key(address);
    // A loop back to an address being expanded, or too deep: deliver to the
    // address itself rather than nowhere ("bob: bob, archive" keeps a copy).
    for (const std::string& k : path) {
      if (k == key) return emit(address);
    }
    if (depth > kMaxDepth) return emit(address);
    auto it = rules.find(key);
    if (it == rules.end() && depth == 0 && key.find('@') != std::string::npos &&
        !(is_mailbox && is_mailbox(address))) {
      it = rules.find("*@" + domain_of(key));
    }
    if (it == rules.end()) return emit(address);
    path.push_back(key);
    for (const std::string& target : it->second) expand(target, depth + 1);
    path.pop_back();
  }
};

// What reload_if_changed compares: modification time and size, both -2
// for a missing file.
Status file_signature(const std::string& path, long long* mtime_ns, long long* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_error("stat", path, errno);
    *mtime_ns = *size = -2;
    return Status::Ok();
  }
  *mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  *size = static_cast<long long>(st.st_size);
  return Status::Ok();
}

}  // namespace

std::string alias_key(const std::string& address) {
  // RFC 5321 4.1.2: all quoted forms of a local part are one mailbox, so
  // compare the content of a quoted one ("\"Bob\"@y" is "bob@y").
  const size_t at = address.rfind('@');
  std::string local = unquote_local(std::string_view(address).substr(0, at));
  if (const size_t plus = local.find('+'); plus != std::string::npos) local.resize(plus);
  std::string out = at == std::string::npos ? local : local + address.substr(at);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

Status Aliases::parse(std::string_view text, const std::string& source) {
  std::map<std::string, std::vector<std::string>> rules;
  std::map<std::string, int> first_line;
  int lineno = 0;
  while (!text.empty()) {
    ++lineno;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto fail = [&](const std::string& why) {
      return Status::Permanent(source + ":" + std::to_string(lineno) + ": " + why);
    };
    line = trim(strip_comment(line));
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("expected 'alias@domain: target@domain, ...'");
    std::string_view name = trim(line.substr(0, colon));
    if (!is_address(name)) return fail("alias '" + std::string(name) + "' is not local@domain");
    if (name.substr(0, name.rfind('@')).find('+') != std::string_view::npos) {
      return fail("alias '" + std::string(name) + "' has a +tag (tags are ignored when matching)");
    }
    std::string key = alias_key(std::string(name));
    if (auto it = first_line.find(key); it != first_line.end()) {
      return fail("duplicate alias '" + key + "' (first on line " + std::to_string(it->second) +
                  ")");
    }
    std::vector<std::string> targets;
    std::string_view rest = line.substr(colon + 1);
    for (;;) {
      size_t comma = rest.find(',');
      std::string_view t = trim(rest.substr(0, comma));
      if (t.empty()) return fail("empty target");
      if (!is_address(t)) return fail("target '" + std::string(t) + "' is not local@domain");
      if (t.substr(0, t.rfind('@')) == "*")
        return fail("target '" + std::string(t) + "' is a wildcard");
      targets.emplace_back(t);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    first_line[key] = lineno;
    rules[key] = std::move(targets);
  }
  rules_ = std::move(rules);
  return Status::Ok();
}

Status Aliases::load(const std::string& path) {
  long long mtime_ns = 0, size = 0;
  Status s = file_signature(path, &mtime_ns, &size);
  if (!s.ok()) return s;
  std::string text;
  bool missing = false;
  s = read_file(path, &text, &missing);
  if (!s.ok()) return s;
  if (missing) {
    rules_.clear();
  } else {
    Aliases fresh;
    s = fresh.parse(text, path);
    if (!s.ok()) return s;  // keep the rules we had
    rules_ = std::move(fresh.rules_);
  }
  mtime_ns_ = mtime_ns;
  size_ = size;
  return Status::Ok();
}

Status Aliases::reload_if_changed(const std::string& path) {
  long long mtime_ns = 0, size = 0;
  Status s = file_signature(path, &mtime_ns, &size);
  if (!s.ok()) return s;
  if (mtime_ns == mtime_ns_ && size == size_) return Status::Ok();  // -1 initially: never equal
  return load(path);
}

bool Aliases::matches(const std::string& address) const {
  std::string key = alias_key(address);
  if (rules_.count(key)) return true;
  return key.find('@') != std::string::npos && rules_.count("*@" + domain_of(key));
}

std::vector<std::string> Aliases::expand(
    const std::string& address, const std::function<bool(const std::string&)>& is_mailbox) const {
  Expander e{rules_, is_mailbox, {}, {}, {}};
  e.expand(address, 0);
  return std::move(e.out);
}

}  // namespace tern
