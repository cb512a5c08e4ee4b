// The transport-security checks of `tern check` (doctor.h): MTA-STS (RFC
// 8461), TLS-RPT (RFC 8460) and this server's DANE record (RFC 7672).
#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cctype>

#include "check/doctor_internal.h"
#include "sts/publish.h"
#include "sts/record.h"

namespace tern::check::internal {
namespace {

std::string policy_summary(const sts::Policy& p) {
  std::string mx;
  for (const std::string& m : p.mx) mx += (mx.empty() ? "" : ",") + m;
  return fmt::format("mode={} mx={} max_age={}", sts::mode_name(p.mode), mx.empty() ? "-" : mx,
                     p.max_age);
}

// RFC 8460 3: "v=TLSRPTv1" first, then rua= with one or more
// comma-separated mailto: or https: URIs. "" when valid, else why not.
std::string tlsrpt_problem(const std::string& text) {
  size_t pos = 0;
  bool first = true, have_rua = false;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    if (semi == std::string::npos) semi = text.size();
    std::string field = text.substr(pos, semi - pos);
    pos = semi + 1;
    while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.erase(0, 1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.pop_back();
    if (field.empty()) {
      if (first) return "it does not start with v=TLSRPTv1";
      continue;
    }
    if (first) {
      if (field != "v=TLSRPTv1") return "it does not start with v=TLSRPTv1";
      first = false;
      continue;
    }
    if (field.starts_with("rua=")) {
      if (have_rua) return "rua= is given twice";
      have_rua = true;
      std::string list = field.substr(4);
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string uri = list.substr(start, comma - start);
        while (!uri.empty() && uri.front() == ' ') uri.erase(0, 1);
        while (!uri.empty() && uri.back() == ' ') uri.pop_back();
        if (!(uri.starts_with("mailto:") && uri.find('@') != std::string::npos) &&
            !uri.starts_with("https://"))
          return fmt::format("rua URI '{}' is neither mailto: nor https:", uri.substr(0, 80));
        start = comma + 1;
      }
    }
  }
  if (!have_rua) return "it has no rua=";
  return "";
}

}  // namespace

asio::awaitable<void> check_sts(State& s) {
  const std::string name = "_mta-sts." + s.domain;
  const std::optional<sts::Policy>& ours = s.options.served_sts_policy;
  const std::string our_line = ours ? sts::txt_record_line(s.domain, *ours) : "";
  TxtResult txt = co_await s.dns.txt(name);
  if (txt.status == DnsStatus::kTempFail) {
    s.add(Level::kWarn, "sts", fmt::format("could not look up {}: {}", name, txt.error));
    co_return;
  }
  const sts::RecordResult record = txt.ok() ? sts::select_record(txt.records) : sts::RecordResult{};
  if (record.kind == sts::RecordResult::Kind::kNone) {
    // Optional: only a FAIL when this server serves a policy nobody can find.
    Finding& f = s.add(ours ? Level::kFail : Level::kOk, "sts",
                       fmt::format("{} has no MTA-STS record", s.domain));
    f.notes.push_back(
        "Without one, senders that could insist on verified TLS for mail to this domain "
        "(RFC 8461) fall back to opportunistic TLS, which anyone on the path can strip.");
    if (ours) {
      f.notes.push_back("This server serves a policy ([mta_sts] serve); publish its record:");
      f.publish.push_back(fmt::format("mta-sts.{}. IN CNAME {}.", s.domain, mail_host(s)));
      f.publish.push_back(our_line);
    } else {
      f.notes.push_back("Set [mta_sts] serve = true and run tern check again for the records.");
    }
    co_return;
  }
  if (record.kind == sts::RecordResult::Kind::kInvalid) {
    Finding& f = s.add(Level::kFail, "sts",
                       fmt::format("{} is not a valid MTA-STS record: {}", name, record.error));
    f.notes.push_back("Senders treat the domain as having no policy (RFC 8461 3.1).");
    if (ours) f.publish.push_back(our_line);
    co_return;
  }
  s.add(Level::kOk, "sts", fmt::format("{} has MTA-STS id={}", name, record.id));
  if (ours && record.id != sts::policy_id(*ours)) {
    Finding& f = s.add(Level::kWarn, "sts",
                       fmt::format("the published id {} is not the id of the policy this server "
                                   "serves ({})",
                                   record.id, sts::policy_id(*ours)));
    f.notes.push_back(
        "Senders refetch the policy only when the id changes (RFC 8461 3.1): publish the id "
        "of the policy served now.");
    f.publish.push_back(our_line);
  }
  if (!s.options.fetch_sts_policy) co_return;
  std::string error;
  std::optional<sts::Policy> p = co_await s.options.fetch_sts_policy(s.domain, &error);
  if (!p) {
    Finding& f = s.add(Level::kFail, "sts",
                       fmt::format("the policy at https://mta-sts.{}/.well-known/mta-sts.txt "
                                   "cannot be fetched: {}",
                                   s.domain, error));
    f.notes.push_back(
        "A record without a reachable policy is ignored by senders (RFC 8461 3.3). The "
        "policy host needs an address and a certificate for mta-sts." +
        s.domain + " that browsers trust.");
    co_return;
  }
  s.add(Level::kOk, "sts", "policy " + policy_summary(*p));
  if (ours && !(*p == *ours)) {
    Finding& f = s.add(
        Level::kWarn, "sts",
        "the policy fetched is not the one this server serves (" + policy_summary(*ours) + ")");
    f.notes.push_back("Is mta-sts." + s.domain + " pointing at another server?");
  }
  if (p->mode == sts::Mode::kNone) {
    s.add(Level::kWarn, "sts", "the policy's mode is none: MTA-STS is switched off");
    co_return;
  }
  for (const MxRecord& mx : s.mx_hosts) {
    if (p->allows(mx.host)) continue;
    Finding& f = s.add(p->mode == sts::Mode::kEnforce ? Level::kFail : Level::kWarn, "sts",
                       fmt::format("MX host {} is not in the policy's mx list", mx.host));
    f.notes.push_back(p->mode == sts::Mode::kEnforce
                          ? "Senders that enforce the policy will not deliver to it (RFC 8461 4.1)."
                          : "In enforce mode, senders would not deliver to it (RFC 8461 4.1).");
  }
  if (p->mode == sts::Mode::kTesting)
    s.add(Level::kOk, "sts",
          "mode testing: failures are only reported (switch to enforce once TLS-RPT reports "
          "are clean)");
}

asio::awaitable<void> check_tlsrpt(State& s) {
  const std::string name = "_smtp._tls." + s.domain;
  const std::string suggestion =
      txt_line(name, fmt::format("v=TLSRPTv1; rua=mailto:tls-reports@{}", s.domain));
  TxtResult txt = co_await s.dns.txt(name);
  if (txt.status == DnsStatus::kTempFail) {
    s.add(Level::kWarn, "tlsrpt", fmt::format("could not look up {}: {}", name, txt.error));
    co_return;
  }
  std::vector<std::string> records;
  if (txt.ok()) {
    for (const TxtRecord& r : txt.records) {
      const std::string text = txt_text(r);
      if (text.starts_with("v=TLSRPTv1")) records.push_back(text);
    }
  }
  if (records.empty()) {
    Finding& f = s.add(Level::kWarn, "tlsrpt", fmt::format("{} has no TLS-RPT record", s.domain));
    f.notes.push_back(
        "With one, senders report TLS failures of mail to this domain daily (RFC 8460): the "
        "way to learn that MTA-STS or DANE would refuse mail before it happens.");
    f.publish.push_back(suggestion);
    co_return;
  }
  if (records.size() > 1) {
    Finding& f = s.add(Level::kFail, "tlsrpt",
                       fmt::format("{} has {} TLS-RPT records", name, records.size()));
    f.notes.push_back("Senders ignore them all (RFC 8460 3); keep one.");
    co_return;
  }
  const std::string problem = tlsrpt_problem(records.front());
  if (!problem.empty()) {
    Finding& f = s.add(Level::kFail, "tlsrpt",
                       fmt::format("{} is not a valid TLS-RPT record: {}", name, problem));
    f.publish.push_back(suggestion);
    co_return;
  }
  s.add(Level::kOk, "tlsrpt", fmt::format("{} has \"{}\"", name, records.front()));
}

namespace {

// Does `r` hold "3 1 1 <hex>" (hex as tern computes it, lower case)?
bool has_3_1_1(const TlsaResult& r, const std::string& hex) {
  for (const TlsaRecord& t : r.records) {
    if (t.usage != 3 || t.selector != 1 || t.matching != 1) continue;
    std::string got;
    for (unsigned char c : t.data) got += fmt::format("{:02x}", c);
    if (got == hex) return true;
  }
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// RFC 7672 3.1: what DANE senders find at _25._tcp.<mail host>. A secure
// RRset without our key makes them defer every message (2.2.3); an
// unsigned one they ignore.
asio::awaitable<void> check_dane(State& s) {
  const std::string host = mail_host(s);
  const std::string owner = fmt::format("_25._tcp.{}.", host);
  if (s.options.tlsa_current.empty()) {
    if (s.options.cert_missing) {
      s.add(Level::kOk, "dane",
            "this server has no certificate yet (made or issued at the first start): run tern "
            "check again then for its TLSA record");
    } else if (!s.options.cert_problem.empty()) {
      s.add(Level::kWarn, "dane",
            "the TLSA record of this server cannot be computed: " + s.options.cert_problem);
    }
    co_return;
  }
  const std::string current = fmt::format("{} IN TLSA 3 1 1 {}", owner, s.options.tlsa_current);
  const TlsaResult tlsa = co_await s.dns.tlsa(fmt::format("_25._tcp.{}", host));
  const bool ours = tlsa.ok() && has_3_1_1(tlsa, lower(s.options.tlsa_current));
  if (tlsa.status == DnsStatus::kTempFail) {
    s.add(Level::kWarn, "dane",
          fmt::format("this server's key: {} (the TLSA lookup failed: {})", current, tlsa.error))
        .publish.push_back(current);
  } else if (ours && tlsa.secure()) {
    s.add(Level::kOk, "dane", fmt::format("this server's key: {} (published, signed)", current));
  } else if (ours) {
    Finding& f = s.add(Level::kWarn, "dane",
                       fmt::format("this server's key: {} (published, but the zone is not "
                                   "DNSSEC-signed: DANE senders ignore it)",
                                   current));
    f.notes.push_back("Sign the zone (DNSSEC) for DANE (RFC 7672 2.2).");
  } else if (tlsa.ok()) {
    // 2.2.3: a secure RRset none of whose records matches: DANE senders defer.
    Finding& f = s.add(
        tlsa.secure() ? Level::kFail : Level::kWarn, "dane",
        fmt::format("this server's key: {} ({} has TLSA records, none for this "
                    "key{})",
                    current, owner, tlsa.secure() ? ": DANE senders will defer all mail" : ""));
    f.publish.push_back(current);
  } else {
    Finding& f = s.add(Level::kOk, "dane", "this server's key: " + current);
    f.notes.push_back(
        "For DANE (RFC 7672), publish it in a DNSSEC-signed zone; it stays valid across "
        "certificate renewals while the key is kept.");
    f.publish.push_back(current);
  }
  if (!s.options.tlsa_next.empty() && s.options.tlsa_next != s.options.tlsa_current) {
    const std::string next = fmt::format("{} IN TLSA 3 1 1 {}", owner, s.options.tlsa_next);
    if (tlsa.ok() && has_3_1_1(tlsa, lower(s.options.tlsa_next))) {
      s.add(Level::kOk, "dane", "the next key (tern acme rollkey) is published too: " + next);
      co_return;
    }
    Finding& w = s.add(Level::kWarn, "dane",
                       "the key is about to change: a next key is staged (tern acme rollkey)");
    w.notes.push_back(
        "Publish the next record beside the current one and wait for its TTL before the "
        "reload that switches keys (docs/acme.md), or DANE senders will defer mail.");
    w.publish.push_back(next);
  }
}

}  // namespace tern::check::internal

namespace tern::check {

std::string tlsa_3_1_1_of_certificate(std::string_view pem, std::string* error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (cert == nullptr) {
    *error = "no PEM certificate";
    return "";
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  X509_free(cert);
  if (len <= 0) {
    *error = "cannot encode the public key";
    return "";
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned char c : digest) hex += fmt::format("{:02x}", c);
  return hex;
}

}  // namespace tern::check
