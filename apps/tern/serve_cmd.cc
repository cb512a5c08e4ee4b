// tern serve: run the SMTP server.
#include <sys/resource.h>

#include <cstdio>

#include "commands.h"
#include "server/server.h"

namespace tern {

namespace {

// Each session is a socket: lift the soft descriptor limit to the hard one.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Run the SMTP server");
  auto path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path, "Config file (TOML); without it, the embedded default");
  cmd->callback([path] {
    Config config = load_config_or_exit(*path);
    raise_fd_limit();
    std::signal(SIGPIPE, SIG_IGN);
    try {
      Server server(std::move(config), *path);
      int rc = server.run();
      if (rc != 0) throw CLI::RuntimeError(rc);
    } catch (const CLI::RuntimeError&) {
      throw;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tern serve: %s\n", e.what());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace tern
