// REQUIRETLS in the relay; the rules are in requiretls.h.
#include "relay/requiretls.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "core/ascii.h"
#include "fs/file_io.h"

namespace tern {
namespace {

// A header section bigger than this has no TLS-Required field we honour:
// the content is read this far only.
constexpr size_t kMaxHeader = 256 * 1024;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

MessageTls message_tls(bool requiretls_param, bool tls_required_no) {
  // RFC 8689 4.1: with the MAIL parameter, the header field is ignored.
  if (requiretls_param) return MessageTls::kRequireTls;
  return tls_required_no ? MessageTls::kTlsOptional : MessageTls::kDefault;
}

const char* message_tls_field(MessageTls mode) {
  switch (mode) {
    case MessageTls::kRequireTls:
      return " requiretls=yes";
    case MessageTls::kTlsOptional:
      return " tls-required=no";
    case MessageTls::kDefault:
      break;
  }
  return "";
}

bool header_says_tls_optional(std::string_view content) {
  // Field by field: a line that starts with white space continues the
  // previous one (RFC 5322 2.2.3); an empty line ends the header section.
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = pos;
    for (;;) {
      const size_t eol = content.find('\n', end);
      if (eol == std::string_view::npos) {
        end = content.size();
        break;
      }
      end = eol + 1;
      if (end >= content.size() || !is_wsp(content[end])) break;
    }
    std::string_view field = content.substr(pos, end - pos);
    pos = end;
    if (trim(field).empty()) break;  // the end of the header section
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    if (ascii_lower(trim(field.substr(0, colon))) != "tls-required") continue;
    // RFC 8689 3: tls-required = "TLS-Required:" [FWS] "No" CRLF; unfold.
    std::string value;
    for (char c : field.substr(colon + 1)) {
      if (c != '\r' && c != '\n') value += c;
    }
    if (ascii_lower(trim(value)) == "no") return true;
  }
  return false;
}

Status read_tls_required_no(const std::string& path, uint64_t offset, bool* out) {
  *out = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  std::string buf;
  char piece[16 * 1024];
  uint64_t pos = offset;
  while (buf.size() < kMaxHeader) {
    const ssize_t n = ::pread(fd, piece, sizeof piece, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return io_error("read", path, err);
    }
    if (n == 0) break;
    buf.append(piece, static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
    if (buf.find("\r\n\r\n") != std::string::npos || buf.find("\n\n") != std::string::npos) break;
  }
  ::close(fd);
  *out = header_says_tls_optional(buf);
  return Status::Ok();
}

RequireTlsHop requiretls_hop(const TlsRequirement& req, const StsHopRule& sts, bool names_authentic,
                             const std::string& host) {
  RequireTlsHop out;
  out.req = req;
  if (!req.failure.empty()) {
    // A bogus TLSA answer or the like: skipped for now, as for any mail.
    out.why = req.failure;
    return out;
  }
  switch (req.level) {
    case TlsLevel::kDane:    // RFC 7672: TLSA only for hosts reached through secure DNS
    case TlsLevel::kVerify:  // MTA-STS enforce, or [[tls_policy]] verify / secure
      out.usable = true;
      return out;
    case TlsLevel::kNone:
      if (req.source == TlsSource::kConfig) {
        out.permanent = true;
        out.why = "the [[tls_policy]] of " + req.origin.substr(req.origin.find(' ') + 1) +
                  " forbids TLS to " + host;
        return out;
      }
      break;
    case TlsLevel::kMay:
    case TlsLevel::kEncrypt:
      break;
  }
  // RFC 8689 4.2.1: the host's name checked through DNSSEC or the MTA-STS
  // mx patterns (RFC 8461 4.1), then its certificate through WebPKI for
  // that name (RFC 6125).
  if (sts.applies && !sts.mx_matched) {
    out.permanent = true;
    out.why = host + " is not in the domain's MTA-STS policy";
    return out;
  }
  if (!(sts.applies && sts.mx_matched) && !names_authentic) {
    out.permanent = true;
    out.why = "no DANE or MTA-STS authentication for " + host;
    return out;
  }
  out.usable = true;
  out.req.level = TlsLevel::kVerify;
  out.req.names = {host};
  out.req.failure.clear();
  if (sts.applies) {
    out.req.source = TlsSource::kSts;
    out.req.origin = sts.enforce ? "sts" : "sts testing, REQUIRETLS";
  } else {
    out.req.origin = "dnssec mx, REQUIRETLS";
  }
  return out;
}

void relax_for_tls_optional(std::map<std::string, TlsRequirement>& tls) {
  for (auto& [host, req] : tls) {
    if (req.source == TlsSource::kConfig) continue;  // the operator's own rule
    if (req.level == TlsLevel::kNone) continue;
    req.level = TlsLevel::kMay;
    req.source = TlsSource::kDefault;
    req.failure.clear();
    req.tlsa.clear();
    req.names.clear();
    req.origin = "TLS-Required: No";
  }
}

bool requiretls_connection_ok(const ClientTlsState& tls, bool offers_requiretls,
                              const StsHopRule& sts, bool smarthost) {
  if (!tls.active || !offers_requiretls) return false;
  if (!tls.check.dane.empty()) return true;
  if (!tls.check.verified) return false;
  // A WebPKI check for a name that nothing authenticated (an MX looked up
  // without DNSSEC) is not enough; the MTA-STS policy's patterns are.
  return smarthost || (sts.applies && sts.mx_matched);
}

bool is_requiretls_refusal(const MessageResult& r) {
  return r.failure && r.failure->cause == Failure::Cause::kLocal && r.failure->reply &&
         r.failure->reply->enhanced == "5.7.30";
}

Reply requiretls_reply(std::string_view why, std::string_view host) {
  std::string text(why);
  if (!why.starts_with("REQUIRETLS")) text = fmt::format("REQUIRETLS: {}", why);
  if (!host.empty() && text.find(host) == std::string::npos) text += fmt::format(" ({})", host);
  return Reply(550, "5.7.30", text);
}

void RequireTlsTally::permanent(const Reply& r) {
  if (!permanent_) reply_ = r;
  permanent_ = true;
}

}  // namespace tern
