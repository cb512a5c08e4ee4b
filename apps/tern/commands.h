// Each subcommand of `tern` registers itself on the CLI11 app. A command's
// callback signals failure by throwing CLI::RuntimeError(exit_code) after
// printing a clear message to stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace tern {

void add_serve_command(CLI::App& app);
void add_user_command(CLI::App& app);
void add_resolve_command(CLI::App& app);
void add_queue_command(CLI::App& app);
void add_dkim_command(CLI::App& app);
void add_spf_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_dmarc_command(CLI::App& app);
void add_send_command(CLI::App& app);
void add_sendmail_command(CLI::App& app);  // listed in --help; main() runs it
void add_bench_command(CLI::App& app);
void add_init_command(CLI::App& app);
void add_acme_command(CLI::App& app);
void add_tls_rpt_command(CLI::App& app);

// `tern sendmail ARGS` (or tern run as "sendmail"): sendmail(8) flags,
// parsed without CLI11. `name` prefixes messages. Returns the exit status.
int run_sendmail(const std::string& name, const std::vector<std::string>& args);

// Loads --config FILE, or the embedded default when `path` is empty.
// On error prints it and throws CLI::RuntimeError(2).
Config load_config_or_exit(const std::string& path);
// The same, for subcommands that write in the data dir (`tern user`, `tern
// dkim keygen`): started as root, they switch to the server's user first
// (server/privileges.h, as `tern serve` does), so every file they make is
// one the server can read. Exits 2 when the config's run_as forbids it.
Config load_config_as_run_as_or_exit(const std::string& path);

}  // namespace tern
