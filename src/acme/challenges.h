// The HTTP-01 challenges being answered (RFC 8555 8.3): token -> key
// authorization. The ACME client publishes a token before it tells the CA
// the challenge is ready and withdraws it afterwards; the port 80 handler
// (http::Server threads) looks tokens up.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace tern::acme {

class ChallengeTable {
 public:
  void publish(const std::string& token, const std::string& key_authorization) {
    std::lock_guard<std::mutex> lock(mu_);
    table_[token] = key_authorization;
  }
  void withdraw(const std::string& token) {
    std::lock_guard<std::mutex> lock(mu_);
    table_.erase(token);
  }
  std::optional<std::string> find(const std::string& token) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(token);
    if (it == table_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> table_;
};

}  // namespace tern::acme
