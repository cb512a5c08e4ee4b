// The DNS records and next steps `tern init` prints (records.h).
#include "init/records.h"

#include <fmt/format.h>

#include <algorithm>

#include "dns/rdata.h"
#include "sts/publish.h"

namespace tern::init {
namespace {

bool worth_publishing(const asio::ip::address& a) {
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast()) return false;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return !(b[0] == 169 && b[1] == 254);  // link-local, RFC 3927
  }
  const asio::ip::address_v6 v6 = a.to_v6();
  return !v6.is_link_local() && !v6.is_v4_mapped();
}

}  // namespace

bool is_private(const asio::ip::address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64);
  }
  return (a.to_v6().to_bytes()[0] & 0xfe) == 0xfc;
}

std::vector<asio::ip::address> public_addresses(const std::vector<asio::ip::address>& all) {
  std::vector<asio::ip::address> out;
  for (const asio::ip::address& a : all) {
    if (worth_publishing(a) && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

std::string render_records(const RecordInputs& in) {
  const std::string& d = in.domain;
  const std::string& h = in.hostname;
  const std::vector<asio::ip::address> addresses = public_addresses(in.addresses);
  std::string out = fmt::format(
      "; DNS records to publish for {0} (zone-file syntax; names end with a dot).\n"
      "\n"
      "; Mail for {0} goes to {1} (RFC 5321 5.1).\n"
      "{0}. IN MX 10 {1}.\n"
      "\n",
      d, h);

  bool any_private = false;
  if (addresses.empty()) {
    out += fmt::format(
        "; {0} needs the address(es) other servers reach it at; none that the\n"
        "; internet could reach was found on this machine (behind NAT?):\n"
        "{0}. IN A <your public IPv4 address>\n"
        "{0}. IN AAAA <your public IPv6 address, if any>\n",
        h);
  } else {
    out += fmt::format("; The address(es) of {}, as this machine has them.\n", h);
    for (const asio::ip::address& a : addresses) {
      out += fmt::format("{}. IN {} {}\n", h, a.is_v4() ? "A" : "AAAA", a.to_string());
      any_private = any_private || is_private(a);
    }
    if (any_private) {
      out +=
          "; A private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) is\n"
          "; not reachable from the internet: publish the public address it is\n"
          "; forwarded from instead.\n";
    }
  }

  out += fmt::format(
      "\n"
      "; SPF (RFC 7208): only the hosts named by the MX records send mail from {0}.\n"
      "{0}. IN TXT \"v=spf1 mx -all\"\n"
      "\n"
      "; DKIM (RFC 6376): the public half of {1}.\n"
      "{2}\n"
      "\n"
      "; DMARC (RFC 7489): start with p=none and read the aggregate reports sent\n"
      "; to dmarc-reports@{0} for a few weeks. When all of your mail passes, move\n"
      "; to p=quarantine, then to p=reject, so that forged mail from {0} is\n"
      "; refused by the receivers.\n"
      "_dmarc.{0}. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@{0}\"\n"
      "\n"
      "; Reverse DNS: receivers check that this machine's address names {3}.\n"
      "; Ask whoever holds the address (your hosting provider) for:\n",
      d, in.dkim_key_path, in.dkim_record, h);
  if (addresses.empty()) {
    out += fmt::format("<reverse name of your address>. IN PTR {}.\n", h);
  }
  for (const asio::ip::address& a : addresses) {
    if (!is_private(a)) out += fmt::format("{}. IN PTR {}.\n", reverse_name(a), h);
  }
  if (any_private) {
    out += fmt::format("; (and the same for the public address: <reverse name>. IN PTR {}.)\n", h);
  }
  // The policy [mta_sts] serves by default (config.h: MtaStsConfig).
  const sts::Policy policy = sts::make_policy("testing", {h}, 604800);
  out += fmt::format(
      "\n"
      "; MTA-STS (RFC 8461): tells senders that mail for {0} goes over TLS\n"
      "; verified for {1}. tern serves the policy (mode testing, mx {1}) over\n"
      "; HTTPS when [mta_sts] serve = true; its certificate must then cover\n"
      "; mta-sts.{0} (add it to [acme] names). The id changes whenever the\n"
      "; policy does: `tern check {0}` prints the one to publish.\n"
      "mta-sts.{0}. IN CNAME {1}.\n"
      "{2}\n"
      "\n"
      "; TLS-RPT (RFC 8460) is not printed: tern init will add it once tern\n"
      "; can receive the reports.\n",
      d, h, sts::txt_record_line(d, policy));
  return out;
}

std::string render_next_steps(const NextSteps& n) {
  const std::string config = n.default_config_path ? "" : " --config " + n.config_path;
  std::string out = fmt::format(
      "Next:\n"
      "  1. Publish the records above in the DNS of {0}, and ask for the PTR.\n"
      "  2. Add the users who send and receive mail (they log in on 587/465):\n"
      "       tern user add you@{0} --config {2}\n"
      "     and a mailbox for the DMARC reports, e.g. a line in {3}/aliases:\n"
      "       dmarc-reports@{0}: you@{0}\n",
      n.domain, n.hostname, n.config_path, n.data_dir);
  if (n.self_signed) {
    out += fmt::format(
        "  3. TLS: a self-signed certificate is made at the first start. Your users'\n"
        "     mail programs want one from a CA for {0}:\n"
        "       certbot certonly --standalone -d {0}\n"
        "     then set [tls] certificate and private_key in {1}.\n",
        n.hostname, n.config_path);
  } else {
    // certbot keeps its files root-only and writes new ones at each
    // renewal: a deploy hook gives them to the group again each time.
    out += fmt::format(
        "  3. TLS: {0} serves certbot's certificate, which user {1} must be able to\n"
        "     read, now and after each renewal. A deploy hook does both, e.g.\n"
        "     /etc/letsencrypt/renewal-hooks/deploy/tern:\n"
        "       chgrp -R {1} /etc/letsencrypt/live /etc/letsencrypt/archive\n"
        "       chmod -R g+rX /etc/letsencrypt/live /etc/letsencrypt/archive\n"
        "       systemctl reload tern\n"
        "     (run it once by hand now).\n",
        n.config_path, n.run_as);
  }
  if (n.default_config_path) {
    out += "  4. Start the server:  systemctl start tern\n";
  } else {
    out += fmt::format("  4. Start the server:  tern serve{}\n", config);
  }
  out +=
      fmt::format("  5. Once the records are visible, check them:  tern check {0} --config {1}\n",
                  n.domain, n.config_path);
  return out;
}

}  // namespace tern::init
