// The set-up doctor: MX records, their hosts' addresses, reverse DNS, and
// the order of all checks. SPF, DKIM and DMARC are in doctor_policy.cc.
#include "check/doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "check/doctor_internal.h"
#include "core/ascii.h"
#include "dkim/key_store.h"
#include "dns/rdata.h"

namespace tern::check {

using internal::State;

const char* level_name(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kFail:
      return "FAIL";
  }
  return "FAIL";
}

bool any_failed(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.level == Level::kFail; });
}

namespace internal {

Finding& State::add(Level level, std::string topic, std::string summary) {
  Finding f;
  f.level = level;
  f.topic = std::move(topic);
  f.summary = std::move(summary);
  findings.push_back(std::move(f));
  return findings.back();
}

std::string mail_host(const State& s) {
  return s.options.hostname.empty() ? "mail." + s.domain : normalize_name(s.options.hostname);
}

std::string txt_line(std::string_view name, std::string_view text) {
  std::string out = fmt::format("{}. IN TXT", name);
  for (const std::string& part : dkim::split_txt_strings(text)) {
    out += " \"";
    for (char c : part) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

std::string spf_suggestion(const State& s) {
  if (s.our_host_is_mx || s.ours.empty()) return "v=spf1 mx -all";
  std::string terms;
  for (const asio::ip::address& a : s.ours)
    terms += (a.is_v4() ? " ip4:" : " ip6:") + a.to_string();
  return "v=spf1" + terms + " -all";
}

bool same_name(std::string_view a, std::string_view b) {
  return !a.empty() && normalize_name(a) == normalize_name(b);
}

}  // namespace internal

namespace {

namespace fs = std::filesystem;

std::string join(const std::vector<asio::ip::address>& addresses) {
  std::string out;
  for (const asio::ip::address& a : addresses) out += (out.empty() ? "" : ", ") + a.to_string();
  return out;
}

// The reverse DNS of `address`: a PTR record whose name resolves back to
// it (forward-confirmed). `ours` is this server's hostname when the
// address is this server's (the PTR should then be that name: receivers
// compare it with EHLO), else "".
asio::awaitable<void> check_ptr(State& s, asio::ip::address address, std::string host,
                                std::string ours) {
  const std::string reverse = reverse_name(address);
  const std::string wanted = ours.empty() ? host : ours;
  if (!ours.empty()) ++s.bulk.ptr_checked;
  NameResult ptr = co_await s.dns.ptr(address);
  if (ptr.status == DnsStatus::kTempFail) {
    s.add(
        Level::kWarn, "ptr",
        fmt::format("could not look up the reverse DNS of {}: {}", address.to_string(), ptr.error));
    co_return;
  }
  if (!ptr.ok()) {
    Finding& f =
        s.add(Level::kFail, "ptr",
              fmt::format("{} ({}) has no reverse DNS (PTR record)", address.to_string(), host));
    f.notes = {"Many receivers refuse or junk mail from an address without one.",
               "The PTR record is set by whoever holds the address (your hosting provider's "
               "panel or support), not in the domain's zone:"};
    f.publish = {fmt::format("{}. IN PTR {}.", reverse, wanted)};
    co_return;
  }
  // FCrDNS: one of the PTR names must have the address among its own.
  std::string confirmed;
  for (const std::string& name : ptr.records) {
    AddressResult forward;
    if (address.is_v4()) {
      forward = co_await s.dns.a(name);
    } else {
      forward = co_await s.dns.aaaa(name);
    }
    if (std::find(forward.records.begin(), forward.records.end(), address) !=
        forward.records.end()) {
      confirmed = name;
      break;
    }
  }
  const std::string first = ptr.records.front();
  if (!ours.empty() && internal::same_name(confirmed, ours)) ++s.bulk.ptr_matching;
  if (confirmed.empty()) {
    Finding& f = s.add(Level::kFail, "ptr",
                       fmt::format("{} has reverse DNS {}, but {} does not resolve back to {}",
                                   address.to_string(), first, first, address.to_string()));
    f.notes = {
        "Receivers check that the PTR name leads back to the address (forward-confirmed "
        "reverse DNS). Publish the address under that name, or have the PTR changed to " +
        wanted + ":"};
    f.publish = {
        fmt::format("{}. IN {} {}", first, address.is_v4() ? "A" : "AAAA", address.to_string())};
    co_return;
  }
  if (!ours.empty() && !internal::same_name(confirmed, ours)) {
    Finding& f = s.add(Level::kWarn, "ptr",
                       fmt::format("{} has reverse DNS {}, not this server's hostname {}",
                                   address.to_string(), confirmed, ours));
    f.notes = {
        "Receivers compare it with the name this server gives in EHLO. Have the PTR "
        "changed (or set hostname = \"" +
        confirmed + "\" in the config):"};
    f.publish = {fmt::format("{}. IN PTR {}.", reverse, ours)};
    co_return;
  }
  s.add(Level::kOk, "ptr",
        fmt::format("{} has reverse DNS {}, which resolves back to it", address.to_string(),
                    confirmed));
}

// One host: an MX host (`preference` >= 0) or this server's own name
// (preference -1). Records this server's addresses in s.ours.
asio::awaitable<void> check_host(State& s, std::string host, int preference) {
  const bool mx = preference >= 0;
  std::error_code ec;
  (void)asio::ip::make_address(host, ec);
  if (!ec) {
    Finding& f = s.add(Level::kFail, "mx",
                       fmt::format("MX host {} is an IP address, not a host name", host));
    f.notes = {
        "An MX record must name a host (RFC 5321 5.1); many senders ignore this one. "
        "Publish instead:"};
    f.publish = {fmt::format("{}. IN MX {} {}.", s.domain, preference, internal::mail_host(s))};
    co_return;
  }
  AddressResult a = co_await s.dns.a(host);
  AddressResult aaaa = co_await s.dns.aaaa(host);
  std::vector<asio::ip::address> addresses = a.records;
  addresses.insert(addresses.end(), aaaa.records.begin(), aaaa.records.end());
  const std::string what = mx ? "MX host " + host : "this server's hostname " + host;
  if (addresses.empty()) {
    if (a.status == DnsStatus::kTempFail || aaaa.status == DnsStatus::kTempFail) {
      s.add(Level::kFail, "host",
            fmt::format("could not look up the addresses of {}: {}", what,
                        a.status == DnsStatus::kTempFail ? a.error : aaaa.error));
      co_return;
    }
    Finding& f = s.add(mx ? Level::kFail : Level::kWarn, "host",
                       fmt::format("{} has no address (no A or AAAA record)", what));
    f.notes = {mx ? "Mail to " + s.domain + " cannot be delivered there."
                  : "Receivers check that the name given in EHLO exists.",
               "Publish an A record (and AAAA, with IPv6) for " + host +
                   " with the server's public address."};
    co_return;
  }
  const std::string canonical = a.ok() ? a.canonical_name : aaaa.canonical_name;
  if (mx && !canonical.empty() && !internal::same_name(canonical, host)) {
    Finding& f = s.add(Level::kWarn, "mx",
                       fmt::format("MX host {} is an alias (CNAME) of {}", host, canonical));
    f.notes = {
        "An MX record must name the host itself, not an alias (RFC 2181 10.3, RFC 5321 "
        "5.1); some senders refuse it. Publish instead:"};
    f.publish = {fmt::format("{}. IN MX {} {}.", s.domain, preference, canonical)};
  }
  s.add(Level::kOk, "host", fmt::format("{} has address {}", what, join(addresses)));
  const bool ours =
      !s.options.hostname.empty() && (internal::same_name(host, s.options.hostname) ||
                                      internal::same_name(canonical, s.options.hostname));
  if (ours) {
    s.our_host_is_mx = s.our_host_is_mx || mx;
    for (const asio::ip::address& addr : addresses) {
      if (std::find(s.ours.begin(), s.ours.end(), addr) == s.ours.end()) s.ours.push_back(addr);
    }
  }
  const std::string our_name = ours ? normalize_name(s.options.hostname) : std::string();
  for (const asio::ip::address& addr : addresses) {
    co_await check_ptr(s, addr, host, our_name);
  }
}

asio::awaitable<void> check_mx(State& s) {
  const std::string suggested = fmt::format("{}. IN MX 10 {}.", s.domain, internal::mail_host(s));
  MxResult mx = co_await s.dns.mx(s.domain);
  if (mx.status == DnsStatus::kTempFail) {
    s.add(Level::kFail, "mx",
          fmt::format("could not look up the MX records of {}: {}", s.domain, mx.error));
    co_return;
  }
  if (mx.status == DnsStatus::kNxDomain) {
    Finding& f = s.add(Level::kFail, "mx", fmt::format("{} does not exist in DNS", s.domain));
    f.notes = {
        "Check the spelling; a registered domain needs its zone served by its DNS "
        "host, with at least:"};
    f.publish = {suggested};
    co_return;
  }
  if (mx.status == DnsStatus::kNoData) {
    AddressResult a = co_await s.dns.a(s.domain);
    AddressResult aaaa = co_await s.dns.aaaa(s.domain);
    if (a.ok() || aaaa.ok()) {
      Finding& f = s.add(Level::kWarn, "mx",
                         fmt::format("{} has no MX record; senders fall back to its own "
                                     "address (implicit MX, RFC 5321 5.1)",
                                     s.domain));
      f.notes = {"Name the mail server explicitly:"};
      f.publish = {suggested};
      s.mx_hosts.push_back({10, s.domain});
    } else {
      Finding& f = s.add(Level::kFail, "mx",
                         fmt::format("{} has no MX record and no address: mail to it cannot be "
                                     "delivered",
                                     s.domain));
      f.notes = {"Publish:"};
      f.publish = {suggested};
    }
    co_return;
  }
  std::vector<MxRecord> records = mx.records;
  std::stable_sort(records.begin(), records.end(), [](const MxRecord& x, const MxRecord& y) {
    return x.preference < y.preference;
  });
  std::string list;
  bool null_mx = false;
  for (const MxRecord& r : records) {
    if (r.host == "." || r.host.empty()) {
      null_mx = true;
      continue;
    }
    list += fmt::format("{}{} {}", list.empty() ? "" : ", ", r.preference, r.host);
  }
  if (null_mx && list.empty()) {
    Finding& f =
        s.add(Level::kFail, "mx",
              fmt::format("{} has a null MX (RFC 7505): it says it accepts no mail", s.domain));
    f.notes = {"Replace \"MX 0 .\" with the mail server:"};
    f.publish = {suggested};
    co_return;
  }
  if (null_mx) {
    Finding& f = s.add(Level::kFail, "mx",
                       fmt::format("{} has a null MX among other MX records ({})", s.domain, list));
    f.notes = {
        "A null MX must be the only MX record (RFC 7505 3); senders may treat the domain "
        "as accepting no mail. Remove the record \"MX 0 .\"."};
  } else {
    s.add(Level::kOk, "mx", fmt::format("{} has MX {}", s.domain, list));
  }
  for (const MxRecord& r : records) {
    if (r.host != "." && !r.host.empty()) s.mx_hosts.push_back(r);
  }
}

// The MX hosts, then this server's own name when it is not one of them.
asio::awaitable<void> check_hosts(State& s) {
  for (const MxRecord& r : s.mx_hosts) co_await check_host(s, r.host, r.preference);
  const std::string& hostname = s.options.hostname;
  if (hostname.empty()) {
    s.add(Level::kWarn, "host", "this server's hostname is not known (set hostname in the config)");
    co_return;
  }
  if (hostname.find('.') == std::string::npos) {
    s.add(Level::kWarn, "host",
          fmt::format("this server's hostname {} is not a fully qualified domain name", hostname))
        .notes = {
        "Receivers expect a name that exists in DNS in EHLO: set hostname in the "
        "config."};
  }
  if (s.our_host_is_mx) co_return;
  if (!s.mx_hosts.empty()) {
    Finding& f =
        s.add(Level::kWarn, "mx",
              fmt::format("none of the MX hosts of {} is this server ({})", s.domain, hostname));
    f.notes = {"Fine if another server receives the mail for " + s.domain +
               ". For this one to receive it, publish:"};
    f.publish = {fmt::format("{}. IN MX 10 {}.", s.domain, normalize_name(hostname))};
  }
  co_await check_host(s, hostname, -1);
}

}  // namespace

std::vector<LocalKey> load_local_keys(const std::string& data_dir, std::string_view domain,
                                      std::vector<std::string>* problems) {
  std::vector<LocalKey> out;
  const std::string wanted = ascii_lower(domain);
  const std::string dkim_dir = data_dir + "/dkim";
  std::error_code ec;
  if (!fs::is_directory(dkim_dir, ec)) return out;
  // The signing keys, as the server picks them (the newest of each type).
  std::vector<std::string> ignored;
  const dkim::KeyStore store = dkim::KeyStore::load(dkim_dir, &ignored);
  for (const fs::directory_entry& d : fs::directory_iterator(dkim_dir, ec)) {
    if (!d.is_directory(ec) || ascii_lower(d.path().filename().string()) != wanted) continue;
    for (const fs::directory_entry& f : fs::directory_iterator(d.path(), ec)) {
      const std::string file = f.path().filename().string();
      if (file.starts_with(".") || !file.ends_with(".key")) continue;
      LocalKey k;
      k.selector = ascii_lower(file.substr(0, file.size() - 4));
      k.path = f.path().string();
      if (!dkim::valid_domain(k.selector, 1)) {
        problems->push_back(k.path + ": not a valid selector, not used");
        continue;
      }
      std::ifstream in(k.path, std::ios::binary);
      std::ostringstream pem;
      pem << in.rdbuf();
      if (!in) {
        problems->push_back(k.path + ": cannot be read");
        continue;
      }
      if (Status st = dkim::PrivateKey::from_pem(pem.str(), &k.key); !st.ok()) {
        problems->push_back(k.path + ": " + st.message() + ", not used");
        continue;
      }
      k.signing = false;
      for (const dkim::SigningKey& s : store.keys_for(wanted)) {
        if (s.selector == k.selector) k.signing = true;
      }
      out.push_back(std::move(k));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LocalKey& a, const LocalKey& b) { return a.selector < b.selector; });
  return out;
}

asio::awaitable<std::vector<Finding>> run_checks(DnsLookup& dns, std::string domain,
                                                 DoctorOptions options) {
  State s{dns, normalize_name(domain), std::move(options), {}, {}, false, {}};
  co_await check_mx(s);
  co_await check_hosts(s);
  co_await internal::check_spf(s);
  co_await internal::check_dkim(s);
  co_await internal::check_dmarc(s);
  co_await internal::check_sts(s);
  co_await internal::check_tlsrpt(s);
  co_await internal::check_dane(s);
  if (s.options.bulk) internal::check_bulk(s);
  co_return std::move(s.findings);
}

}  // namespace tern::check
