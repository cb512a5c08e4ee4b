#include "queue/state_log.h"

#include <array>
#include <charconv>
#include <optional>
#include <set>

#include "core/params.h"

namespace tern {
namespace {

struct TypeName {
  StateRecord::Type type;
  std::string_view name;
};
constexpr TypeName kTypes[] = {{StateRecord::Type::kTry, "try"},
                               {StateRecord::Type::kOk, "ok"},
                               {StateRecord::Type::kFail, "fail"},
                               {StateRecord::Type::kWarn, "warn"},
                               {StateRecord::Type::kDone, "done"}};

std::string_view type_name(StateRecord::Type t) {
  for (const TypeName& n : kTypes)
    if (n.type == t) return n.name;
  return "?";
}

template <typename T>
bool parse_int(std::string_view s, T* v) {
  if (s.empty() || s[0] == '+') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

// "x.y.z": class 2, 4 or 5, then 1-3 and 1-3 digits (RFC 3463 2).
bool valid_enhanced(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t dot = s.find('.', 2);
  if (dot == std::string_view::npos) return false;
  auto digits = [](std::string_view d) {
    if (d.empty() || d.size() > 3) return false;
    for (char c : d)
      if (c < '0' || c > '9') return false;
    return true;
  };
  return digits(s.substr(2, dot - 2)) && digits(s.substr(dot + 1));
}

std::string joined_text(const Reply& r) {
  std::string out;
  for (const std::string& l : r.lines) {
    if (l.empty()) continue;
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

void put(std::string* out, std::string_view key, std::string_view value) {
  out->push_back(' ');
  out->append(key);
  out->push_back('=');
  out->append(value);
}

bool final_outcome(RcptOutcome o) {
  return o == RcptOutcome::kDelivered || o == RcptOutcome::kRelayed || o == RcptOutcome::kExpanded;
}

}  // namespace

const char* outcome_name(RcptOutcome o) {
  switch (o) {
    case RcptOutcome::kPending:
      return "pending";
    case RcptOutcome::kDelivered:
      return "delivered";
    case RcptOutcome::kRelayed:
      return "relayed";
    case RcptOutcome::kExpanded:
      return "expanded";
    case RcptOutcome::kFailed:
      return "failed";
  }
  return "?";
}

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string encode_state_record(const StateRecord& r) {
  std::string line(type_name(r.type));
  line += ' ';
  line += std::to_string(r.rcpt);
  using T = StateRecord::Type;
  if (r.type != T::kDone) put(&line, "at", std::to_string(r.at));
  if (r.type == T::kTry) put(&line, "next", std::to_string(r.next));
  if (r.type == T::kOk) {
    put(&line, "outcome", outcome_name(r.outcome));
    if (r.next_hop_dsn) put(&line, "dsn", "yes");
  }
  if (r.type == T::kTry || r.type == T::kOk || r.type == T::kFail) {
    if (r.reply.code != 0) {
      put(&line, "code", std::to_string(r.reply.code));
      if (!r.reply.enhanced.empty()) put(&line, "esc", xtext_encode(r.reply.enhanced));
      std::string text = joined_text(r.reply);
      if (!text.empty()) put(&line, "text", xtext_encode(text));
    }
    if (!r.remote_mta.empty()) put(&line, "mta", xtext_encode(r.remote_mta));
  }
  char crc[16];
  auto [end, ec] = std::to_chars(crc, crc + sizeof crc, crc32(line), 16);
  (void)ec;
  line += " #";
  line.append(8 - static_cast<size_t>(end - crc), '0');
  line.append(crc, end);
  line += '\n';
  return line;
}

bool decode_state_record(std::string_view line, StateRecord* out) {
  // The CRC first: it rejects torn and zero-filled lines before anything
  // else looks at them.
  size_t hash = line.rfind(" #");
  if (hash == std::string_view::npos || line.size() - hash != 10) return false;
  std::string_view crc_text = line.substr(hash + 2);
  uint32_t want = 0;
  for (char c : crc_text) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    want = (want << 4) | static_cast<uint32_t>(d);
  }
  std::string_view body = line.substr(0, hash);
  if (crc32(body) != want) return false;

  std::vector<std::string_view> tokens;
  while (!body.empty()) {
    size_t sp = body.find(' ');
    tokens.push_back(body.substr(0, sp));
    if (tokens.back().empty()) return false;
    if (sp == std::string_view::npos) break;
    body.remove_prefix(sp + 1);
    if (body.empty()) return false;
  }
  if (tokens.size() < 2) return false;
  StateRecord r;
  bool known = false;
  for (const TypeName& n : kTypes) {
    if (tokens[0] == n.name) {
      r.type = n.type;
      known = true;
    }
  }
  if (!known || !parse_int(tokens[1], &r.rcpt)) return false;

  std::set<std::string_view> seen;
  for (size_t i = 2; i < tokens.size(); ++i) {
    size_t eq = tokens[i].find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = tokens[i].substr(0, eq);
    std::string_view value = tokens[i].substr(eq + 1);
    if (!seen.insert(key).second) return false;
    if (key == "at") {
      if (!parse_int(value, &r.at)) return false;
    } else if (key == "next") {
      if (!parse_int(value, &r.next)) return false;
    } else if (key == "outcome") {
      if (value == "delivered")
        r.outcome = RcptOutcome::kDelivered;
      else if (value == "relayed")
        r.outcome = RcptOutcome::kRelayed;
      else if (value == "expanded")
        r.outcome = RcptOutcome::kExpanded;
      else
        return false;
    } else if (key == "dsn") {
      if (value != "yes") return false;
      r.next_hop_dsn = true;
    } else if (key == "code") {
      if (!parse_int(value, &r.reply.code) || r.reply.code < 200 || r.reply.code > 599)
        return false;
    } else if (key == "esc" || key == "text" || key == "mta") {
      std::optional<std::string> v = xtext_decode(value);
      if (!v) return false;
      if (key == "esc") {
        if (!valid_enhanced(*v)) return false;
        r.reply.enhanced = std::move(*v);
      } else if (key == "text") {
        r.reply.lines = {std::move(*v)};
      } else {
        r.remote_mta = std::move(*v);
      }
    }  // other keys: from a newer writer; covered by the CRC, ignored
  }
  using T = StateRecord::Type;
  bool need_at = r.type != T::kDone;
  if (need_at && !seen.count("at")) return false;
  if (r.type == T::kTry && (!seen.count("next") || !seen.count("code"))) return false;
  if (r.type == T::kOk && !seen.count("outcome")) return false;
  if (r.type == T::kFail && !seen.count("code")) return false;
  if ((seen.count("esc") || seen.count("text")) && !seen.count("code")) return false;
  *out = std::move(r);
  return true;
}

void apply_state_record(const StateRecord& r, std::vector<RecipientState>* states) {
  if (r.rcpt >= states->size()) return;
  RecipientState& s = (*states)[r.rcpt];
  using T = StateRecord::Type;
  switch (r.type) {
    case T::kDone:
      s.done = true;
      return;
    case T::kWarn:
      s.delay_warned = true;
      return;
    case T::kTry:
    case T::kOk:
    case T::kFail:
      break;
  }
  if (s.outcome != RcptOutcome::kPending) return;  // final already
  ++s.attempts;
  s.last_attempt = r.at;
  s.last_reply = r.reply;
  s.remote_mta = r.remote_mta;
  if (r.type == T::kTry) {
    s.next_attempt = r.next;
  } else if (r.type == T::kOk) {
    s.outcome = final_outcome(r.outcome) ? r.outcome : RcptOutcome::kDelivered;
    s.next_hop_dsn = r.next_hop_dsn;
  } else {
    s.outcome = RcptOutcome::kFailed;
  }
}

size_t replay_state_log(std::string_view text, std::vector<RecipientState>* states) {
  size_t skipped = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    StateRecord r;
    if (decode_state_record(line, &r))
      apply_state_record(r, states);
    else if (!line.empty())
      ++skipped;
  }
  return skipped;
}

}  // namespace tern
