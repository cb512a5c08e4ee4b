// The set-up doctor's sender-authentication checks: SPF (RFC 7208), DKIM
// keys (RFC 6376 3.6) and DMARC (RFC 7489). See check/doctor.h.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "check/doctor_internal.h"
#include "core/ascii.h"
#include "dkim/key_record.h"
#include "dmarc/org_domain.h"
#include "dmarc/record.h"
#include "spf/check.h"
#include "spf/record.h"

namespace tern::check::internal {
namespace {

// `record` with `terms` put right after "v=spf1", so that they match
// before anything else (and before the final "all").
std::string with_terms(const std::string& record, const std::string& terms) {
  const size_t space = record.find(' ');
  if (space == std::string::npos) return record + terms;
  return record.substr(0, space) + terms + record.substr(space);
}

std::string address_terms(const std::vector<asio::ip::address>& addresses) {
  std::string terms;
  for (const asio::ip::address& a : addresses) {
    terms += (a.is_v4() ? " ip4:" : " ip6:") + a.to_string();
  }
  return terms;
}

// One record out of several (RFC 7208 4.5 allows one): the terms of all of
// them but "all", each once, in order, then what this server needs (its
// addresses, or "mx" when it is an MX host), then the strictest "all" they
// had ("-all" when none had one).
std::string merged_spf(const State& s, const std::vector<std::string>& records) {
  std::vector<std::string> terms;
  std::string all = "-all";
  bool strict = false;
  for (const std::string& record : records) {
    size_t pos = record.find(' ');
    while (pos != std::string::npos && pos < record.size()) {
      const size_t start = record.find_first_not_of(' ', pos);
      if (start == std::string::npos) break;
      pos = record.find(' ', start);
      const std::string term = record.substr(start, pos == std::string::npos ? pos : pos - start);
      const std::string bare = ascii_lower(term.front() == '+' || term.front() == '-' ||
                                                   term.front() == '~' || term.front() == '?'
                                               ? term.substr(1)
                                               : term);
      if (bare == "all") {
        if (term.front() == '-') strict = true;
        if (!strict) all = term.front() == '~' ? "~all" : all;
        continue;
      }
      if (std::find(terms.begin(), terms.end(), term) == terms.end()) terms.push_back(term);
    }
  }
  if (strict) all = "-all";
  std::vector<std::string> ours;
  if (s.our_host_is_mx || s.ours.empty()) {
    ours.push_back("mx");
  } else {
    for (const asio::ip::address& a : s.ours) {
      ours.push_back((a.is_v4() ? "ip4:" : "ip6:") + a.to_string());
    }
  }
  for (const std::string& term : ours) {
    if (std::find(terms.begin(), terms.end(), term) == terms.end()) terms.push_back(term);
  }
  std::string out = "v=spf1";
  for (const std::string& term : terms) out += " " + term;
  return out + " " + all;
}

// What the "all" at the end of a record says, as a finding when it is
// not "-all" or "~all".
void check_all(State& s, const spf::Record& record, const std::string& text) {
  const spf::Mechanism* all = nullptr;
  for (const spf::Mechanism& m : record.mechanisms) {
    if (m.kind == spf::MechanismKind::kAll) all = &m;
  }
  if (all && all->qualifier == spf::Qualifier::kPass) {
    Finding& f = s.add(Level::kFail, "spf",
                       fmt::format("the SPF record of {} ends in {}: every host on the internet "
                                   "may send mail as {}",
                                   s.domain, all->text, s.domain));
    f.notes = {"found: " + text, "End it in -all (or ~all while testing):"};
    f.publish = {txt_line(s.domain, spf_suggestion(s))};
  } else if (all && all->qualifier == spf::Qualifier::kNeutral) {
    s.add(Level::kWarn, "spf",
          fmt::format("the SPF record of {} ends in {}: it says nothing about other hosts",
                      s.domain, all->text))
        .notes = {"found: " + text, "End it in -all (or ~all) so that forgeries fail."};
  } else if (!all && !record.redirect) {
    s.add(Level::kWarn, "spf",
          fmt::format("the SPF record of {} has no \"all\" at its end: mail from other hosts is "
                      "neutral",
                      s.domain))
        .notes = {"found: " + text, "End it in -all (or ~all) so that forgeries fail."};
  }
}

// check_host() for one address of this server.
asio::awaitable<void> check_address(State& s, asio::ip::address address, std::string text) {
  spf::CheckOptions options;
  options.receiver = mail_host(s);
  options.timestamp = s.options.now;
  const spf::CheckResult r = co_await spf::check_host(
      s.dns, address, s.domain, "postmaster@" + s.domain, mail_host(s), options);
  const std::string ip = address.to_string();
  const std::string lookups = fmt::format("{} of 10 DNS lookups", r.dns_mechanisms);
  ++s.bulk.spf_checked;
  switch (r.result) {
    case spf::Result::kPass:
      ++s.bulk.spf_passed;
      s.add(Level::kOk, "spf",
            fmt::format("SPF of {} passes for this server's address {} ({}{}; {})", s.domain, ip,
                        r.mechanism, r.domain == s.domain ? "" : " in " + r.domain, lookups));
      co_return;
    case spf::Result::kTempError:
      s.add(Level::kWarn, "spf",
            fmt::format("could not evaluate the SPF record of {} for {}: {}", s.domain, ip,
                        r.problem));
      co_return;
    case spf::Result::kPermError: {
      Finding& f = s.add(Level::kFail, "spf",
                         fmt::format("the SPF record of {} is broken: {}", s.domain, r.problem));
      f.notes = {"found: " + text,
                 "Receivers treat it as a permanent error (RFC 7208 2.6.7). Simplify it, "
                 "e.g.:"};
      f.publish = {txt_line(s.domain, spf_suggestion(s))};
      co_return;
    }
    default: {
      Finding& f =
          s.add(Level::kFail, "spf",
                fmt::format("SPF of {} does not authorise this server's address {} (result {}{})",
                            s.domain, ip, spf::result_name(r.result),
                            r.mechanism.empty() ? "" : ", " + r.mechanism));
      f.notes = {"found: " + text, "Mail from this server will fail SPF. Add the address:"};
      f.publish = {txt_line(s.domain, with_terms(text, address_terms({address})))};
      co_return;
    }
  }
}

// One local key against what is published at <selector>._domainkey.<domain>.
asio::awaitable<void> check_key(State& s, const LocalKey& k) {
  const std::string name = fmt::format("{}._domainkey.{}", k.selector, s.domain);
  const std::string record = dkim::dns_txt_record(s.domain, k.selector, k.key);
  const std::string what =
      fmt::format("selector {} ({} key {}{})", k.selector, dkim::key_type_name(k.key.type()),
                  k.path, k.signing ? "" : "; not used for signing: a newer key of its type is");
  // A key that no longer signs only matters to mail signed with it before.
  const Level missing = k.signing ? Level::kFail : Level::kWarn;
  TxtResult t = co_await s.dns.txt(name);
  if (t.status == DnsStatus::kTempFail) {
    s.add(Level::kFail, "dkim", fmt::format("could not look up {}: {}", name, t.error));
    co_return;
  }
  const std::vector<std::string> records = txt_texts(t);
  if (records.empty()) {
    Finding& f = s.add(missing, "dkim", fmt::format("{}: nothing published at {}", what, name));
    f.notes = {"Receivers cannot verify the signatures made with it. Publish:"};
    f.publish = {record};
    co_return;
  }
  // Proof of possession instead of comparing encodings: the published key
  // must verify a signature made with ours (an RSA key may be published as
  // SubjectPublicKeyInfo or bare RSAPublicKey).
  const std::string probe = "tern check " + name;
  std::string signature;
  (void)k.key.sign(probe, &signature);
  std::string problem;
  bool matched = false, testing = false;
  for (const std::string& text : records) {
    dkim::KeyRecord kr;
    if (Status st = dkim::parse_key_record(text, &kr); !st.ok()) {
      problem = "the record there does not parse: " + st.message();
      continue;
    }
    if (kr.revoked()) {
      problem = "the record there revokes the key (empty p=)";
      continue;
    }
    dkim::PublicKey pub;
    if (kr.type != k.key.type() ||
        !dkim::PublicKey::from_record_data(kr.type, kr.public_key, &pub).ok() ||
        !pub.verify(probe, signature)) {
      problem = "the key published there is not this key";
      continue;
    }
    matched = true;
    testing = kr.testing;
  }
  if (!matched) {
    Finding& f = s.add(missing, "dkim", fmt::format("{}: {}", what, problem));
    f.notes = {"found: " + records.front(), "Signatures made with this key fail. Publish instead:"};
    f.publish = {record};
    co_return;
  }
  if (records.size() > 1) {
    s.add(Level::kWarn, "dkim", fmt::format("{} has {} TXT records", name, records.size())).notes =
        {"Verifiers may use any one of them (RFC 6376 3.6.2.2): keep only the key "
         "record."};
  }
  if (testing) {
    s.add(Level::kWarn, "dkim", fmt::format("{}: published with t=y (testing)", what)).notes = {
        "Some receivers ignore signatures in test mode; drop t=y once it works."};
    co_return;
  }
  s.add(Level::kOk, "dkim", fmt::format("{}: published at {} and matches", what, name));
  if (k.signing) s.bulk.dkim_signing_ok = true;
}

// The DMARC record to suggest: `policy`, and the rua= of `old` when it has
// one, else reports to postmaster@<domain>.
std::string dmarc_suggestion(const std::string& domain, const char* policy,
                             const dmarc::Record* old) {
  std::string rua;
  if (old) {
    for (const dmarc::ReportUri& u : old->rua) rua += (rua.empty() ? "" : ",") + u.text();
  }
  if (rua.empty()) rua = "mailto:postmaster@" + domain;
  return fmt::format("v=DMARC1; p={}; rua={}", policy, rua);
}

}  // namespace

asio::awaitable<void> check_spf(State& s) {
  TxtResult t = co_await s.dns.txt(s.domain);
  if (t.status == DnsStatus::kTempFail) {
    s.add(Level::kFail, "spf",
          fmt::format("could not look up the TXT records of {}: {}", s.domain, t.error));
    co_return;
  }
  const std::string suggestion = txt_line(s.domain, spf_suggestion(s));
  const std::string alternative = s.ours.empty() ? "" : "v=spf1" + address_terms(s.ours) + " -all";
  const spf::RecordSelection selection = spf::select_record(t.records);
  if (selection.status == spf::RecordSelection::kNone) {
    Finding& f = s.add(Level::kFail, "spf", fmt::format("{} has no SPF record", s.domain));
    f.notes = {
        "Without one, receivers cannot tell mail from this server from forgeries; many "
        "junk or refuse it. Publish:"};
    f.publish = {suggestion};
    if (!alternative.empty() && alternative != spf_suggestion(s)) {
      f.notes.push_back("(or, naming the addresses and saving a lookup: \"" + alternative + "\")");
    }
    co_return;
  }
  if (selection.status == spf::RecordSelection::kMultiple) {
    Finding& f = s.add(Level::kFail, "spf",
                       fmt::format("{} has more than one SPF record: receivers treat that as "
                                   "an error (RFC 7208 4.5)",
                                   s.domain));
    std::vector<std::string> found;
    for (const std::string& text : txt_texts(t)) {
      if (spf::is_spf_record(text)) found.push_back(text);
    }
    for (const std::string& text : found) f.notes.push_back("found: " + text);
    f.notes.push_back("Merge them into one:");
    f.publish = {txt_line(s.domain, merged_spf(s, found))};
    co_return;
  }
  const spf::ParsedRecord parsed = spf::parse_record(selection.text);
  if (!parsed.record) {
    Finding& f =
        s.add(Level::kFail, "spf",
              fmt::format("the SPF record of {} does not parse: {}", s.domain, parsed.error));
    f.notes = {"found: " + selection.text, "Receivers treat it as a permanent error. Publish:"};
    f.publish = {suggestion};
    co_return;
  }
  check_all(s, *parsed.record, selection.text);
  if (s.ours.empty()) {
    s.add(Level::kWarn, "spf",
          fmt::format("cannot tell whether SPF of {} lets this server send: no address known for "
                      "it",
                      s.domain));
    co_return;
  }
  for (const asio::ip::address& a : s.ours) co_await check_address(s, a, selection.text);
}

asio::awaitable<void> check_dkim(State& s) {
  for (const std::string& p : s.options.key_problems) s.add(Level::kWarn, "dkim", p);
  if (s.options.dkim_keys.empty()) {
    Finding& f = s.add(
        Level::kFail, "dkim",
        fmt::format("no DKIM key for {}{}", s.domain,
                    s.options.dkim_dir.empty() ? std::string()
                                               : " in " + s.options.dkim_dir + "/" + s.domain));
    f.notes = {
        "Mail from this server goes out unsigned; many receivers junk it, and DMARC "
        "cannot pass when it is forwarded.",
        "Make a key with `tern dkim keygen " + s.domain +
            "`, publish the TXT record it prints, and reload the server (SIGHUP)."};
    co_return;
  }
  for (const LocalKey& k : s.options.dkim_keys) co_await check_key(s, k);
}

asio::awaitable<void> check_dmarc(State& s) {
  std::string name = "_dmarc." + s.domain;
  const std::string suggested_name = name;
  TxtResult t = co_await s.dns.txt(name);
  if (t.status == DnsStatus::kTempFail) {
    s.add(Level::kFail, "dmarc", fmt::format("could not look up {}: {}", name, t.error));
    co_return;
  }
  std::vector<std::string> records;
  for (const std::string& text : txt_texts(t)) {
    if (dmarc::is_dmarc_record(text)) records.push_back(text);
  }
  // RFC 7489 6.6.3: without a record of its own, the organizational
  // domain's record applies (its sp=, when given).
  bool inherited = false;
  const std::string org = dmarc::organizational_domain(s.domain);
  if (records.empty() && !org.empty() && org != s.domain) {
    name = "_dmarc." + org;
    TxtResult o = co_await s.dns.txt(name);
    for (const std::string& text : txt_texts(o)) {
      if (dmarc::is_dmarc_record(text)) records.push_back(text);
    }
    inherited = !records.empty();
  }
  // The domain whose record this is: reports go to its postmaster.
  const std::string owner = inherited ? org : s.domain;
  if (records.empty()) {
    Finding& f = s.add(Level::kFail, "dmarc", fmt::format("{} has no DMARC record", s.domain));
    f.notes = {
        "DMARC tells receivers what to do with mail that fails SPF and DKIM for your "
        "domain, and sends you daily reports.",
        "Start by only watching; once the reports show all your mail passing, tighten it "
        "to p=quarantine, then p=reject:"};
    f.publish = {txt_line(suggested_name, dmarc_suggestion(s.domain, "none", nullptr))};
    co_return;
  }
  if (records.size() > 1) {
    Finding& f = s.add(Level::kFail, "dmarc",
                       fmt::format("{} has {} DMARC records: receivers then apply none (RFC "
                                   "7489 6.6.3)",
                                   name, records.size()));
    for (const std::string& r : records) f.notes.push_back("found: " + r);
    f.notes.push_back("Keep one, e.g.:");
    f.publish = {txt_line(name, dmarc_suggestion(owner, "none", nullptr))};
    co_return;
  }
  std::string error;
  const std::optional<dmarc::Record> record = dmarc::parse_record(records.front(), &error);
  if (!record) {
    Finding& f = s.add(Level::kFail, "dmarc",
                       fmt::format("the DMARC record at {} does not parse: {}", name, error));
    f.notes = {"found: " + records.front(), "Publish instead:"};
    f.publish = {txt_line(name, dmarc_suggestion(owner, "none", nullptr))};
    co_return;
  }
  const dmarc::Policy policy = inherited && record->sp ? *record->sp : record->p;
  s.bulk.dmarc_policy = dmarc::policy_name(policy);
  const std::string where = inherited ? fmt::format("{} (the record of {} applies{})", s.domain,
                                                    org, record->sp ? ", its sp=" : "")
                                      : s.domain;
  std::string rua;
  for (const dmarc::ReportUri& u : record->rua) rua += (rua.empty() ? "" : ", ") + u.address;
  if (policy == dmarc::Policy::kNone) {
    Finding& f = s.add(Level::kWarn, "dmarc",
                       fmt::format("DMARC of {} is p=none: only watching, failing mail is "
                                   "delivered as usual",
                                   where));
    f.notes = {"found: " + records.front(),
               "Once the aggregate reports show all your mail passing, move to p=quarantine "
               "(then p=reject):"};
    f.publish = {txt_line(inherited ? suggested_name : name,
                          dmarc_suggestion(s.domain, "quarantine", &*record))};
  } else {
    s.add(Level::kOk, "dmarc",
          fmt::format("DMARC of {}: p={}, adkim={}, aspf={}{}", where, dmarc::policy_name(policy),
                      dmarc::alignment_name(record->adkim), dmarc::alignment_name(record->aspf),
                      rua.empty() ? "" : ", reports to " + rua));
  }
  for (const std::string& w : record->warnings) {
    s.add(Level::kWarn, "dmarc", fmt::format("the DMARC record at {}: {}", name, w));
  }
  if (record->pct < 100) {
    s.add(Level::kWarn, "dmarc",
          fmt::format("the DMARC record at {} has pct={}: the policy covers only {}% of failing "
                      "mail",
                      name, record->pct, record->pct))
        .notes = {"Drop pct= (100) once you are confident."};
  }
  if (record->rua.empty()) {
    Finding& f = s.add(Level::kWarn, "dmarc",
                       fmt::format("the DMARC record at {} has no rua=: nobody receives the "
                                   "aggregate reports",
                                   name));
    f.notes = {"They show who sends mail as your domain and whether it passes. Add one:"};
    std::string text = records.front();
    while (!text.empty() && (text.back() == ';' || text.back() == ' ' || text.back() == '\t')) {
      text.pop_back();
    }
    f.publish = {txt_line(name, text + "; rua=mailto:postmaster@" + owner)};
  }
}

}  // namespace tern::check::internal
