// tern: an SMTP mail system. This file only wires the subcommands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string_view>

#include "commands.h"
#include "server/privileges.h"

namespace tern {

Config load_config_or_exit(const std::string& path) {
  try {
    return path.empty() ? default_config() : load_config(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: %s\n", e.what());
    throw CLI::RuntimeError(2);
  }
}

Config load_config_as_run_as_or_exit(const std::string& path) {
  Config config = load_config_or_exit(path);
  if (Status s = become_run_as(config); !s.ok()) {
    std::fprintf(stderr, "tern: %s\n", s.message().c_str());
    throw CLI::RuntimeError(2);
  }
  return config;
}

}  // namespace tern

int main(int argc, char** argv) {
  // sendmail(8)'s flags (-oi, -FName, -t) are not CLI11's: dispatch first.
  const std::string_view self = argc > 0 ? argv[0] : "tern";
  if (self.substr(self.rfind('/') + 1) == "sendmail") {
    return tern::run_sendmail("sendmail", {argv + 1, argv + argc});
  }
  if (argc > 1 && std::string_view(argv[1]) == "sendmail") {
    return tern::run_sendmail("tern sendmail", {argv + 2, argv + argc});
  }
  CLI::App app{"tern: an SMTP mail system", "tern"};
  app.set_version_flag("--version", TERN_VERSION);
  app.require_subcommand(1);
  tern::add_serve_command(app);
  tern::add_init_command(app);
  tern::add_user_command(app);
  tern::add_resolve_command(app);
  tern::add_queue_command(app);
  tern::add_dkim_command(app);
  tern::add_spf_command(app);
  tern::add_check_command(app);
  tern::add_dmarc_command(app);
  tern::add_send_command(app);
  tern::add_sendmail_command(app);
  tern::add_bench_command(app);
  tern::add_acme_command(app);
  tern::add_tls_rpt_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // `tern send` promises sysexits: a bad command line is EX_USAGE (64).
    const bool usage = code != 0 && dynamic_cast<const CLI::RuntimeError*>(&e) == nullptr;
    return usage && app.got_subcommand("send") ? 64 : code;
  }
  return 0;
}
