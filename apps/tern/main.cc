// tern: an SMTP mail system. This file only wires the subcommands.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"

namespace tern {

Config load_config_or_exit(const std::string& path) {
  try {
    return path.empty() ? default_config() : load_config(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: %s\n", e.what());
    throw CLI::RuntimeError(2);
  }
}

}  // namespace tern

int main(int argc, char** argv) {
  CLI::App app{"tern: an SMTP mail system", "tern"};
  app.set_version_flag("--version", TERN_VERSION);
  app.require_subcommand(1);
  tern::add_serve_command(app);
  tern::add_user_command(app);
  tern::add_resolve_command(app);
  tern::add_queue_command(app);
  tern::add_dkim_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
