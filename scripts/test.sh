#!/usr/bin/env bash
# Installs what is missing (build tools and the real peers the tests drive),
# builds tern, runs every test (unit + integration) under ctest, then the
# unit tests and the integration tests of hostile input and crashes
# (tests/CMakeLists.txt: asan_integration) again under ASan+UBSan, then every
# fuzz harness for a few seconds over its seeds and regressions (tests/fuzz,
# clang-14).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug -j2
cmake --preset asan >/dev/null
cmake --build --preset asan --target tern_unit_tests tern
ctest --preset asan -j2
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
ctest --preset fuzz -j2
