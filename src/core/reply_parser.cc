#include "core/reply_parser.h"

#include <algorithm>
#include <cstdio>

namespace tern {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return out;
}

// Splits on runs of spaces.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = s.find(' ', i);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

// Up to 80 octets of `line` for an error message, control octets as \xNN.
std::string printable(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size() && i < 80; ++i) {
    const auto u = static_cast<unsigned char>(line[i]);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += line[i];
    }
  }
  if (line.size() > 80) out += "...";
  return out;
}

// Digits 1..3 at s[*i], advancing *i.
bool take_digits(std::string_view s, size_t* i) {
  size_t n = 0;
  while (*i < s.size() && is_digit(s[*i]) && n < 4) {
    ++*i;
    ++n;
  }
  return n >= 1 && n <= 3;
}

}  // namespace

std::string take_enhanced_code(std::string_view* text, int klass) {
  // RFC 3463 2: the classes are 2 (success), 4 and 5 (failures).
  if (klass != 2 && klass != 4 && klass != 5) return "";
  std::string_view t = *text;
  if (t.size() < 5 || t[0] != static_cast<char>('0' + klass) || t[1] != '.') return "";
  size_t i = 2;
  if (!take_digits(t, &i) || i >= t.size() || t[i] != '.') return "";
  ++i;
  if (!take_digits(t, &i)) return "";
  if (i < t.size() && t[i] != ' ') return "";
  std::string code(t.substr(0, i));
  t.remove_prefix(i);
  if (!t.empty()) t.remove_prefix(1);  // the space after the code
  *text = t;
  return code;
}

ReplyParser::ReplyParser() : limits_(Limits{}) {}

void ReplyParser::feed(std::string_view bytes) {
  if (error_ != Error::kNone) return;
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  }
  in_.append(bytes);
}

void ReplyParser::discard() {
  in_.clear();
  pos_ = 0;
  cur_ = Reply();
  cur_raw_.clear();
  pending_octets_ = 0;
  complete_ = false;
}

void ReplyParser::fail(Error e, std::string_view line) {
  error_ = e;
  // Never empty once there is an error (reply_parser.h): an empty line is
  // an error too, and a log line must still say what was wrong.
  detail_ = line.empty() ? "(empty line)" : printable(line);
  in_.clear();
  pos_ = 0;
}

std::optional<Reply> ReplyParser::next() {
  while (error_ == Error::kNone) {
    std::string_view avail = std::string_view(in_).substr(pos_);
    size_t lf = avail.find('\n');
    if (lf == std::string_view::npos) {
      // Never buffer more of one line than the limit allows.
      if (avail.size() >= limits_.max_line) fail(Error::kLineTooLong, avail);
      break;
    }
    if (lf + 1 > limits_.max_line) {
      fail(Error::kLineTooLong, avail.substr(0, lf));
      break;
    }
    std::string_view line = avail.substr(0, lf);
    pos_ += lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pending_octets_ += lf + 1;
    if (!take_line(line)) break;
    if (complete_) {
      Reply out = std::move(cur_);
      raw_ = std::move(cur_raw_);
      cur_ = Reply();
      cur_raw_.clear();
      pending_octets_ = 0;
      complete_ = false;
      if (pos_ == in_.size()) {
        in_.clear();
        pos_ = 0;
      }
      return out;
    }
  }
  return std::nullopt;
}

bool ReplyParser::take_line(std::string_view line) {
  // RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
      !is_digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    fail(Error::kSyntax, line);
    return false;
  }
  if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
    fail(Error::kSyntax, line);
    return false;
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!cur_raw_.empty() && code != cur_.code) {
    fail(Error::kCodeMismatch, line);
    return false;
  }
  if (cur_raw_.size() + 1 > limits_.max_lines) {
    fail(Error::kTooManyLines, line);
    return false;
  }
  cur_raw_.emplace_back(line);
  const bool last = line.size() <= 3 || line[3] == ' ';
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  if (cur_raw_.size() == 1) {
    cur_.code = code;
    cur_.enhanced = take_enhanced_code(&text, code / 100);
  } else if (!cur_.enhanced.empty() && text.substr(0, cur_.enhanced.size()) == cur_.enhanced &&
             (text.size() == cur_.enhanced.size() || text[cur_.enhanced.size()] == ' ')) {
    // RFC 2034 3: the code is repeated on every line.
    text.remove_prefix(std::min(text.size(), cur_.enhanced.size() + 1));
  }
  cur_.lines.emplace_back(text);
  complete_ = last;
  return true;
}

bool Capabilities::offers_auth(std::string_view mechanism) const {
  const std::string m = upper(mechanism);
  return std::find(auth.begin(), auth.end(), m) != auth.end();
}

Capabilities parse_ehlo_reply(const Reply& reply) {
  Capabilities caps;
  caps.esmtp = true;
  auto add_mechs = [&caps](const std::vector<std::string_view>& mechs) {
    for (std::string_view m : mechs) {
      std::string name = upper(m);
      if (!name.empty() && !caps.offers_auth(name)) caps.auth.push_back(std::move(name));
    }
  };
  // RFC 5321 4.1.1.1: the first line greets; each further line is
  // ehlo-keyword *( SP ehlo-param ).
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::vector<std::string_view> w = words(reply.lines[i]);
    if (w.empty()) continue;
    const std::string kw = upper(w[0]);
    std::vector<std::string_view> params(w.begin() + 1, w.end());
    if (kw.starts_with("AUTH=")) {
      // The pre-RFC 4954 form some servers still send: "AUTH=LOGIN PLAIN".
      params.insert(params.begin(), std::string_view(w[0]).substr(5));
      add_mechs(params);
    } else if (kw == "AUTH") {
      add_mechs(params);
    } else if (kw == "PIPELINING") {
      caps.pipelining = true;
    } else if (kw == "SIZE") {
      caps.size = true;
      if (!params.empty() && !params[0].empty() && params[0].size() <= 19 &&
          std::all_of(params[0].begin(), params[0].end(),
                      [](char c) { return c >= '0' && c <= '9'; })) {
        caps.max_size = std::stoull(std::string(params[0]));
      }
    } else if (kw == "8BITMIME") {
      caps.eightbitmime = true;
    } else if (kw == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (kw == "CHUNKING") {
      caps.chunking = true;
    } else if (kw == "DSN") {
      caps.dsn = true;
    } else if (kw == "STARTTLS") {
      caps.starttls = true;
    } else if (kw == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (kw == "REQUIRETLS") {
      caps.requiretls = true;
    }
  }
  return caps;
}

}  // namespace tern
