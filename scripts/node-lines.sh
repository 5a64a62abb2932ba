#!/usr/bin/env bash
# Installs the official Node.js binaries of the release lines the project supports, from the npm
# registry (the `node-linux-<arch>` packages carry the same build as nodejs.org), into a per-user
# cache, and prints where each one is. `node scripts/test-all.mjs` runs the line suites with them.
#
#   bash scripts/node-lines.sh          # install (idempotent: a second run only checks)
#   bash scripts/node-lines.sh --print  # print "<version> <bin dir>" per installed line
#
# Environment:
#   SPIFFE_NODE_LINES   the versions, space-separated (default: the pinned ones below)
#   SPIFFE_NODE_CACHE   the cache (default ~/.cache/spiffe-node/node; as root
#                       /var/cache/spiffe-node/node, because the tests run apps as other Unix
#                       users, who cannot execute anything below root's 0700 home)
set -euo pipefail

readonly DEFAULT_LINES="22.23.5 24.22.3 26.12.1"
lines="${SPIFFE_NODE_LINES:-$DEFAULT_LINES}"
if [ "$(id -u)" = 0 ]; then
  default_cache=/var/cache/spiffe-node/node
else
  default_cache="${XDG_CACHE_HOME:-${HOME}/.cache}/spiffe-node/node"
fi
cache="${SPIFFE_NODE_CACHE:-$default_cache}"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "node-lines.sh: no official Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

if [ "${1:-}" = "--print" ]; then
  for version in $lines; do
    [ -x "$cache/$version/bin/node" ] && printf '%s %s\n' "$version" "$cache/$version/bin"
  done
  exit 0
fi
[ $# -eq 0 ] || { echo "node-lines.sh: unknown argument $1 (expected --print)" >&2; exit 2; }

mkdir -p "$cache"
chmod 0755 "$cache"
for version in $lines; do
  dir="$cache/$version"
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
    echo "node-lines.sh: Node.js $version ready in $dir"
    continue
  fi
  work=$(mktemp -d "$cache/.tmp.XXXXXX")
  # npm verifies the package's integrity against the registry's published hash.
  (cd "$work" && npm pack --silent "node-linux-${arch}@${version}" >/dev/null)
  mkdir "$work/unpacked"
  tar xzf "$work"/node-linux-"${arch}"-"${version}".tgz -C "$work/unpacked" --strip-components=1
  got=$("$work/unpacked/bin/node" --version)
  [ "$got" = "v$version" ] || { echo "node-lines.sh: expected v$version, the package runs $got" >&2; exit 1; }
  rm -rf "$dir"
  mv "$work/unpacked" "$dir"
  rm -rf "$work"
  echo "node-lines.sh: Node.js $version installed in $dir (OpenSSL $("$dir/bin/node" -p process.versions.openssl))"
done
