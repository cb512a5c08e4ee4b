#!/usr/bin/env bash
# Builds the Debian package tern_<version>_<arch>.deb from this tree
# (docs/packaging.md). Usage:
#   scripts/package.sh [--binary PATH] [--out DIR] [--lintian]
#     --binary PATH  package this tern binary (stripped on the way) instead of
#                    making a release build (cmake --preset release); the
#                    package test uses the binary ctest already built.
#     --out DIR      where the .deb goes (default: build/package)
#     --lintian      run lintian on the result; its errors fail the script.
# Prints the path of the .deb on the last line.
#
# dpkg-deb with hand-written maintainer scripts (packaging/debian/), no
# debhelper: the package is one binary, a unit, a conffile and man pages.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

binary="" out="$src/build/package" lint=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --lintian) lint=1; shift ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR] [--lintian]" >&2; exit 2 ;;
  esac
done

# The version is CMakeLists.txt's project() version: a native package.
version=$(sed -nE 's/^project\(tern VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package: no project() version in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)
# packaging/debian/changelog's latest entry must be this version.
if ! head -1 packaging/debian/changelog | grep -qF "tern ($version)"; then
  echo "package: packaging/debian/changelog does not start with version $version" >&2
  exit 1
fi

if [ -z "$binary" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target tern
  binary=build/release/tern
fi
[ -x "$binary" ] || { echo "package: $binary is not an executable" >&2; exit 1; }

mkdir -p "$out"
stage=$(mktemp -d "$out/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
umask 022

# The binary, stripped as dh_strip does; sendmail(8) as a link to it: tern
# acts as sendmail when called by that name. Debian policy 7.5 and 11.6: an
# MTA ships /usr/sbin/sendmail and Provides, Conflicts with and Replaces
# mail-transport-agent (below), so exactly one MTA is installed; Debian's
# MTAs do not use update-alternatives for it.
install -d "$root/usr/sbin" "$root/usr/lib"
install -m 0755 "$binary" "$root/usr/sbin/tern"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/tern"
ln -s tern "$root/usr/sbin/sendmail"
ln -s ../sbin/sendmail "$root/usr/lib/sendmail"

install -D -m 0644 packaging/tern.service "$root/lib/systemd/system/tern.service"
install -D -m 0644 packaging/tern.toml "$root/etc/tern/tern.toml"

# Man pages from the docs: tern(8) from docs/man/tern.8.md; tern.toml(5) is
# docs/man/tern.toml.5.md followed by docs/config.md (headings one level up);
# tables become lists (docs/man/tables-as-lists.lua).
man=$root/usr/share/man
install -d "$man/man8" "$man/man5"
filter=docs/man/tables-as-lists.lua
sed "s/@VERSION@/$version/" docs/man/tern.8.md |
  pandoc -s -f markdown -t man --lua-filter=$filter -o "$stage/tern.8"
{
  sed "s/@VERSION@/$version/" docs/man/tern.toml.5.md
  sed -e 1d -e 's/^## /# /' -e 's/^### /## /' docs/config.md
} | pandoc -s -f markdown -t man --lua-filter=$filter -o "$stage/tern.toml.5"
gzip -9n -c "$stage/tern.8" >"$man/man8/tern.8.gz"
gzip -9n -c "$stage/tern.toml.5" >"$man/man5/tern.toml.5.gz"
ln -s tern.8.gz "$man/man8/sendmail.8.gz"

doc=$root/usr/share/doc/tern
install -d "$doc/examples"
install -m 0644 packaging/debian/copyright "$doc/copyright"
gzip -9n -c packaging/debian/changelog >"$doc/changelog.gz"
install -m 0644 examples/tern.toml "$doc/examples/tern.toml"
for f in README.md docs/config.md docs/security.md docs/logging.md docs/packaging.md; do
  [ -f "$f" ] && gzip -9n -c "$f" >"$doc/$(basename "$f").gz"
done

# Shared library dependencies, as dh_shlibdeps finds them.
mkdir -p "$stage/src/debian"
printf 'Source: tern\n\nPackage: tern\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$root/usr/sbin/tern" 2>/dev/null |
         sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
  "$root/DEBIAN/"
echo /etc/tern/tern.toml >"$root/DEBIAN/conffiles"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
  xargs -0 md5sum >DEBIAN/md5sums)
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
# dns-root-data: the DNSSEC trust anchor [dns] trust_anchor reads by default
# (DANE, docs/tls.md); tern refuses to start without it.
cat >"$root/DEBIAN/control" <<EOF
Package: tern
Version: $version
Architecture: $arch
Maintainer: tern maintainers <tern@packages.invalid>
Installed-Size: $size
Depends: adduser, dns-root-data, $shlibs
Provides: mail-transport-agent
Conflicts: mail-transport-agent
Replaces: mail-transport-agent
Section: mail
Priority: optional
Description: SMTP mail server with queue, relay, DKIM, SPF and DMARC
 tern receives mail for its domains over SMTP and delivers it to Maildirs,
 accepts mail from authenticated users (submission, STARTTLS and implicit
 TLS) and relays it by MX with a durable queue, retries and bounces. It
 checks SPF, DKIM and DMARC, signs with DKIM, and provides sendmail(8).
 .
 The package runs it as a systemd service (tern.service) as the user tern,
 with its configuration in /etc/tern/tern.toml and data in /var/lib/tern.
EOF

deb=$out/tern_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
if [ "$lint" = 1 ]; then
  lintian --fail-on error --tag-display-limit 0 "$deb" >&2
fi
echo "$deb"
