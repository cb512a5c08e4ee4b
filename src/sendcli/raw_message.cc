#include "sendcli/raw_message.h"

#include <algorithm>
#include <cctype>

#include "sendcli/addresses.h"

namespace tern::sendcli {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The field name of `line` ("Subject: x" -> "Subject"), or "" when the line
// is not a field. Whitespace before the colon is the obsolete syntax of
// RFC 5322 4.5.8, still accepted.
std::string_view field_name(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
  const size_t name_end = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (name_end == 0 || i >= line.size() || line[i] != ':') return {};
  return line.substr(0, name_end);
}

// For error messages: at most 100 octets, control characters shown as "?".
std::string printable(std::string_view s) {
  std::string out(s.substr(0, 100));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s.size() > 100 ? out + "..." : out;
}

// `value` with its folds (CRLF or LF before whitespace) in `eol` form.
std::string with_eol(std::string_view value, const std::string& eol) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    if (value[i] == '\n') {
      out += eol;
    } else {
      out += value[i];
    }
  }
  return out;
}

}  // namespace

HeaderBlock parse_headers(std::string_view message) {
  HeaderBlock h;
  const size_t first_nl = message.find('\n');
  if (first_nl != std::string_view::npos && first_nl > 0 && message[first_nl - 1] == '\r') {
    h.eol = "\r\n";
  }
  size_t pos = 0;
  while (pos < message.size()) {
    const size_t nl = message.find('\n', pos);
    const size_t line_end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, line_end - pos);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) {
      h.header_end = pos;
      h.body_begin = line_end;
      h.has_separator = true;
      return h;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !h.fields.empty()) {
      HeaderField& f = h.fields.back();
      f.value = std::string(trim(f.value + std::string(line)));
      f.end = line_end;
      pos = line_end;
      continue;
    }
    const std::string_view name = field_name(line);
    if (name.empty()) break;  // not a header: the body starts here
    const std::string_view value = line.substr(line.find(':') + 1);
    h.fields.push_back(HeaderField{std::string(name), pos, line_end, std::string(trim(value))});
    pos = line_end;
  }
  h.header_end = h.body_begin = pos;
  return h;
}

std::vector<std::string> field_values(const HeaderBlock& h, std::string_view name) {
  std::vector<std::string> out;
  for (const HeaderField& f : h.fields)
    if (iequals(f.name, name)) out.push_back(f.value);
  return out;
}

bool has_field(const HeaderBlock& h, std::string_view name) {
  return std::any_of(h.fields.begin(), h.fields.end(),
                     [&](const HeaderField& f) { return iequals(f.name, name); });
}

std::string_view strip_postmark(std::string_view message) {
  if (message.substr(0, 5) != "From ") return message;
  const size_t nl = message.find('\n');
  return nl == std::string_view::npos ? std::string_view() : message.substr(nl + 1);
}

std::string complete_message(std::string_view message, const Completion& c) {
  const HeaderBlock h = parse_headers(message);
  std::string out;
  out.reserve(message.size() + 256);
  size_t pos = 0;
  for (const HeaderField& f : h.fields) {
    if (iequals(f.name, "Bcc") || iequals(f.name, "Return-Path")) {
      out.append(message.substr(pos, f.begin - pos));
      pos = f.end;
    }
  }
  out.append(message.substr(pos, h.header_end - pos));
  if (!out.empty() && out.back() != '\n') out += h.eol;  // last field ended the input
  const auto add = [&](const char* name, const std::string& value) {
    if (!value.empty() && !has_field(h, name))
      out += name + (": " + with_eol(value, h.eol)) + h.eol;
  };
  add("From", c.from);
  add("Date", c.date);
  add("Message-ID", c.message_id);
  if (!h.has_separator) out += h.eol;
  out.append(message.substr(h.header_end));
  return out;
}

std::optional<std::string> sender_from_headers(const HeaderBlock& h,
                                               std::string_view default_domain,
                                               std::string* error) {
  for (const char* name : {"Sender", "From"}) {
    const std::vector<std::string> values = field_values(h, name);
    if (values.empty()) continue;
    const auto list = parse_qualified_list(values.front(), default_domain);
    if (!list || list->empty()) {
      *error = std::string(name) + ": not a mailbox: \"" + printable(values.front()) + "\"";
      return std::nullopt;
    }
    return list->front().address;
  }
  return std::string();
}

std::optional<std::vector<std::string>> recipients_from_headers(const HeaderBlock& h,
                                                                std::string_view default_domain,
                                                                std::string* error) {
  std::vector<std::string> out;
  for (const char* name : {"To", "Cc", "Bcc"}) {
    for (const std::string& value : field_values(h, name)) {
      const auto list = parse_qualified_list(value, default_domain);
      if (!list) {
        *error = std::string(name) + ": not an address list: \"" + printable(value) + "\"";
        return std::nullopt;
      }
      std::vector<std::string> addresses;
      for (const Mailbox& m : *list) addresses.push_back(m.address);
      add_unique(&out, addresses);
    }
  }
  return out;
}

}  // namespace tern::sendcli
