#!/usr/bin/env bash
# Installs what is missing, builds tern (release) and runs `tern serve` on
# its embedded default config (or with the arguments given, e.g. --config F).
# As root, the embedded default (loopback only) keeps root with a warning; a
# config file makes tern drop to run_as, default "tern" (docs/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target tern
exec build/release/tern serve "$@"
