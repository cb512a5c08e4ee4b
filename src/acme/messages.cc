#include "acme/messages.h"

#include <nlohmann/json.hpp>

#include "acme/jws.h"

namespace tern::acme {
namespace {

using nlohmann::json;

std::optional<json> parse(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The string member `key`, or "" when absent or not a string.
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Problem> problem_of(const json& j) {
  if (!j.is_object() || str(j, "type").empty()) return std::nullopt;
  return Problem{str(j, "type"), str(j, "detail")};
}

}  // namespace

std::string Problem::text() const {
  constexpr std::string_view kPrefix = "urn:ietf:params:acme:error:";
  std::string_view t = type;
  if (t.substr(0, kPrefix.size()) == kPrefix) t.remove_prefix(kPrefix.size());
  return std::string(t) + (detail.empty() ? "" : ": " + detail);
}

std::optional<Directory> parse_directory(std::string_view text) {
  auto j = parse(text);
  if (!j) return std::nullopt;
  Directory d{str(*j, "newNonce"), str(*j, "newAccount"), str(*j, "newOrder"), ""};
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty()) return std::nullopt;
  if (auto m = j->find("meta"); m != j->end() && m->is_object())
    d.terms_of_service = str(*m, "termsOfService");
  return d;
}

std::optional<Problem> parse_problem(std::string_view text) {
  auto j = parse(text);
  if (!j) return std::nullopt;
  return problem_of(*j);
}

std::optional<Authorization> parse_authorization(std::string_view text) {
  auto j = parse(text);
  if (!j || str(*j, "status").empty()) return std::nullopt;
  Authorization a;
  a.status = str(*j, "status");
  if (auto id = j->find("identifier"); id != j->end() && id->is_object())
    a.identifier = str(*id, "value");
  if (auto cs = j->find("challenges"); cs != j->end() && cs->is_array()) {
    for (const json& c : *cs) {
      if (!c.is_object()) continue;
      Challenge ch{str(c, "type"), str(c, "url"), str(c, "token"), str(c, "status"), {}};
      if (auto e = c.find("error"); e != c.end()) ch.error = problem_of(*e);
      a.challenges.push_back(std::move(ch));
    }
  }
  return a;
}

std::optional<Order> parse_order(std::string_view text) {
  auto j = parse(text);
  if (!j || str(*j, "status").empty()) return std::nullopt;
  Order o;
  o.status = str(*j, "status");
  o.finalize = str(*j, "finalize");
  o.certificate = str(*j, "certificate");
  if (auto as = j->find("authorizations"); as != j->end() && as->is_array())
    for (const json& a : *as)
      if (a.is_string()) o.authorizations.push_back(a.get<std::string>());
  if (auto e = j->find("error"); e != j->end()) o.error = problem_of(*e);
  return o;
}

std::string new_account_payload(const std::string& contact_email) {
  json p = {{"termsOfServiceAgreed", true}};
  if (!contact_email.empty()) p["contact"] = json::array({"mailto:" + contact_email});
  return p.dump();
}

std::string new_order_payload(const std::vector<std::string>& names) {
  json ids = json::array();
  for (const std::string& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
  return json{{"identifiers", ids}}.dump();
}

std::string finalize_payload(const std::string& csr_der) {
  return json{{"csr", base64url(csr_der)}}.dump();
}

}  // namespace tern::acme
