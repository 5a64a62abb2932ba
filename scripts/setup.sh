#!/usr/bin/env bash
# Installs what the project needs on a machine with Node >= 20 and npm: the pinned pnpm, the few
# system tools the tests call (openssl, curl, shellcheck, python3 with venv; apt-get, when root and
# missing), the attack tests' Python venv (pyOpenSSL, pinned in scripts/python-requirements.txt), the
# workspace's dependencies, and a build. With --with-spire it also installs what the whole test
# suite needs: the pinned SPIRE (built from the Go module in deploy/spire/tools when Go is
# present), PostgreSQL and nftables (Debian's packages, for test/multihost) and the official Node.js
# binaries of the other supported lines (22, 24, 26, from the npm registry), SPIRE and Node.js
# cached in ~/.cache.
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

# The hostile peers of the attack tests (packages/spiffe's renegotiation tests, test/adversary):
# pyOpenSSL in one cached venv, made from the system python (a version manager's shim may point
# at a build without ssl) and reinstalled only when scripts/python-requirements.txt changed. The
# tests look for it there, or at SPIFFE_NODE_PYTHON.
step "pyOpenSSL (the hostile peers of the attack tests)"
PYENV="${HOME}/.cache/spiffe-node/pyenv"
requirements=scripts/python-requirements.txt
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3 || true)
usable() { [ -n "$python" ] && "$python" -c 'import ensurepip, ssl, venv' >/dev/null 2>&1; }
if ! usable && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
  python=/usr/bin/python3
fi
if usable; then
  if cmp -s "$requirements" "${PYENV}/.requirements" && "${PYENV}/bin/python" -c 'import OpenSSL, ssl' >/dev/null 2>&1; then
    echo "cached: ${PYENV}"
  else
    "$python" -m venv --clear "${PYENV}"
    "${PYENV}/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "${PYENV}/.requirements"
  fi
  "${PYENV}/bin/python" -c 'import OpenSSL; print("pyOpenSSL", OpenSSL.__version__)'
elif [ -n "${CI:-}" ]; then
  echo "setup.sh: python3 with the venv and ssl modules is missing; CI runs the attack tests, which need it" >&2
  exit 1
else
  echo "setup.sh: python3 with the venv and ssl modules is missing (install python3-venv); the attack tests that need pyOpenSSL will fail or be skipped" >&2
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
  # Installs Debian package $1 for $2 unless $3 (a path, globs allowed) exists; $4: required in CI.
  debian_package() {
    local found
    found=$(compgen -G "$3" | sort -V | tail -n 1 || true)
    if [ -n "$found" ]; then
      echo "installed: $found"
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"
    else
      echo "setup.sh: $3 is missing; install Debian's $1 package ($2 needs it)" >&2
      [ "$4" != required ] || [ -z "${CI:-}" ] || exit 1
    fi
  }
  step "PostgreSQL (the shared datastore of the two SPIRE servers of test/multihost)"
  # Only the binaries are used: test/multihost/topology.sh runs its own server in a namespace.
  debian_package postgresql test/multihost '/usr/lib/postgresql/*/bin/postgres' required
  step "nftables (packet loss on test/multihost's degraded links where the kernel has no sch_netem)"
  debian_package nftables "test/multihost's degraded links, where tc netem is missing" /usr/sbin/nft optional
  step "Node.js lines"
  bash scripts/node-lines.sh
fi

step "build"
pnpm build
