#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs. Usage: scripts/deps.sh [build|test]
#   build: compiler and libraries;  test: also the real peers the tests drive.
# Only missing packages are installed; apt-get update runs only if needed.
set -euo pipefail
what=${1:-build}

pkgs=(g++ cmake ninja-build pkg-config libasio-dev libssl-dev libsodium-dev
      libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
      libunbound-dev openssl ca-certificates clang-format)
if [ "$what" = test ]; then
  # Peers of tests/integration: smtplib/imaplib (python3), swaks, msmtp,
  # curl, openssl s_client (openssl, above), Dovecot IMAP (dovecot-imapd;
  # its dovecot-core creates the dovecot and dovenull users test_dovecot uses).
  pkgs+=(python3 swaks msmtp curl dovecot-imapd procps iproute2)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
