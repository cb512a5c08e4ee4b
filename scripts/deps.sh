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
  # its dovecot-core creates the dovecot and dovenull users test_dovecot uses),
  # unbound (only its binary: dns_server.py runs one on a free loopback port).
  # test_dkim: dkimpy (+nacl for ed25519), libopendkim and opendkim-testmsg.
  pkgs+=(python3 swaks msmtp curl dovecot-imapd procps iproute2 unbound
         python3-dkim python3-nacl opendkim-tools)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  # Debian's unbound would start a system resolver on port 53 (and may point
  # resolv.conf at it): keep services from starting during the install.
  if [[ " ${missing[*]} " == *" unbound "* && ! -e /usr/sbin/policy-rc.d ]]; then
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" unbound "* && -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now unbound.service unbound-resolvconf.service || true
  fi
fi
