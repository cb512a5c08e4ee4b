// The ACME resources tern reads (RFC 8555 7.1): directory, order,
// authorization, challenge, and problem documents (7.3, RFC 7807), parsed
// from JSON into plain structs. Unknown fields are ignored (7.1: clients
// must ignore what they do not know).
//
// No I/O. Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::acme {

struct Directory {  // RFC 8555 7.1.1
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string terms_of_service;  // meta.termsOfService, may be empty
};

struct Problem {     // RFC 8555 6.7
  std::string type;  // "urn:ietf:params:acme:error:badNonce"
  std::string detail;
  std::string text() const;  // "badNonce: detail" for logs
};

struct Challenge {   // RFC 8555 7.1.5, 8
  std::string type;  // "http-01"
  std::string url;
  std::string token;
  std::string status;  // pending, processing, valid, invalid
  std::optional<Problem> error;
};

struct Authorization {     // RFC 8555 7.1.4
  std::string status;      // pending, valid, invalid, deactivated, expired, revoked
  std::string identifier;  // the DNS name
  std::vector<Challenge> challenges;
};

struct Order {         // RFC 8555 7.1.3
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;  // once valid
  std::optional<Problem> error;
};

// Each returns nullopt when `json` is not JSON or lacks a required field.
std::optional<Directory> parse_directory(std::string_view json);
std::optional<Problem> parse_problem(std::string_view json);
std::optional<Authorization> parse_authorization(std::string_view json);
std::optional<Order> parse_order(std::string_view json);

// The payloads tern sends (JSON text).
std::string new_account_payload(const std::string& contact_email);     // 7.3
std::string new_order_payload(const std::vector<std::string>& names);  // 7.4
std::string finalize_payload(const std::string& csr_der);              // 7.4

}  // namespace tern::acme
