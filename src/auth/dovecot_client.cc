#include "auth/dovecot_client.h"

#include <algorithm>

#include "core/base64.h"

namespace tern {
namespace {

std::vector<std::string_view> split_tabs(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t tab = s.find('\t');
    out.push_back(s.substr(0, tab));
    if (tab == std::string_view::npos) return out;
    s.remove_prefix(tab + 1);
  }
}

}  // namespace

std::string dovecot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\001':
        out += "\0011";
        break;
      case '\t':
        out += "\001t";
        break;
      case '\r':
        out += "\001r";
        break;
      case '\n':
        out += "\001n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string dovecot_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\001' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    switch (s[++i]) {
      case '1':
        out += '\001';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        out += s[i];
    }
  }
  return out;
}

DovecotAuthClient::DovecotAuthClient(DovecotAuthRequest request) : req_(std::move(request)) {
  result_.user = req_.user;
}

DovecotAuthClient::~DovecotAuthClient() {
  std::fill(req_.password.begin(), req_.password.end(), '\0');
}

std::string DovecotAuthClient::hello() const {
  return "VERSION\t1\t2\nCPID\t" + std::to_string(req_.pid) + "\n";
}

void DovecotAuthClient::fail_temporary(std::string reason) {
  result_.kind = DovecotAuthResult::Kind::kTemporary;
  result_.reason = std::move(reason);
}

void DovecotAuthClient::eof() {
  if (!done()) fail_temporary("Dovecot closed the connection");
}

void DovecotAuthClient::timeout() {
  if (!done()) fail_temporary("Dovecot did not answer in time");
}

std::string DovecotAuthClient::receive(std::string_view bytes) {
  std::string out;
  if (done()) return out;
  buf_.append(bytes);
  size_t start = 0;
  for (;;) {
    const size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    out += line(std::string_view(buf_).substr(start, nl - start));
    start = nl + 1;
    if (done()) return out;
  }
  buf_.erase(0, start);
  if (buf_.size() > kMaxLine) fail_temporary("Dovecot sent a line that is too long");
  return out;
}

std::string DovecotAuthClient::line(std::string_view text) {
  const std::vector<std::string_view> f = split_tabs(text);
  const std::string_view cmd = f[0];
  if (!handshake_done_) {
    if (cmd == "VERSION") {
      // A different major version is a different protocol; minor ones add
      // commands we may ignore.
      if (f.size() < 3 || f[1] != "1") {
        fail_temporary("Dovecot speaks auth protocol version " +
                       std::string(f.size() > 1 ? f[1] : "?") + ", not 1");
      }
      version_ok_ = true;
    } else if (cmd == "MECH" && f.size() >= 2) {
      mechs_.emplace_back(f[1]);
    } else if (cmd == "DONE") {
      handshake_done_ = true;
      if (!version_ok_) {
        fail_temporary("Dovecot did not say its protocol version");
        return "";
      }
      if (std::find(mechs_.begin(), mechs_.end(), "PLAIN") == mechs_.end()) {
        fail_temporary("Dovecot does not offer the PLAIN mechanism (auth_mechanisms)");
        return "";
      }
      // RFC 4616: authzid (empty) NUL authcid NUL passwd.
      std::string plain = std::string(1, '\0') + req_.user + '\0' + req_.password;
      std::string auth =
          "AUTH\t" + std::to_string(req_.id) + "\tPLAIN\tservice=" + dovecot_escape(req_.service);
      if (req_.secured) auth += "\tsecured";
      if (!req_.local_ip.empty()) auth += "\tlip=" + dovecot_escape(req_.local_ip);
      if (!req_.remote_ip.empty()) auth += "\trip=" + dovecot_escape(req_.remote_ip);
      auth += "\tresp=" + base64_encode(plain) + "\n";
      std::fill(plain.begin(), plain.end(), '\0');
      return auth;
    }
    // SPID, CUID, COOKIE and anything newer: not needed to authenticate.
    return "";
  }
  if (cmd != "OK" && cmd != "FAIL" && cmd != "CONT") return "";  // not about our request
  if (f.size() < 2 || f[1] != std::to_string(req_.id)) {
    fail_temporary("Dovecot answered a request we did not make");
    return "";
  }
  if (cmd == "CONT") {
    // PLAIN with an initial response needs no continuation.
    fail_temporary("Dovecot asked for more than PLAIN needs");
    return "";
  }
  bool temp = false;
  std::string user, reason;
  for (size_t i = 2; i < f.size(); ++i) {
    if (f[i] == "temp") temp = true;
    if (f[i].starts_with("user=")) user = dovecot_unescape(f[i].substr(5));
    if (f[i].starts_with("reason=")) reason = dovecot_unescape(f[i].substr(7));
  }
  if (cmd == "OK") {
    result_.kind = DovecotAuthResult::Kind::kOk;
    if (!user.empty()) result_.user = user;
    return "";
  }
  result_.kind = temp ? DovecotAuthResult::Kind::kTemporary : DovecotAuthResult::Kind::kFail;
  result_.reason = reason.empty() ? (temp ? "temporary failure" : "authentication failed") : reason;
  return "";
}

}  // namespace tern
