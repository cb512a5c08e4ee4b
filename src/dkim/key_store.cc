#include "dkim/key_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/ascii.h"
#include "tern/mailbox.h"

namespace tern::dkim {
namespace {

namespace fs = std::filesystem;

// A key file found on disk, before it is loaded.
struct Candidate {
  std::string domain;
  std::string selector;
  std::string path;
  fs::file_time_type mtime;
};

bool read_file(const std::string& path, std::string* out, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot be opened";
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    *why = "cannot be read";
    return false;
  }
  *out = s.str();
  return true;
}

// The key files under dir/<domain>/, sorted oldest first (so that, added in
// turn, the newest of each type stays).
std::vector<Candidate> find_candidates(const std::string& dir, std::vector<std::string>* problems) {
  std::vector<Candidate> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator domains(dir, ec);
  if (ec) {
    problems->push_back(fmt::format("{}: cannot be read: {}", dir, ec.message()));
    return out;
  }
  for (const fs::directory_entry& d : domains) {
    const std::string name = d.path().filename().string();
    if (name.starts_with(".") || !d.is_directory(ec)) continue;
    const std::string domain = ascii_lower(name);
    if (!valid_domain(domain, 2)) {
      problems->push_back(fmt::format("{}: not a domain name, skipped", d.path().string()));
      continue;
    }
    fs::directory_iterator files(d.path(), ec);
    if (ec) {
      problems->push_back(fmt::format("{}: cannot be read: {}", d.path().string(), ec.message()));
      continue;
    }
    for (const fs::directory_entry& f : files) {
      const std::string file = f.path().filename().string();
      if (file.starts_with(".") || !file.ends_with(".key")) continue;
      const std::string selector = ascii_lower(file.substr(0, file.size() - 4));
      if (!valid_domain(selector, 1)) {
        problems->push_back(fmt::format("{}: not a valid selector, skipped", f.path().string()));
        continue;
      }
      Candidate c{domain, selector, f.path().string(), f.last_write_time(ec)};
      if (ec) c.mtime = fs::file_time_type::min();
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.mtime != b.mtime) return a.mtime < b.mtime;
    if (a.domain != b.domain) return a.domain < b.domain;
    return a.selector < b.selector;
  });
  return out;
}

}  // namespace

KeyStore KeyStore::load(const std::string& dir, std::vector<std::string>* problems) {
  KeyStore store;
  for (const Candidate& c : find_candidates(dir, problems)) {
    std::string pem, why;
    if (!read_file(c.path, &pem, &why)) {
      problems->push_back(fmt::format("{}: {}, skipped", c.path, why));
      continue;
    }
    SigningKey k;
    if (Status s = PrivateKey::from_pem(pem, &k.key); !s.ok()) {
      problems->push_back(fmt::format("{}: {}, skipped", c.path, s.message()));
      continue;
    }
    k.selector = c.selector;
    k.path = c.path;
    for (const SigningKey& old : store.keys_for(c.domain)) {
      if (old.key.type() == k.key.type()) {
        problems->push_back(fmt::format("{}: not used: {} is a newer {} key of {}", old.path,
                                        k.path, key_type_name(k.key.type()), c.domain));
      }
    }
    store.add(c.domain, std::move(k));
  }
  return store;
}

void KeyStore::add(std::string_view domain, SigningKey key) {
  std::vector<SigningKey>& list = keys_[ascii_lower(domain)];
  std::erase_if(list, [&](const SigningKey& k) { return k.key.type() == key.key.type(); });
  list.push_back(std::move(key));
  std::sort(list.begin(), list.end(), [](const SigningKey& a, const SigningKey& b) {
    return a.key.type() == KeyType::kRsa && b.key.type() != KeyType::kRsa;
  });
}

const std::vector<SigningKey>& KeyStore::keys_for(std::string_view domain) const {
  static const std::vector<SigningKey> kNone;
  auto it = keys_.find(ascii_lower(domain));
  return it == keys_.end() ? kNone : it->second;
}

std::vector<std::string> KeyStore::describe() const {
  std::vector<std::string> out;
  for (const auto& [domain, keys] : keys_) {
    std::string sel;
    for (const SigningKey& k : keys) sel += (sel.empty() ? "" : ", ") + k.selector;
    out.push_back(fmt::format("{} ({})", domain, sel));
  }
  return out;
}

bool sender_is_ours(const Envelope& env) {
  return !env.auth_user.empty() || env.listener == "dsn" || env.listener == "report" ||
         env.listener == "tls-rpt";
}

std::string from_domain(const std::vector<HeaderField>& fields, std::string* why) {
  const HeaderField* from = nullptr;
  for (const HeaderField& f : fields) {
    if (!f.is("from")) continue;
    if (from) {
      *why = "more than one From field";
      return "";
    }
    from = &f;
  }
  if (!from) {
    *why = "no From field";
    return "";
  }
  // The value: after the colon, unfolded (RFC 5322 2.2.3).
  std::string_view raw = from->raw;
  raw.remove_prefix(raw.find(':') + 1);
  std::string value;
  for (char c : raw)
    if (c != '\r' && c != '\n') value += c;
  std::optional<std::vector<Mailbox>> list = Mailbox::parse_list(value);
  if (!list || list->size() != 1) {
    *why = list ? "From does not hold exactly one mailbox" : "From does not parse";
    return "";
  }
  const std::string& address = list->front().address;
  const size_t at = address.rfind('@');
  if (at == std::string::npos || at + 1 == address.size()) {
    *why = "From has no domain";
    return "";
  }
  return ascii_lower(std::string_view(address).substr(at + 1));
}

SigningChoice signing_domain(const KeyStore& store, bool sender_ours,
                             const std::vector<HeaderField>& fields) {
  SigningChoice c;
  if (!sender_ours) {
    c.why_not = "relayed for another sender";
    return c;
  }
  std::string why;
  std::string domain = from_domain(fields, &why);
  if (domain.empty()) {
    c.why_not = why;
    return c;
  }
  const std::vector<SigningKey>& keys = store.keys_for(domain);
  if (keys.empty()) {
    c.why_not = "no key for " + domain;
    return c;
  }
  c.domain = std::move(domain);
  for (const SigningKey& k : keys) c.keys.push_back(&k);
  return c;
}

}  // namespace tern::dkim
