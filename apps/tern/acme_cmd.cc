// tern acme status|rollkey: the certificate [acme] keeps in <data_dir>/acme
// (acme/manager.h), and the deliberate step of moving to a new key.
//
// The certificate's key is kept across renewals so that a published
// TLSA 3 1 1 record (DANE, RFC 7672) stays valid. Rolling to a new key is
// done in two steps, so the new record can be published before the new key
// is served: `tern acme rollkey` stages key.next.pem and prints its record;
// once that record is in the DNS (alongside the old one, for the old TTL),
// `systemctl reload tern` (SIGHUP) makes the running server issue a
// certificate with it, and key.next.pem becomes key.pem.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "acme/cert.h"
#include "acme/jws.h"
#include "commands.h"
#include "fs/atomic_file.h"

namespace tern {
namespace {

struct AcmeOptions {
  std::string config;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string utc(int64_t t) {
  char buf[32];
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_tlsa(const Config& c, const acme::EcKey& key, const char* what) {
  std::printf("%s: _25._tcp.%s. IN TLSA 3 1 1 %s\n", what, c.hostname.c_str(),
              acme::tlsa_3_1_1(key).c_str());
}

void run_status(const AcmeOptions& o) {
  const Config c = load_config_or_exit(o.config);
  const std::string dir = c.data_dir + "/acme";
  std::printf("acme: %s\n", c.acme.enabled ? "enabled" : "disabled ([acme] enabled = false)");
  if (auto info = acme::read_leaf(slurp(dir + "/chain.pem"))) {
    std::string names;
    for (const std::string& n : info->names) names += (names.empty() ? "" : " ") + n;
    std::printf("certificate: %s/chain.pem\nnames: %s\nvalid: %s to %s\nrenewal due: %s\n",
                dir.c_str(), names.c_str(), utc(info->not_before).c_str(),
                utc(info->not_after).c_str(), utc(acme::renewal_time(*info)).c_str());
  } else {
    std::printf("certificate: none yet\n");
  }
  if (auto key = acme::EcKey::from_pem(slurp(dir + "/key.pem"))) print_tlsa(c, *key, "key");
  if (auto next = acme::EcKey::from_pem(slurp(dir + "/key.next.pem")))
    print_tlsa(c, *next, "next key (staged, used at the next issuance)");
}

void run_rollkey(const AcmeOptions& o) {
  const Config c = load_config_as_run_as_or_exit(o.config);
  const std::string dir = c.data_dir + "/acme";
  const std::string next_path = dir + "/key.next.pem";
  auto next = acme::EcKey::from_pem(slurp(next_path));
  if (next) {
    std::printf("a next key is already staged: %s\n", next_path.c_str());
  } else {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      std::fprintf(stderr,
                   "tern acme rollkey: %s does not exist (start the server with [acme] "
                   "first)\n",
                   dir.c_str());
      throw CLI::RuntimeError(1);
    }
    next = acme::EcKey::generate();
    if (Status s = write_file_atomic(next_path, next->private_pem(), 0600); !s.ok()) {
      std::fprintf(stderr, "tern acme rollkey: %s\n", s.message().c_str());
      throw CLI::RuntimeError(1);
    }
    std::printf("staged a new key: %s\n", next_path.c_str());
  }
  if (auto key = acme::EcKey::from_pem(slurp(dir + "/key.pem"))) print_tlsa(c, *key, "current");
  print_tlsa(c, *next, "next");
  std::printf(
      "Publish the next record beside the current one, wait for the current TTL, then\n"
      "reload the server (systemctl reload tern, or SIGHUP): it orders a certificate for\n"
      "the next key and serves it. Remove the old record after that.\n");
}

}  // namespace

void add_acme_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("acme", "ACME certificate: status, key rollover");
  cmd->require_subcommand(1);
  auto o = std::make_shared<AcmeOptions>();
  auto* status =
      cmd->add_subcommand("status", "Show the certificate, its renewal and TLSA records");
  status->add_option("-c,--config", o->config, "Config file (TOML)");
  status->callback([o] { run_status(*o); });
  auto* roll = cmd->add_subcommand(
      "rollkey", "Stage a new certificate key (used at the next issuance; SIGHUP to issue now)");
  roll->add_option("-c,--config", o->config, "Config file (TOML)");
  roll->callback([o] { run_rollkey(*o); });
}

}  // namespace tern
