#!/usr/bin/env bash
# Installs what the project needs on a machine with Node >= 20 and npm: the pinned pnpm, the few
# system tools the tests call (openssl, curl, shellcheck, python3 with venv; apt-get, when root and
# missing), the adversary suite's Python venv (pyOpenSSL, pinned in test/adversary/py), the
# workspace's dependencies, and a build. With --with-spire it also installs what the whole test
# suite needs: the pinned SPIRE (built from the Go module in deploy/spire/tools when Go is
# present) and the official Node.js binaries of the other supported lines (22, 24, 26, from the
# npm registry), both cached in ~/.cache.
#
#   bash scripts/setup.sh               then: pnpm demo
#   bash scripts/setup.sh --with-spire  then: pnpm test
set -euo pipefail
cd "$(dirname "$0")/.."

with_spire=false
for arg in "$@"; do
  case "$arg" in
    --with-spire) with_spire=true ;;
    *) echo "setup.sh: unknown argument $arg (expected --with-spire)" >&2; exit 2 ;;
  esac
done

step() { printf '\n### %s\n' "$*"; }

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
step "pnpm ${PNPM_VERSION}"
if [ "$(pnpm --version 2>/dev/null || true)" != "${PNPM_VERSION}" ]; then
  npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}"
fi
pnpm --version

step "system tools"
missing=()
for tool in openssl curl shellcheck; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "setup.sh: missing ${missing[*]}; install them with your package manager (tests that need them say so)" >&2
  fi
fi

# The adversary suite's hostile peers (test/adversary): pyOpenSSL in a cached venv, reinstalled
# only when test/adversary/py/requirements.txt changed.
step "adversary venv"
venv="${SPIFFE_ADVERSARY_VENV:-$HOME/.cache/spiffe-node/adversary-venv}"
requirements=test/adversary/py/requirements.txt
# The system python first: a version manager's shim may point at a build without ssl.
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import ensurepip, ssl, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
    python=/usr/bin/python3
  else
    echo "setup.sh: python3 with the venv and ssl modules is missing; install python3-venv (the adversary suite needs it)" >&2
  fi
fi
if [ -n "$python" ] && "$python" -c 'import ensurepip, ssl, venv' >/dev/null 2>&1; then
  stamp="$venv/.requirements"
  if ! cmp -s "$requirements" "$stamp" || ! "$venv/bin/python" -c 'import OpenSSL, ssl' >/dev/null 2>&1; then
    "$python" -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  fi
  "$venv/bin/python" -c 'import OpenSSL; print("pyOpenSSL", OpenSSL.__version__)'
fi

step "dependencies"
if [ -n "${CI:-}" ]; then
  pnpm install --frozen-lockfile
else
  pnpm install
fi

if [ "$with_spire" = true ]; then
  step "SPIRE"
  bash deploy/spire/install.sh
  step "Node.js lines"
  bash scripts/node-lines.sh
fi

step "build"
pnpm build
