// The text of the config `tern init` writes (config_template.h). Keys and
// their meaning: docs/config.md; every key with its default:
// examples/tern.toml.
#include "init/config_template.h"

#include <fmt/format.h>

#include "core/ascii.h"
#include "core/domain.h"

namespace tern::init {
namespace {

// A TOML basic string: quotes and backslashes escaped, control characters
// as \uXXXX (TOML 1.0, "String").
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string tls_section(const InitSettings& s) {
  const std::string live = "/etc/letsencrypt/live/" + s.hostname;
  std::string out =
      "# TLS for STARTTLS (25, 587) and implicit TLS (465). Mail servers that\n"
      "# send to port 25 accept any certificate; your users' mail programs on\n"
      "# 587 and 465 want one for the hostname from a CA (Let's Encrypt).\n"
      "[tls]\n";
  if (!s.tls_certificate.empty()) {
    out += fmt::format(
        "# The user tern runs as ({0}) must be able to read both (a certbot deploy\n"
        "# hook: chgrp {0} on the files and their directories, chmod g+rx / 0640), and\n"
        "# `systemctl reload tern` after each renewal.\n"
        "certificate = {1}\n"
        "private_key = {2}\n",
        s.run_as, quoted(s.tls_certificate), quoted(s.tls_private_key));
  } else {
    out += fmt::format(
        "# Unset: a self-signed certificate for the hostname is generated once\n"
        "# into {0}/tls/.\n"
        "# With certbot (certbot certonly --standalone -d {1}), uncomment these;\n"
        "# the user tern runs as ({2}) must be able to read both\n"
        "# (chgrp {2}, chmod 0640, in a certbot deploy hook that also runs\n"
        "# `systemctl reload tern`).\n"
        "#certificate = {3}\n"
        "#private_key = {4}\n",
        s.data_dir, s.hostname, s.run_as, quoted(live + "/fullchain.pem"),
        quoted(live + "/privkey.pem"));
  }
  return out +
         "# TLS 1.2 with AEAD suites only, and TLS 1.3 (the default). \"TLSv1.3\"\n"
         "# refuses older clients.\n"
         "#min_version = \"TLSv1.2\"\n";
}

}  // namespace

std::string choose_hostname(std::string_view system_name, std::string_view domain) {
  const std::string name = ascii_lower(system_name);
  const bool dotted = name.find('.') != std::string::npos;
  const bool local = name == "localhost" || name.starts_with("localhost.") ||
                     name.ends_with(".localdomain") || name.ends_with(".local");
  if (dotted && !local && is_valid_domain(name)) return name;
  return "mail." + ascii_lower(domain);
}

std::string render_config(const InitSettings& s) {
  std::string out = fmt::format(
      "# tern configuration for {0}, written by `tern init`.\n"
      "# Every key and its default: docs/config.md, examples/tern.toml.\n"
      "# Check a change by starting tern on it; `systemctl reload tern` (SIGHUP)\n"
      "# re-reads this file, the certificate, users and aliases.\n"
      "\n"
      "# The name in the greeting, EHLO and Received headers: the MX record of\n"
      "# {0} points to it, and the PTR of this machine's address should too.\n"
      "hostname = {1}\n"
      "\n"
      "# Queue, mailboxes (mail/<domain>/<user>/, Maildir), users, aliases,\n"
      "# DKIM keys (dkim/), the self-signed certificate (tls/). Owned by run_as.\n"
      "data_dir = {2}\n"
      "\n"
      "# Started as root, tern binds its ports, then runs as this user for good\n"
      "# (docs/security.md). It must be able to read this file: tern init wrote\n"
      "# it 0640, group {3}'s.\n"
      "run_as = {4}\n"
      "\n"
      "# Domains this server receives mail for. Add more as [\"{0}\", \"example.net\"].\n"
      "domains = [{5}]\n"
      "\n"
      "# false: only users (tern user add), aliases (<data_dir>/aliases,\n"
      "# \"alias@{0}: user@{0}\") and postmaster receive mail; other\n"
      "# recipients are refused at RCPT.\n"
      "accept_any_local_part = false\n"
      "\n"
      "# Your own networks: exempt from the per-address limits (never a licence\n"
      "# to relay: only authenticated users send to other domains).\n"
      "#trusted_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n"
      "\n"
      "# MX traffic from the internet: STARTTLS offered, no AUTH.\n"
      "[[listener]]\n"
      "kind = \"smtp\"\n"
      "address = \":25\"\n"
      "\n"
      "# Your users' mail programs: STARTTLS, then AUTH required (RFC 6409).\n"
      "[[listener]]\n"
      "kind = \"submission\"\n"
      "address = \":587\"\n"
      "\n"
      "# The same over implicit TLS (RFC 8314).\n"
      "[[listener]]\n"
      "kind = \"submissions\"\n"
      "address = \":465\"\n"
      "\n",
      s.domain, quoted(s.hostname), quoted(s.data_dir), s.run_as, quoted(s.run_as),
      quoted(s.domain));
  out += tls_section(s);
  out += fmt::format(
      "\n"
      "[limits]\n"
      "# Largest message accepted (advertised with SIZE).\n"
      "#max_message_size = \"50M\"\n"
      "# Per authenticated user, from any address: what a leaked password can send.\n"
      "#messages_per_hour_per_user = 200\n"
      "#outbound_recipients_per_hour_per_user = 200\n"
      "\n"
      "# DNS for outbound mail. Empty: the nameservers of /etc/resolv.conf. A\n"
      "# validating resolver on this machine is better: [\"127.0.0.1\"].\n"
      "[dns]\n"
      "#forward = [\"127.0.0.1\"]\n"
      "\n"
      "[queue]\n"
      "# After this long, a message that still fails temporarily is bounced.\n"
      "#max_age = \"5d\"\n"
      "# Below this much free space in <data_dir>, MAIL FROM gets 452 4.3.1.\n"
      "#min_free_space = \"100M\"\n"
      "\n"
      "# Mail to other domains goes by MX lookup. Where port 25 outbound is\n"
      "# blocked (many clouds), send through a smarthost instead.\n"
      "[relay]\n"
      "#smarthost = \"smtp.example.net:587\"\n"
      "#user = \"me@example.net\"\n"
      "#password_file = \"/etc/tern/smarthost-password\"\n"
      "\n"
      "# SPF (RFC 7208) of mail arriving on port 25: a fail is refused (550 5.7.23),\n"
      "# a DNS error deferred (451 4.7.24). \"mark\" only records it.\n"
      "[spf]\n"
      "enabled = true\n"
      "on_fail = \"reject\"\n"
      "on_temperror = \"defer\"\n"
      "\n"
      "# DKIM: incoming signatures are checked. Outgoing mail from {0}'s\n"
      "# authenticated users is signed with the key in <data_dir>/dkim/{0}/:\n"
      "#   {1}\n"
      "# Its public half is the DKIM record tern init printed.\n"
      "[dkim]\n"
      "verify = true\n"
      "\n"
      "# DMARC (RFC 7489) of mail arriving on port 25: the sender's domain\n"
      "# decides (p=reject: refused with 550 5.7.1; p=quarantine: delivered to\n"
      "# Junk).\n"
      "[dmarc]\n"
      "enabled = true\n"
      "on_reject = \"reject\"\n"
      "on_quarantine = \"quarantine\"\n"
      "# Send aggregate reports (rua) to the domains you receive mail from, once a day.\n"
      "#reports = true\n"
      "#report_email = \"postmaster@{0}\"\n"
      "\n"
      "# Certificates from Let's Encrypt without certbot (docs/acme.md): set\n"
      "# enabled = true, leave [tls] certificate unset, and let port 80 reach\n"
      "# tern. The key is kept across renewals (a TLSA 3 1 1 record stays valid).\n"
      "[acme]\n"
      "enabled = false\n"
      "email = \"postmaster@{0}\"\n"
      "\n"
      "# Prometheus metrics at http://127.0.0.1:9325/metrics (docs/metrics.md).\n"
      "# Keep it on loopback: it has no authentication.\n"
      "[metrics]\n"
      "listen = \"127.0.0.1:9325\"\n"
      "\n"
      "# Local mail goes to tern's own Maildirs in <data_dir>/mail. To hand it\n"
      "# to Dovecot instead (its Sieve rules apply), and to check passwords\n"
      "# against Dovecot's, so IMAP and SMTP share them:\n"
      "[delivery]\n"
      "#lmtp = \"unix:/run/dovecot/lmtp\"\n"
      "[auth]\n"
      "#backend = \"dovecot\"\n"
      "#dovecot_socket = \"/run/dovecot/auth-client\"\n",
      s.domain, s.dkim_key_path.empty() ? "made by tern dkim keygen " + s.domain : s.dkim_key_path);
  return out;
}

}  // namespace tern::init
