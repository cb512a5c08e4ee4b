// `tern init DOMAIN`: the first step of a real deployment (init/*.h).
//
//   tern init DOMAIN [--hostname H] [--config PATH] [--data-dir DIR]
//                    [--run-as USER] [--force]
//
// Writes a commented config to PATH (default /etc/tern/tern.toml, which
// the service reads; an existing file is kept unless --force), makes the
// domain's DKIM key in DIR/dkim/DOMAIN/ (or keeps the one there), and
// prints every DNS record to publish, then what to run next.
//
// Started as root, the config is written 0640 root:<run_as's group> and the
// key (like everything in the data dir) as run_as, which must exist: the
// same switch `tern dkim keygen` makes (server/privileges.h). Started as
// an ordinary user, --run-as must name that user.
//
// Exit status: 0 done; 1 a file could not be written or already exists;
// 2 usage error (bad domain, unknown user).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "commands.h"
#include "core/ascii.h"
#include "core/domain.h"
#include "dkim/key_file.h"
#include "dkim/key_store.h"
#include "dkim/keys.h"
#include "init/config_file.h"
#include "init/config_template.h"
#include "init/host_addresses.h"
#include "init/records.h"
#include "server/file_access.h"
#include "server/privileges.h"

namespace tern {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr const char* kServiceConfig = "/etc/tern/tern.toml";

struct InitOptions {
  std::string domain;
  std::string hostname;
  std::string config = kServiceConfig;
  std::string data_dir = "/var/lib/tern";
  std::string run_as = "tern";
  bool force = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern init: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

std::string system_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// A path written into the config must not depend on where the server is
// started from (systemd starts it in /).
std::string absolute(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The domain's newest RSA key already in the data dir (a second run of
// tern init must not replace a key whose record may be published), or
// nullptr.
const dkim::SigningKey* existing_key(const dkim::KeyStore& store, const std::string& domain) {
  for (const dkim::SigningKey& k : store.keys_for(domain)) {
    if (k.key.type() == dkim::KeyType::kRsa) return &k;
  }
  return nullptr;
}

void run_init(const InitOptions& o) {
  init::InitSettings s;
  s.domain = ascii_lower(o.domain);
  if (!valid_domain_name(s.domain, {.min_labels = 2})) {
    fail(kExitUsage, "not a domain name: '" + o.domain + "'");
  }
  s.hostname = o.hostname.empty() ? init::choose_hostname(system_hostname(), s.domain)
                                  : ascii_lower(o.hostname);
  if (!valid_domain_name(s.hostname, {.min_labels = 2})) {
    fail(kExitUsage, "not a host name: '" + s.hostname + "' (use --hostname mx." + s.domain + ")");
  }
  s.data_dir = absolute(o.data_dir);
  s.run_as = o.run_as;
  const std::string config_path = absolute(o.config);
  if (Status st = init::may_write_config(config_path, o.force); !st.ok()) {
    fail(kExitFailed, st.message());
  }
  // certbot's files, when it already has a certificate for the hostname.
  const std::string live = "/etc/letsencrypt/live/" + s.hostname;
  if (exists(live + "/fullchain.pem") && exists(live + "/privkey.pem")) {
    s.tls_certificate = live + "/fullchain.pem";
    s.tls_private_key = live + "/privkey.pem";
  }

  // The key: the one there, else a new one (written below, as run_as).
  std::vector<std::string> problems;
  const dkim::KeyStore store = dkim::KeyStore::load(s.data_dir + "/dkim", &problems);
  const dkim::SigningKey* old = existing_key(store, s.domain);
  dkim::SigningKey key;
  if (old) {
    key = *old;
  } else {
    key.selector = dkim::default_selector("rsa", unix_seconds());
    if (Status st =
            dkim::PrivateKey::generate(dkim::KeyType::kRsa, dkim::kDefaultRsaBits, &key.key);
        !st.ok()) {
      fail(kExitFailed, st.message());
    }
    key.path = dkim::key_file_path(s.data_dir, s.domain, key.selector);
  }
  s.dkim_key_path = key.path;

  // The text is checked by the loader the server uses before anything is
  // written: tern init never leaves a config tern serve refuses.
  const std::string text = init::render_config(s);
  Config config;
  try {
    config = parse_config(text, config_path);
  } catch (const std::exception& e) {
    fail(kExitUsage, std::string("the config made is invalid: ") + e.what());
  }
  std::string error;
  const std::optional<RunAsPlan> plan = plan_for(config, &error);
  if (!plan && ::geteuid() != 0) {
    fail(kExitUsage, error + " (tern init: for a server that runs as you, --run-as " +
                         current_account().name + ")");
  }
  if (!plan) fail(kExitUsage, error);

  const std::optional<gid_t> group =
      plan->change ? std::optional<gid_t>(plan->account.gid) : std::nullopt;
  if (Status st = init::write_config_file(config_path, text, group); !st.ok()) {
    fail(kExitFailed, st.message());
  }
  std::fprintf(stderr, "tern init: wrote %s\n", config_path.c_str());

  if (!old) {
    // As `tern dkim keygen`: the data dir and the key belong to run_as.
    if (Status st = become_run_as(config); !st.ok()) fail(kExitUsage, st.message());
    if (Status st = dkim::write_key_file(s.data_dir, s.domain, key.selector, key.key.pem(), false);
        !st.ok()) {
      const Account self = current_account();
      fail(kExitFailed, st.message() + "; user " + self.name + " must be able to reach and write " +
                            s.data_dir + " (" + data_dir_fix(config, self.name) +
                            "), then run tern init again with --force");
    }
    std::fprintf(stderr, "tern init: wrote %s (rsa, %d bits)\n", key.path.c_str(), key.key.bits());
  } else {
    std::fprintf(stderr, "tern init: kept the DKIM key %s\n", key.path.c_str());
  }

  init::RecordInputs r;
  r.domain = s.domain;
  r.hostname = s.hostname;
  r.addresses = init::host_addresses();
  r.dkim_record = dkim::dns_txt_record(s.domain, key.selector, key.key);
  r.dkim_key_path = key.path;
  init::NextSteps n;
  n.domain = s.domain;
  n.hostname = s.hostname;
  n.config_path = config_path;
  n.data_dir = s.data_dir;
  n.run_as = s.run_as;
  n.self_signed = s.tls_certificate.empty();
  n.default_config_path = config_path == kServiceConfig;
  std::printf("%s\n%s", init::render_records(r).c_str(), init::render_next_steps(n).c_str());
  std::fflush(stdout);
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init", "Write a config for DOMAIN, make its DKIM key, print the DNS records to publish");
  cmd->add_option("DOMAIN", o->domain, "The mail domain, e.g. example.org")->required();
  cmd->add_option("--hostname", o->hostname,
                  "This server's name, the MX target (default: the system's, or mail.DOMAIN)");
  cmd->add_option("-c,--config", o->config, "Where to write the config")
      ->default_str(kServiceConfig);
  cmd->add_option("--data-dir", o->data_dir, "data_dir of the config")
      ->default_str("/var/lib/tern");
  cmd->add_option("--run-as", o->run_as, "run_as of the config")->default_str("tern");
  cmd->add_flag("--force", o->force, "Replace an existing config");
  cmd->callback([o] { run_init(*o); });
  cmd->footer("Exit status: 0 done, 1 a file could not be written (or exists), 2 usage error.");
}

}  // namespace tern
