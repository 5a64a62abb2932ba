#!/usr/bin/env bash
# `pnpm demo:spire`: the example scenarios on a real SPIRE server and agent. Installs the pinned
# SPIRE when missing (deploy/spire/install.sh), starts it (start.sh), creates the workload users,
# registers every app through its own register.sh with the real spire-server, runs every scenario
# and failure case as those users, prints the same verdict as `pnpm demo`, and stops SPIRE again.
# Needs root.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh: run as root: SPIRE's unix attestor tells the workloads apart by their Unix users" >&2
  exit 1
fi
bash "${repo}/deploy/spire/install.sh"
if [ ! -f "${repo}/test/harness/dist/demo.js" ]; then
  (cd "${repo}" && pnpm build)
fi
exec node "${repo}/test/harness/dist/demo.js" --agent spire "$@"
