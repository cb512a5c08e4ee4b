// `tern dkim keygen|sign|verify`: DKIM keys and signatures by hand
// (dkim/*.h; docs/dkim.md).
//
//   tern dkim keygen DOMAIN [--selector S] [--type rsa|ed25519] [--bits N] [--force]
//     writes <data_dir>/dkim/DOMAIN/S.key (PKCS#8 PEM, mode 0600, directories
//     0700; an existing key is kept unless --force) and prints the TXT record
//     to publish on stdout. The default selector is the key type and the
//     month, e.g. "rsa-202601": a new month gives a new selector, so keys
//     can be rotated without replacing a published record.
//   tern dkim sign --key FILE --domain D --selector S [--canon C] [--headers H]
//     reads a message on stdin and writes it to stdout with a DKIM-Signature
//     field on top. Input with bare LF line ends is signed as if they were
//     CRLF and written back with LF.
//   tern dkim verify [--config FILE] [--now T]
//     reads a message on stdin, checks every signature with keys from DNS
//     ([dns] of the config) and prints one line per signature, in the form
//     of RFC 8601: "dkim=pass header.d=example.com header.s=sel header.a=...".
//
// Exit status: 0 done (verify: every signature passed, and there was one);
// 1 failure (verify: a signature did not pass, or none was there); 2 usage or
// configuration error; 75 temporary failure (verify: a key lookup failed
// and nothing else did).

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "dkim/dns_keys.h"
#include "dkim/key_file.h"
#include "dkim/keys.h"
#include "dkim/signer.h"
#include "dkim/verifier.h"
#include "dns/resolver.h"
#include "with_resolver.h"

namespace tern {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL

struct DkimOptions {
  std::string config;
  std::string domain;
  std::string selector;
  std::string type = "rsa";
  int bits = dkim::kDefaultRsaBits;
  bool force = false;
  std::string key_file;
  std::string canon = "relaxed/relaxed";
  std::string headers;
  int64_t now = 0;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

int64_t wall_clock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void run_keygen(const DkimOptions& o) {
  const std::string domain = lower(o.domain);
  if (!dkim::valid_domain(domain, 2)) fail(kExitUsage, "not a domain name: '" + o.domain + "'");
  if (o.type != "rsa" && o.type != "ed25519") {
    fail(kExitUsage, "unknown key type '" + o.type + "'; use rsa or ed25519");
  }
  const std::string selector =
      o.selector.empty() ? dkim::default_selector(o.type, wall_clock()) : lower(o.selector);
  if (!dkim::valid_domain(selector, 1)) fail(kExitUsage, "not a selector: '" + o.selector + "'");
  const Config config = load_config_as_run_as_or_exit(o.config);

  const dkim::KeyType type = o.type == "rsa" ? dkim::KeyType::kRsa : dkim::KeyType::kEd25519;
  dkim::PrivateKey key;
  if (Status s = dkim::PrivateKey::generate(type, o.bits, &key); !s.ok()) {
    fail(kExitUsage, s.message());
  }
  // The domain and selector were checked above: letters, digits, '-', '_'
  // and dots between labels, so they are safe as path components.
  const std::string path = dkim::key_file_path(config.data_dir, domain, selector);
  if (Status s = dkim::write_key_file(config.data_dir, domain, selector, key.pem(), o.force);
      !s.ok()) {
    fail(kExitFailed, s.message());
  }

  std::fprintf(stderr, "tern: wrote %s (%s, %d bits); publish this record in DNS:\n", path.c_str(),
               dkim::key_type_name(type), key.bits());
  std::printf("%s\n", dkim::dns_txt_record(domain, selector, key).c_str());
}

std::string read_stdin() {
  std::ostringstream s;
  s << std::cin.rdbuf();
  return s.str();
}

// LF line ends become CRLF; returns whether any was converted.
bool to_crlf(std::string* text) {
  if (text->find('\n') == std::string::npos || text->find("\r\n") != std::string::npos) {
    return false;
  }
  std::string out;
  out.reserve(text->size() + text->size() / 32);
  for (char c : *text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  *text = std::move(out);
  return true;
}

void run_sign(const DkimOptions& o) {
  std::ifstream in(o.key_file, std::ios::binary);
  if (!in) fail(kExitUsage, "cannot read " + o.key_file);
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  dkim::PrivateKey key;
  if (Status s = dkim::PrivateKey::from_pem(pem, &key); !s.ok()) {
    fail(kExitUsage, o.key_file + ": " + s.message());
  }
  dkim::SignOptions options;
  options.domain = lower(o.domain);
  options.selector = o.selector;
  options.timestamp = wall_clock();
  const size_t slash = o.canon.find('/');
  const std::string h = o.canon.substr(0, slash);
  const std::string b = slash == std::string::npos ? "simple" : o.canon.substr(slash + 1);
  for (const std::string& c : {h, b}) {
    if (c != "simple" && c != "relaxed") fail(kExitUsage, "unknown canonicalization " + o.canon);
  }
  options.header_canon = h == "simple" ? dkim::Canon::kSimple : dkim::Canon::kRelaxed;
  options.body_canon = b == "simple" ? dkim::Canon::kSimple : dkim::Canon::kRelaxed;
  if (!o.headers.empty()) options.headers = dkim::split_colon_list(o.headers);

  std::string message = read_stdin();
  const bool lf = to_crlf(&message);
  dkim::Signer signer(key, options);
  signer.write(message);
  std::string field;
  if (Status s = signer.finish(&field); !s.ok()) fail(kExitFailed, s.message());
  std::string out = field + message;
  if (lf) {
    std::string back;
    for (size_t i = 0; i < out.size(); ++i) {
      if (!(out[i] == '\r' && i + 1 < out.size() && out[i + 1] == '\n')) back += out[i];
    }
    out = std::move(back);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

// "dkim=fail (body hash did not verify) header.d=example.com ...".
std::string describe(const dkim::SignatureResult& r) {
  std::string line = std::string("dkim=") + dkim::result_name(r.result);
  if (!r.reason.empty()) line += " (" + r.reason + ")";
  if (!r.domain.empty()) line += " header.d=" + r.domain;
  if (!r.selector.empty()) line += " header.s=" + r.selector;
  if (!r.algorithm.empty()) line += " header.a=" + r.algorithm;
  if (!r.b.empty()) line += " header.b=" + r.b.substr(0, 8);
  return line;
}

void run_verify(const DkimOptions& o) {
  const Config config = load_config_or_exit(o.config);
  std::string message = read_stdin();
  to_crlf(&message);
  dkim::VerifyOptions options;
  options.now = o.now > 0 ? o.now : wall_clock();
  const std::vector<dkim::SignatureResult> results =
      run_with_resolver<std::vector<dkim::SignatureResult>>(
          cli_resolver_options(config),
          [&](Resolver& dns) { return dkim::verify_with_dns(std::move(message), dns, options); });
  if (results.empty()) {
    std::printf("dkim=none\n");
    std::fflush(stdout);
    throw CLI::RuntimeError(kExitFailed);
  }
  bool all_pass = true, temp = false, other = false;
  for (const dkim::SignatureResult& r : results) {
    std::printf("%s\n", describe(r).c_str());
    all_pass = all_pass && r.result == dkim::Result::kPass;
    temp = temp || r.result == dkim::Result::kTempError;
    other = other || (r.result != dkim::Result::kPass && r.result != dkim::Result::kTempError);
  }
  std::fflush(stdout);
  if (all_pass) return;
  throw CLI::RuntimeError(temp && !other ? kExitTempFail : kExitFailed);
}

}  // namespace

void add_dkim_command(CLI::App& app) {
  auto o = std::make_shared<DkimOptions>();
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM keys and signatures (see docs/dkim.md)");
  dkim->require_subcommand(1);

  CLI::App* keygen = dkim->add_subcommand(
      "keygen", "Make a key in <data_dir>/dkim/DOMAIN/ and print its DNS TXT record");
  keygen->add_option("DOMAIN", o->domain, "The signing domain (d=)")->required();
  keygen->add_option("-s,--selector", o->selector, "Selector (default: TYPE-YYYYMM)");
  keygen->add_option("-t,--type", o->type, "rsa (default) or ed25519");
  keygen->add_option("--bits", o->bits, "RSA key size (default 2048)");
  keygen->add_flag("--force", o->force, "Replace an existing key of that selector");
  keygen->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  keygen->callback([o] { run_keygen(*o); });

  CLI::App* sign = dkim->add_subcommand("sign", "Sign a message from stdin to stdout");
  sign->add_option("-k,--key", o->key_file, "Private key (PEM)")->required();
  sign->add_option("-d,--domain", o->domain, "Signing domain (d=)")->required();
  sign->add_option("-s,--selector", o->selector, "Selector (s=)")->required();
  sign->add_option("--canon", o->canon, "c=: relaxed/relaxed (default), simple/simple, ...");
  sign->add_option("--headers", o->headers, "Fields to sign, colon-separated (default: a list)");
  sign->callback([o] { run_sign(*o); });

  CLI::App* verify =
      dkim->add_subcommand("verify", "Check the signatures of a message from stdin, keys from DNS");
  verify->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  verify->add_option("--now", o->now, "Verification time, seconds since the epoch");
  verify->callback([o] { run_verify(*o); });

  dkim->footer(
      "Exit status: 0 done (verify: all signatures pass), 1 failed, 2 usage or configuration "
      "error, 75 temporary DNS failure.");
}

}  // namespace tern
