#include "milter/codec.h"

#include <algorithm>

#include "core/reply_parser.h"

namespace tern::milter {

namespace {

uint32_t get_u32(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// Splits `data` into its NUL-terminated strings. Fails when the last one
// is not terminated (every string on the wire is).
bool split_strings(std::string_view data, std::vector<std::string_view>* out) {
  while (!data.empty()) {
    size_t nul = data.find('\0');
    if (nul == std::string_view::npos) return false;
    out->push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  return true;
}

// Exactly `n` strings (extra empty padding allowed after them, as some
// milters send), else an error.
bool strings(std::string_view data, size_t min, size_t max, std::vector<std::string_view>* out,
             std::string* error, const char* what) {
  if (!split_strings(data, out)) {
    *error = std::string(what) + ": string not NUL-terminated";
    return false;
  }
  if (out->size() < min || out->size() > max) {
    *error = std::string(what) + ": wrong number of strings";
    return false;
  }
  return true;
}

bool header_name_ok(std::string_view name) {
  // RFC 5322 2.2: printable ASCII but ':'.
  if (name.empty() || name.size() > 998) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

}  // namespace

void put_u32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void put_str(std::string* out, std::string_view s) {
  out->append(s);
  out->push_back('\0');
}

std::string encode_packet(char code, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  put_u32(&out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(code);
  out.append(data);
  return out;
}

std::optional<Packet> PacketReader::next() {
  if (!error_.empty() || buffered() < 4) return std::nullopt;
  const std::string_view avail = std::string_view(buf_).substr(pos_);
  const uint32_t len = get_u32(avail);
  if (len == 0 || len > max_) {
    error_ = "packet length " + std::to_string(len) + " out of range";
    return std::nullopt;
  }
  if (avail.size() - 4 < len) return std::nullopt;
  Packet p{avail[4], std::string(avail.substr(5, len - 1))};
  pos_ += 4 + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return p;
}

bool Response::final() const {
  switch (kind) {
    case Kind::kContinue:
    case Kind::kAccept:
    case Kind::kReject:
    case Kind::kTempfail:
    case Kind::kDiscard:
    case Kind::kReplyCode:
    case Kind::kSkip:
    case Kind::kShutdown:
    case Kind::kConnFail:
      return true;
    default:
      return false;
  }
}

bool Response::modification() const { return !final() && kind != Kind::kProgress; }

std::optional<Reply> parse_reply_code(std::string_view text, std::string* error) {
  // Trailing CR/LF some milters leave.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() < 3 || !digit(text[0]) || !digit(text[1]) || !digit(text[2]) ||
      (text[0] != '4' && text[0] != '5') || (text.size() > 3 && text[3] != ' ' && text[3] != '-')) {
    *error = "reply code: not a 4xx or 5xx reply";
    return std::nullopt;
  }
  const std::string_view code = text.substr(0, 3);
  Reply r;
  r.code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
  // Lines "xxx-..." then a last "xxx ...", joined by CRLF (libmilter's
  // smfi_setmlreply).
  for (;;) {
    size_t eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    const bool last = eol == std::string_view::npos;
    if (line.size() < 3 || line.substr(0, 3) != code ||
        (line.size() > 3 && line[3] != (last ? ' ' : '-'))) {
      *error = "reply code: inconsistent multi-line reply";
      return std::nullopt;
    }
    std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
    std::string esc = take_enhanced_code(&rest, r.code / 100);
    if (r.lines.empty()) r.enhanced = esc;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::string clean;
    for (unsigned char c : rest.substr(0, 512)) clean += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    r.lines.push_back(std::move(clean));
    if (r.lines.size() > 100) {
      *error = "reply code: too many lines";
      return std::nullopt;
    }
    if (last) break;
    text.remove_prefix(eol + 2);
  }
  return r;
}

std::optional<Response> decode_response(const Packet& p, std::string* error) {
  using K = Response::Kind;
  Response r;
  std::vector<std::string_view> s;
  auto simple = [&](K k) -> std::optional<Response> {
    r.kind = k;
    return r;
  };
  switch (p.code) {
    case rep::kContinue:
      return simple(K::kContinue);
    case rep::kAccept:
      return simple(K::kAccept);
    case rep::kReject:
      return simple(K::kReject);
    case rep::kTempfail:
      return simple(K::kTempfail);
    case rep::kDiscard:
      return simple(K::kDiscard);
    case rep::kSkip:
      return simple(K::kSkip);
    case rep::kProgress:
      return simple(K::kProgress);
    case rep::kShutdown:
      return simple(K::kShutdown);
    case rep::kConnFail:
      return simple(K::kConnFail);
    case rep::kReplyCode: {
      if (!strings(p.data, 1, 1, &s, error, "REPLYCODE")) return std::nullopt;
      std::optional<Reply> reply = parse_reply_code(s[0], error);
      if (!reply) return std::nullopt;
      r.kind = K::kReplyCode;
      r.reply = std::move(*reply);
      return r;
    }
    case rep::kQuarantine:
      if (!strings(p.data, 1, 1, &s, error, "QUARANTINE")) return std::nullopt;
      r.kind = K::kQuarantine;
      r.value = std::string(s[0]);
      return r;
    case rep::kAddHeader:
    case rep::kInsHeader:
    case rep::kChgHeader: {
      std::string_view d = p.data;
      if (p.code != rep::kAddHeader) {
        if (d.size() < 4) {
          *error = "header change: no index";
          return std::nullopt;
        }
        r.index = get_u32(d);
        d.remove_prefix(4);
      }
      if (!strings(d, 2, 2, &s, error, "header change")) return std::nullopt;
      if (!header_name_ok(s[0])) {
        *error = "header change: bad field name";
        return std::nullopt;
      }
      r.kind = p.code == rep::kAddHeader   ? K::kAddHeader
               : p.code == rep::kInsHeader ? K::kInsHeader
                                           : K::kChgHeader;
      r.name = std::string(s[0]);
      r.value = std::string(s[1]);
      return r;
    }
    case rep::kReplBody:
      // Raw octets, no NUL terminator (libmilter's smfi_replacebody).
      r.kind = K::kReplBody;
      r.value = p.data;
      return r;
    case rep::kAddRcpt:
    case rep::kDelRcpt:
      if (!strings(p.data, 1, 1, &s, error, "recipient change")) return std::nullopt;
      if (s[0].empty()) {
        *error = "recipient change: empty address";
        return std::nullopt;
      }
      r.kind = p.code == rep::kAddRcpt ? K::kAddRcpt : K::kDelRcpt;
      r.name = std::string(s[0]);
      return r;
    case rep::kAddRcptPar:
    case rep::kChgFrom:
      if (!strings(p.data, 1, 2, &s, error, "envelope change")) return std::nullopt;
      if (s[0].empty()) {
        *error = "envelope change: empty address";
        return std::nullopt;
      }
      r.kind = p.code == rep::kChgFrom ? K::kChgFrom : K::kAddRcptPar;
      r.name = std::string(s[0]);
      if (s.size() == 2) r.value = std::string(s[1]);
      return r;
    default:
      *error = "unknown reply code " + std::to_string(static_cast<unsigned char>(p.code));
      return std::nullopt;
  }
}

std::optional<Negotiated> decode_optneg(const Packet& p, std::string* error) {
  if (p.code != cmd::kOptneg) {
    *error = "expected an OPTNEG reply";
    return std::nullopt;
  }
  std::string_view d = p.data;
  if (d.size() < 12) {
    *error = "OPTNEG reply too short";
    return std::nullopt;
  }
  Negotiated n;
  n.version = get_u32(d);
  n.actions = get_u32(d.substr(4));
  n.protocol = get_u32(d.substr(8));
  d.remove_prefix(12);
  // Then (SMFIF_SETSYMLIST) stage(4) "names separated by spaces"\0, ...
  while (!d.empty()) {
    if (d.size() < 5) {
      *error = "OPTNEG reply: truncated macro list";
      return std::nullopt;
    }
    uint32_t stage = get_u32(d);
    d.remove_prefix(4);
    size_t nul = d.find('\0');
    if (nul == std::string_view::npos || stage >= kMacroStages) {
      *error = "OPTNEG reply: bad macro list";
      return std::nullopt;
    }
    std::vector<std::string> names;
    std::string_view list = d.substr(0, nul);
    d.remove_prefix(nul + 1);
    while (!list.empty()) {
      size_t sp = list.find_first_of(" ,");
      std::string_view name = list.substr(0, sp);
      if (!name.empty()) names.emplace_back(name);
      list.remove_prefix(sp == std::string_view::npos ? list.size() : sp + 1);
    }
    n.macros[stage] = std::move(names);
  }
  return n;
}

}  // namespace tern::milter
