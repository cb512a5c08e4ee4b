#include "relay/outbound_trace.h"

#include <sstream>

#include "core/received.h"

namespace tern {
namespace {

// Limits of RFC 5322 2.1.1: 78 characters a line, CRLF not counted.
constexpr size_t kLineMax = 78;

// Text from DNS names, certificates or config going into our comment:
// printable ASCII only, without what would end or nest the comment, and
// without ";": parsers find the date after the last ";" of a Received
// field, and some after the first.
std::string clean(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 255)) {
    if (c == ';')
      out += ',';
    else if (c == ' ' || (c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\'))
      out += char(c);
    else
      out += '_';
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (n.empty()) continue;
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

std::string authentication(const OutboundHop& hop) {
  const ClientTlsState& t = hop.tls;
  if (!t.check.dane.empty())
    return "authenticated by DANE TLSA " + t.check.dane + " " + tlsa_mnemonics(t.check.dane);
  const std::string names = join(hop.names);
  // Was verification required on this connection? Then it is what
  // authenticated the peer; otherwise it is only what we noticed.
  const bool required = hop.smarthost || hop.sts.require_tls ||
                        (hop.requirement && tls_authenticated(*hop.requirement));
  if (t.check.verified) {
    return required ? "authenticated by WebPKI for " + names
                    : "certificate verified for " + names + " but not required";
  }
  const bool encrypt = hop.requirement && hop.requirement->level == TlsLevel::kEncrypt;
  return std::string(encrypt ? "encrypted" : "opportunistic") +
         " TLS not verified: " + (t.check.detail.empty() ? "no check" : t.check.detail);
}

}  // namespace

std::string tlsa_mnemonics(const std::string& usm) {
  // RFC 7218 2.1, 2.2, 2.3.
  static const char* kUsage[] = {"PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE"};
  static const char* kSelector[] = {"Cert", "SPKI"};
  static const char* kMatching[] = {"Full", "SHA2-256", "SHA2-512"};
  std::istringstream in(usm);
  int u = -1, s = -1, m = -1;
  if (!(in >> u >> s >> m)) return "";
  auto name = [](int v, const char* const* names, int n) {
    return v >= 0 && v < n ? std::string(names[v]) : std::to_string(v);
  };
  return name(u, kUsage, 4) + " " + name(s, kSelector, 2) + " " + name(m, kMatching, 3);
}

std::string outbound_trace_comment(const OutboundHop& hop) {
  std::vector<std::string> parts;
  parts.push_back(std::string("tern outbound to ") + (hop.smarthost ? "smarthost " : "") +
                  hop.host + " [" + hop.ip + "]");
  if (hop.tls.active) {
    parts.push_back(hop.tls.info.version + " " + hop.tls.info.cipher);
    parts.push_back(authentication(hop));
  } else {
    parts.push_back(hop.starttls_offered ? "plaintext" : "plaintext: STARTTLS not offered");
  }
  if (hop.requirement) {
    const TlsRequirement& r = *hop.requirement;
    // As in the log (remote_courier.cc policy_text): plain opportunistic
    // TLS with nothing decided says nothing more.
    if (!(r.level == TlsLevel::kMay && r.source == TlsSource::kDefault && r.dane == "none"))
      parts.push_back(std::string("policy=") + tls_level_name(r.level) + " per " + r.origin);
  }
  if (hop.sts.applies) {
    std::string s = std::string("MTA-STS ") + (hop.sts.enforce ? "enforce" : "testing");
    if (!hop.sts_id.empty()) s += " id=" + hop.sts_id;
    const std::string failure = !hop.sts.mx_matched ? "mx-mismatch" : sts_tls_failure(hop.tls);
    if (!failure.empty()) s += ": " + failure;
    parts.push_back(s);
  }
  if (hop.authenticated) parts.push_back("AUTH");
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += ", ";
    out += clean(p);
  }
  return out;
}

std::string outbound_with(const OutboundHop& hop, bool utf8) {
  // RFC 3848 2, RFC 6531 3.7.3: S for TLS, A for AUTH.
  std::string with = utf8 ? "UTF8SMTP" : (hop.esmtp || hop.tls.active ? "ESMTP" : "SMTP");
  if (hop.tls.active) with += 'S';
  if (hop.authenticated) with += 'A';
  return with;
}

std::string build_outbound_received(const OutboundReceived& r) {
  // Words, each kept whole on a line; a fold goes where a space was.
  std::vector<std::string> words = {"Received:", "by", clean(r.by)};
  // The comment never ends early: clean() took out every parenthesis.
  std::istringstream comment("(" + clean(r.comment) + ")");
  for (std::string w; comment >> w;) words.push_back(w);
  for (const std::string& w :
       {std::string("with"), clean(r.with), std::string("id"), clean(r.id) + ";"})
    words.push_back(w);
  std::string out;
  size_t line = 0;  // characters on the current line
  for (const std::string& w : words) {
    if (out.empty()) {
      out = w;
      line = w.size();
    } else if (line + 1 + w.size() > kLineMax) {
      out += "\r\n\t" + w;
      line = 1 + w.size();
    } else {
      out += " " + w;
      line += 1 + w.size();
    }
  }
  // The date stays on one line (RFC 5322 3.3 allows folding in it, but
  // whole it is easier to read and to parse).
  const std::string date = rfc5322_date(r.time);
  out += line + 1 + date.size() > kLineMax ? "\r\n\t" + date : " " + date;
  return out + "\r\n";
}

}  // namespace tern
