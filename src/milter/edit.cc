#include "milter/edit.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/command.h"
#include "core/params.h"

namespace tern::milter {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 2.2: a field name is printable ASCII but ':' and space.
bool field_name_ok(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

std::string bracketed(std::string_view a) {
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
  if (!a.empty() && a.front() == '<') return std::string(a);
  return "<" + std::string(a) + ">";
}

}  // namespace

std::optional<HeaderSection> split_header(std::string_view text, bool complete) {
  HeaderSection out;
  size_t pos = 0;
  for (;;) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (!complete) return std::nullopt;
      // The message ends inside its header: a last field without a line
      // end is kept as a field if it is one, else it is body.
      std::string_view line = text.substr(pos);
      size_t colon = line.find(':');
      if (!line.empty() && is_wsp(line[0]) && !out.fields.empty()) {
        out.fields.back().value += "\r\n" + std::string(line);
        pos = text.size();
      } else if (colon != std::string_view::npos && field_name_ok(line.substr(0, colon))) {
        out.fields.push_back(
            {std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
        pos = text.size();
      }
      out.body_offset = pos;
      return out;
    }
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      out.body_offset = eol + 1;
      return out;
    }
    if (is_wsp(line[0]) && !out.fields.empty()) {
      out.fields.back().value += "\r\n" + std::string(line);
    } else {
      size_t colon = line.find(':');
      // RFC 5322 2.2 allows no space before the colon; obsolete syntax
      // (4.5) does, and trailing white space of the name is kept as is.
      std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      if (colon == std::string_view::npos || !field_name_ok(name)) {
        out.body_offset = pos;
        return out;
      }
      out.fields.push_back(
          {std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
    pos = eol + 1;
  }
}

std::string render_header(const std::vector<HeaderField>& fields) {
  std::string out;
  for (const HeaderField& f : fields) out += f.name + ":" + f.value + "\r\n";
  return out;
}

std::string header_value(std::string_view value, bool leadspc) {
  std::string out;
  if (!leadspc && !value.empty()) out = " ";
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\0') continue;
    if (c == '\r') {
      if (i + 1 < value.size() && value[i + 1] == '\n') continue;  // the LF makes the CRLF
      continue;                                                    // a stray CR
    }
    if (c == '\n') {
      out += "\r\n";
      // RFC 5322 2.2.3: a folded line starts with white space.
      if (i + 1 < value.size() && !is_wsp(value[i + 1])) out += '\t';
      continue;
    }
    out += c;
  }
  while (out.size() >= 2 && out.ends_with("\r\n")) out.resize(out.size() - 2);
  // A value that is only line breaks and spaces would leave a white line.
  if (std::all_of(out.begin(), out.end(), [](char c) { return is_wsp(c); }))
    out = out.empty() ? "" : " ";
  return out;
}

void apply_header_change(const Response& m, bool leadspc, std::vector<HeaderField>* fields) {
  using K = Response::Kind;
  switch (m.kind) {
    case K::kAddHeader:
      fields->push_back({m.name, header_value(m.value, leadspc)});
      return;
    case K::kInsHeader: {
      size_t at = std::min<size_t>(m.index, fields->size());
      fields->insert(fields->begin() + static_cast<std::ptrdiff_t>(at),
                     HeaderField{m.name, header_value(m.value, leadspc)});
      return;
    }
    case K::kChgHeader: {
      uint32_t want = m.index == 0 ? 1 : m.index;
      uint32_t seen = 0;
      for (auto it = fields->begin(); it != fields->end(); ++it) {
        std::string_view name = it->name;
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
        if (!iequals(name, m.name) || ++seen != want) continue;
        if (m.value.empty())
          fields->erase(it);
        else
          it->value = header_value(m.value, leadspc);
        return;
      }
      if (!m.value.empty()) fields->push_back({m.name, header_value(m.value, leadspc)});
      return;
    }
    default:
      return;
  }
}

bool apply_envelope_change(const Response& m, Envelope* env, std::string* error) {
  using K = Response::Kind;
  const std::string path = bracketed(m.name);
  std::string text = path;
  if (!m.value.empty()) text += " " + m.value;
  switch (m.kind) {
    case K::kChgFrom: {
      auto parsed = parse_mail_args(text);
      if (auto* r = std::get_if<Reply>(&parsed)) {
        *error = "CHGFROM " + path + ": " + r->brief();
        return false;
      }
      MailArgs args = std::get<MailArgs>(std::move(parsed));
      if (m.value.empty()) {
        // Only the address changes; the message's parameters stay.
        env->mail.from = std::move(args.from);
      } else {
        args.smtputf8 = args.smtputf8 || env->mail.smtputf8;
        env->mail = std::move(args);
      }
      return true;
    }
    case K::kAddRcpt:
    case K::kAddRcptPar: {
      auto parsed = parse_rcpt_args(text, true);
      if (auto* r = std::get_if<Reply>(&parsed)) {
        *error = "ADDRCPT " + path + ": " + r->brief();
        return false;
      }
      RcptArgs args = std::get<RcptArgs>(std::move(parsed));
      if (args.to.needs_utf8()) env->mail.smtputf8 = true;
      for (const RcptArgs& r : env->rcpts)
        if (iequals(r.to.str(), args.to.str())) return true;
      env->rcpts.push_back(std::move(args));
      return true;
    }
    case K::kDelRcpt: {
      std::string_view a = path;
      a = a.substr(1, a.size() - 2);
      std::erase_if(env->rcpts, [&](const RcptArgs& r) { return iequals(r.to.str(), a); });
      return true;
    }
    default:
      return true;
  }
}

std::string BodyNormalizer::feed(std::string_view chunk) {
  std::string out;
  out.reserve(chunk.size() + 16);
  for (char c : chunk) {
    any_ = true;
    if (cr_) {
      cr_ = false;
      out += "\r\n";
      if (c == '\n') continue;
    }
    if (c == '\r') {
      cr_ = true;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty()) line_end_ = out.ends_with("\r\n");
  return out;
}

std::string BodyNormalizer::finish() {
  if (cr_) {
    cr_ = false;
    line_end_ = true;
    return "\r\n";
  }
  if (any_ && !line_end_) {
    line_end_ = true;
    return "\r\n";
  }
  return {};
}

}  // namespace tern::milter
