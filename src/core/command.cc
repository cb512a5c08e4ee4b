#include "core/command.h"

#include <array>
#include <utility>

namespace tern {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_let_dig(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5321 4.1.2: sub-domain = Let-dig [Ldh-str], joined by dots; labels of
// at most 63 octets (RFC 1035 2.3.4), the whole at most 255 (4.5.3.1.2).
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  size_t label = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    char c = d[i];
    if (c == '.') {
      if (label == 0 || d[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!is_let_dig(c) && !(c == '-' && label > 0)) return false;
    if (++label > 63) return false;
  }
  return label > 0 && d.back() != '-';
}

constexpr std::array<std::pair<std::string_view, Verb>, 19> kVerbs{{
    {"helo", Verb::kHelo},         {"ehlo", Verb::kEhlo},     {"mail", Verb::kMail},
    {"rcpt", Verb::kRcpt},         {"data", Verb::kData},     {"bdat", Verb::kBdat},
    {"rset", Verb::kRset},         {"noop", Verb::kNoop},     {"quit", Verb::kQuit},
    {"vrfy", Verb::kVrfy},         {"expn", Verb::kExpn},     {"help", Verb::kHelp},
    {"starttls", Verb::kStartTls}, {"auth", Verb::kAuth},     {"etrn", Verb::kEtrn},
    {"turn", Verb::kObsolete},     {"saml", Verb::kObsolete}, {"send", Verb::kObsolete},
    {"soml", Verb::kObsolete},
}};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::optional<EtrnNode> parse_etrn_node(std::string_view arg) {
  if (arg.empty() || arg.find(' ') != std::string_view::npos) return std::nullopt;
  EtrnNode node;
  if (arg.front() == '#') {
    arg.remove_prefix(1);
    if (arg.empty()) return std::nullopt;
    for (char c : arg)
      if (c <= ' ' || c > '~') return std::nullopt;
    node.kind = EtrnNode::Kind::kQueue;
    node.name = std::string(arg);
    return node;
  }
  if (arg.front() == '@') {
    arg.remove_prefix(1);
    node.kind = EtrnNode::Kind::kSubdomains;
  }
  if (!valid_domain(arg)) return std::nullopt;
  for (char c : arg) node.name += lower(c);
  return node;
}

bool looks_like_http(std::string_view line) {
  static constexpr std::string_view kStarts[] = {
      "GET ",     "POST ",  "HEAD ",    "PUT ",         "DELETE ", "PATCH ",
      "OPTIONS ", "TRACE ", "CONNECT ", "PRI * HTTP/2", "Host:",   "User-Agent:"};
  for (std::string_view s : kStarts)
    if (istarts_with(line, s)) return true;
  return false;
}

bool helo_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  if (name.front() == '[') return true;  // an address literal: no labels
  size_t label = 0;
  for (char c : name) {
    label = c == '.' ? 0 : label + 1;
    if (label > 63) return false;
  }
  return true;
}

Command parse_command(std::string_view line) {
  Command cmd;
  size_t sp = line.find(' ');
  cmd.name = line.substr(0, sp);
  if (sp != std::string_view::npos) cmd.arg = line.substr(sp + 1);
  for (const auto& [name, verb] : kVerbs) {
    if (iequals(cmd.name, name)) {
      cmd.verb = verb;
      break;
    }
  }
  return cmd;
}

}  // namespace tern
