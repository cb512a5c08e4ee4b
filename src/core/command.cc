#include "core/command.h"

#include <array>
#include <utility>

namespace tern {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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
