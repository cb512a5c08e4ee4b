#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs. Usage: scripts/deps.sh [build|test]
#   build: compiler and libraries;  test: also the real peers the tests drive.
# Only missing packages are installed; apt-get update runs only if needed.
set -euo pipefail
what=${1:-build}

pkgs=(g++ cmake ninja-build pkg-config libasio-dev libssl-dev libsodium-dev
      libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
      libunbound-dev libpsl-dev publicsuffix zlib1g-dev openssl ca-certificates clang-format
      libcpp-httplib-dev    # HTTP endpoints: metrics, ACME HTTP-01 (src/http)
      libsystemd-dev        # sd_notify and journald fields (src/server/service_notify.h, base/log)
      libcurl4-openssl-dev  # outbound HTTPS: the ACME client (src/http/client.h)
      dns-root-data         # the default DNSSEC trust anchor, /usr/share/dns/root.key (docs/tls.md)
      lld                   # the linker CMakeLists.txt prefers: links the large binaries faster
)
if [ "$what" = test ]; then
  # Peers of tests/integration: smtplib/imaplib (python3), swaks, msmtp,
  # curl, openssl s_client (openssl, above), Dovecot IMAP (dovecot-imapd;
  # its dovecot-core creates the dovecot and dovenull users test_dovecot uses),
  # unbound (only its binary: dns_server.py runs one on a free loopback port).
  # test_dkim: dkimpy (+nacl for ed25519), libopendkim and opendkim-testmsg.
  # test_send_cli: real git send-email (git-email, and its Mail::Address).
  # test_spf: pyspf (python3-spf) over dnspython; python3-yaml for
  # tests/tools/spf_suite_to_json.py. test_dmarc_cli: python3-authheaders cross-checks.
  # test_testssl: testssl.sh rates the TLS of the three listeners (uses openssl, above).
  # tests/fuzz: libFuzzer harnesses need clang (clang-14) and its runtime
  # (libclang-rt-14-dev: libFuzzer, ASan, UBSan).
  # test_service: systemd-analyze (package systemd; PID 1 need not be
  # systemd), setpriv (util-linux). test_package: scripts/package.sh needs
  # pandoc (man pages), dpkg-dev (dpkg-shlibdeps) and lintian.
  pkgs+=(python3 swaks msmtp curl dovecot-imapd procps iproute2 unbound python3-aiosmtpd
         python3-dkim python3-nacl opendkim-tools git-email libmailtools-perl postfix
         python3-spf python3-dnspython python3-yaml python3-authheaders python3-authres testssl.sh
         clang-14 libclang-rt-14-dev systemd pandoc dpkg-dev lintian
         prometheus  # test_metrics: promtool checks /metrics, a real Prometheus scrapes it
         # test_lmtp: Dovecot's LMTP server with the Sieve plugin (fileinto);
         # test_dovecot_auth uses the auth-client socket of the same Dovecot.
         dovecot-lmtpd dovecot-sieve
         pebble  # test_acme: Let's Encrypt's ACME test server, on loopback
         python3-milter  # test_milter: pymilter (libmilter) as the scripted milter
         rspamd  # test_rspamd: rspamd's proxy worker in milter mode (no redis needed)
         # test_dane: DNSSEC-signed zones (ldnsutils: ldns-keygen, ldns-signzone)
         # served by nsd behind a validating unbound (dnssec_zone.py); test
         # certificates and TLSA digests made with python3-cryptography.
         nsd ldnsutils python3-cryptography
  )
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  # Services installed for the tests (unbound, nsd, postfix, dovecot, opendkim)
  # must not start system daemons on ports 25/53/143: the tests run their
  # own on free loopback ports. policy-rc.d keeps them from starting, and
  # postfix is installed unconfigured.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
  fi
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" unbound "* && -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now unbound.service unbound-resolvconf.service || true
  fi
  if [[ " ${missing[*]} " == *" nsd "* && -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now nsd.service || true
  fi
fi
