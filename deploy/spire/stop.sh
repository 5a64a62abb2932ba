#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the SPIRE agent and server that deploy/spire/start.sh started for SPIRE_STATE_DIR
# (default <repo>/.spire/state) and removes their sockets. Idempotent: nothing running is fine.
#
#   deploy/spire/stop.sh
#
# The state (datastore, CA keys, the agent's SVID, registration entries) stays in SPIRE_STATE_DIR,
# so the next start.sh keeps the same trust bundle and entries; delete that directory for a fresh
# trust domain. Each process gets SIGTERM and SPIRE_STOP_TIMEOUT seconds (default 10) to exit,
# then SIGKILL.
set -euo pipefail

spire_self=stop.sh
# shellcheck source=lib.sh
. "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# The socket paths actually in use are those start.sh recorded.
if [[ -f "${spire_env_file}" ]]; then
  # shellcheck disable=SC1090 # written by start.sh
  . "${spire_env_file}"
fi

# Agent first: it would otherwise log connection errors while the server goes away.
spire_stop_process "${SPIRE_RUN_DIR}/agent.pid" spire-agent
spire_stop_process "${SPIRE_RUN_DIR}/server.pid" spire-server
rm -f "${SPIRE_RUN_DIR}/join-token" "${spire_env_file}"
# A socket someone else still serves (an agent or server of another state dir) is left alone.
spire_agent_healthy || rm -f "${SPIRE_AGENT_SOCKET}"
spire_server_healthy || rm -f "${SPIRE_SERVER_SOCKET}"
spire_log "stopped; sockets ${SPIRE_AGENT_SOCKET} and ${SPIRE_SERVER_SOCKET} removed"
