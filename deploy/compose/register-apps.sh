#!/usr/bin/env bash
# The spire-register one-shot of deploy/compose/compose.yaml: runs every example app's own
# register.sh against the SPIRE server, so compose registers exactly what the apps document
# (spiffe://example.org/server for unix:user:server-workload, spiffe://example.org/client for
# unix:user:client-workload, both under the node alias spiffe://example.org/host). The scripts
# leave an existing entry alone, so this can run at every `docker compose up`.
#
# Runs in the spire-tools image (deploy/docker/Dockerfile), which holds the scripts under
# /opt/spiffe-node/apps/<app>/register.sh and the spire-server binary. Settings:
#   APPS_DIR             /opt/spiffe-node/apps   where the <app>/register.sh files are
#   SPIRE_SERVER         spire-server            passed on to each register.sh
#   SPIRE_SERVER_SOCKET  /run/spire/server-socket/api.sock
#   X509_SVID_TTL, JWT_SVID_TTL                  passed on when set
set -euo pipefail

: "${APPS_DIR:=/opt/spiffe-node/apps}"
: "${SPIRE_SERVER:=spire-server}"
: "${SPIRE_SERVER_SOCKET:=/run/spire/server-socket/api.sock}"
export SPIRE_SERVER SPIRE_SERVER_SOCKET

shopt -s nullglob
scripts=("${APPS_DIR}"/*/register.sh)
if ((${#scripts[@]} == 0)); then
  echo "register-apps.sh: error: no <app>/register.sh below ${APPS_DIR}" >&2
  exit 1
fi
for script in "${scripts[@]}"; do
  app=$(basename "$(dirname "${script}")")
  echo "register-apps.sh: ${app}"
  bash "${script}"
done
echo "register-apps.sh: registered ${#scripts[@]} app(s)"
