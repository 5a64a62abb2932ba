#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts a SPIRE server and a SPIRE agent on this host (binaries from deploy/spire/install.sh).
#
#   deploy/spire/start.sh
#   . .spire/state/run/spire.env     # SPIRE_SERVER, SPIRE_SERVER_SOCKET, SPIFFE_ENDPOINT_SOCKET, ...
#   "$SPIRE_SERVER" entry create -socketPath "$SPIRE_SERVER_SOCKET" \
#     -parentID "$SPIRE_AGENT_SPIFFE_ID" -spiffeID spiffe://example.org/server -selector unix:uid:1001
#   deploy/spire/stop.sh
#
# Order: server -> `spire-server healthcheck` -> trust bundle for the agent's bootstrap ->
# join token (only when the agent has no cached SVID) -> agent -> `spire-agent healthcheck`.
# Idempotent: a server or agent this state dir already runs is reused; a foreign one answering on
# the same socket makes it stop with an error instead of taking the socket over.
#
# Settings (environment; defaults in deploy/spire/lib.sh): SPIRE_STATE_DIR (.spire/state),
# SPIRE_TRUST_DOMAIN (example.org), SPIRE_SERVER_PORT (8081), SPIRE_SERVER_SOCKET
# (/tmp/spire-server/private/api.sock), SPIRE_SERVER_HEALTH_PORT (18080), SPIRE_AGENT_SOCKET
# (/tmp/spire-agent/public/api.sock), SPIRE_AGENT_HEALTH_PORT (18088), SPIRE_AGENT_SPIFFE_ID
# (spiffe://<trust domain>/host), SPIRE_LOG_LEVEL (INFO), SPIRE_START_TIMEOUT (30 seconds).
# Federation: with SPIRE_FEDERATES_WITH (a trust domain) and SPIRE_FEDERATES_WITH_URL (its bundle
# endpoint) the server runs server-federated.conf, whose bundle endpoint listens on
# SPIRE_BUNDLE_ENDPOINT_ADDRESS:SPIRE_BUNDLE_ENDPOINT_PORT (127.0.0.1:18443); deploy/spire/federation.sh
# starts two such trust domains side by side and exchanges their first bundles.
# Logs: $SPIRE_STATE_DIR/logs/server.log and agent.log. Pid files and spire.env: $SPIRE_STATE_DIR/run.
set -euo pipefail

spire_self=start.sh
# shellcheck source=lib.sh
. "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

server_pid_file="${SPIRE_RUN_DIR}/server.pid"
agent_pid_file="${SPIRE_RUN_DIR}/agent.pid"
server_log="${SPIRE_LOG_DIR}/server.log"
agent_log="${SPIRE_LOG_DIR}/agent.log"
agent_data_dir="${SPIRE_STATE_DIR}/agent"
join_token_file="${SPIRE_RUN_DIR}/join-token"

check_prerequisites() {
  local bin
  for bin in "${spire_server_bin}" "${spire_agent_bin}"; do
    [[ -x "${bin}" ]] || spire_die "${bin} is missing: run deploy/spire/install.sh first (or set SPIRE_BIN_DIR)"
  done
  if [[ -n "${SPIRE_FEDERATES_WITH}" && -z "${SPIRE_FEDERATES_WITH_URL}" ]]; then
    spire_die "SPIRE_FEDERATES_WITH=${SPIRE_FEDERATES_WITH} needs SPIRE_FEDERATES_WITH_URL, the partner's bundle endpoint (https://host:port)"
  fi
  [[ -f "${SPIRE_SERVER_CONF}" ]] || spire_die "server config not found: ${SPIRE_SERVER_CONF}"
  [[ -f "${SPIRE_AGENT_CONF}" ]] || spire_die "agent config not found: ${SPIRE_AGENT_CONF}"
  (umask 077 && mkdir -p "${SPIRE_STATE_DIR}" "${SPIRE_STATE_DIR}/server" "${agent_data_dir}" \
    "${SPIRE_LOG_DIR}" "${SPIRE_RUN_DIR}")
  local out
  out=$("${spire_server_bin}" validate -expandEnv -config "${SPIRE_SERVER_CONF}" 2>&1) ||
    spire_die "the server config is invalid (${SPIRE_SERVER_CONF}, after \${VAR} expansion): ${out}"
  out=$("${spire_agent_bin}" validate -expandEnv -config "${SPIRE_AGENT_CONF}" 2>&1) ||
    spire_die "the agent config is invalid (${SPIRE_AGENT_CONF}, after \${VAR} expansion): ${out}"
}

# Runs "$@" as a daemon in its own session; the process writes its own pid to $1 (exec keeps it).
# Output is appended to log $2; stdin is closed so callers waiting on our stdout are not held.
launch() {
  local pid_file=$1 log_file=$2 program=$3
  shift 2
  printf '\n==== %s start.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"${log_file}"
  rm -f "${pid_file}"
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
  local starter=(bash -c 'echo $$ >"$0" && exec "$@"' "${pid_file}" "$@")
  if command -v setsid >/dev/null; then starter=(setsid "${starter[@]}"); fi
  "${starter[@]}" </dev/null >>"${log_file}" 2>&1 &
  local waited=0
  until [[ -s "${pid_file}" ]]; do
    ((waited++ < 50)) || spire_die "could not launch ${program} (no pid file ${pid_file} after 5s; see ${log_file})"
    sleep 0.1
  done
}

# Waits until check function $1 succeeds while the process of pid file $2 (program $3) lives.
# Returns 1 on timeout and 2 when the process exits. With a log file $4 and a first line $5, it
# also returns 4 as soon as that log (from line $5 on) reports that the server refused the agent
# (node attestation, or its first sync), which the agent would retry for ever; the log line is
# left in $attestation_error.
attestation_error=
wait_healthy() {
  local check=$1 pid_file=$2 program=$3 log_file=${4:-} log_start=${5:-1}
  local deadline=$((SECONDS + SPIRE_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    "${check}" && return 0
    spire_running_pid "${pid_file}" "${program}" >/dev/null || return 2
    if [[ -n "${log_file}" ]]; then
      attestation_error=$(tail -n "+${log_start}" "${log_file}" |
        grep -m1 -e 'Failed to retrieve attestation result' -e 'Failed to initialize manager.*authentication handshake failed' || true)
      [[ -z "${attestation_error}" ]] || return 4
    fi
    sleep 0.5
  done
  return 1
}

start_server() {
  local pid
  if pid=$(spire_running_pid "${server_pid_file}" spire-server); then
    wait_healthy spire_server_healthy "${server_pid_file}" spire-server ||
      spire_die "spire-server (pid ${pid}) runs but is not healthy on ${SPIRE_SERVER_SOCKET}; see ${server_log}, or run deploy/spire/stop.sh and start again"
    spire_log "spire-server already running (pid ${pid}), reusing it"
    return
  fi
  if spire_server_healthy; then
    spire_die "another SPIRE server already answers on ${SPIRE_SERVER_SOCKET} (not started from ${SPIRE_STATE_DIR}): stop it, or choose another SPIRE_SERVER_SOCKET"
  fi
  local port ports=("${SPIRE_SERVER_PORT}" "${SPIRE_SERVER_HEALTH_PORT}")
  [[ -z "${SPIRE_FEDERATES_WITH}" ]] || ports+=("${SPIRE_BUNDLE_ENDPOINT_PORT}")
  for port in "${ports[@]}"; do
    spire_port_in_use "${port}" &&
      spire_die "TCP port ${port} is already in use (SPIRE_SERVER_PORT=${SPIRE_SERVER_PORT}, SPIRE_SERVER_HEALTH_PORT=${SPIRE_SERVER_HEALTH_PORT}${SPIRE_FEDERATES_WITH:+, SPIRE_BUNDLE_ENDPOINT_PORT=${SPIRE_BUNDLE_ENDPOINT_PORT}}): free it or choose other ports"
  done
  if [[ ! -e "${SPIRE_STATE_DIR}/server/datastore.sqlite3" && -e "${agent_data_dir}/agent-data.json" ]]; then
    # A new datastore means a new CA: the agent's cached SVID cannot be trusted by it any more.
    spire_log "new server datastore: setting the agent's cached SVID aside (agent-data.json.stale)"
    mv -f "${agent_data_dir}/agent-data.json" "${agent_data_dir}/agent-data.json.stale"
  fi
  # Whoever can connect to the admin socket can register identities: keep its directory private.
  (umask 077 && mkdir -p "$(dirname -- "${SPIRE_SERVER_SOCKET}")")
  spire_log "starting spire-server (log: ${server_log})"
  launch "${server_pid_file}" "${server_log}" \
    "${spire_server_bin}" run -expandEnv -config "${SPIRE_SERVER_CONF}"
  local status=0
  wait_healthy spire_server_healthy "${server_pid_file}" spire-server || status=$?
  if ((status != 0)); then
    spire_stop_process "${server_pid_file}" spire-server
    spire_log_tail "${server_log}"
    if ((status == 2)); then
      spire_die "spire-server exited during startup; the reason is in ${server_log} (a port in use, a bad config value, or a datastore from another trust domain in ${SPIRE_STATE_DIR}/server)"
    fi
    spire_die "spire-server did not become healthy within ${SPIRE_START_TIMEOUT}s on ${SPIRE_SERVER_SOCKET}; see ${server_log}"
  fi
  spire_log "spire-server is healthy (pid $(<"${server_pid_file}"))"
}

# The agent trusts the server through this bundle when it attests for the first time.
write_bootstrap_bundle() {
  local bundle="${agent_data_dir}/bootstrap-bundle.pem"
  "${spire_server_bin}" bundle show -socketPath "${SPIRE_SERVER_SOCKET}" -format pem >"${bundle}.new" ||
    spire_die "spire-server bundle show failed on ${SPIRE_SERVER_SOCKET}; see ${server_log}"
  mv -f "${bundle}.new" "${bundle}"
}

# Writes a fresh one-time join token (0600) whose agent gets the node alias SPIRE_AGENT_SPIFFE_ID.
generate_join_token() {
  local out token
  out=$("${spire_server_bin}" token generate -socketPath "${SPIRE_SERVER_SOCKET}" \
    -spiffeID "${SPIRE_AGENT_SPIFFE_ID}" -ttl 600 2>&1) ||
    spire_die "spire-server token generate failed: ${out}"
  token=$(sed -n 's/^Token: *//p' <<<"${out}")
  [[ -n "${token}" ]] || spire_die "unexpected output from spire-server token generate: ${out}"
  (umask 077 && printf '%s' "${token}" >"${join_token_file}")
}

# Starts the agent and waits for it. Returns 0 when healthy, 1 on timeout, 2 when it exited,
# 3 when it cannot attest for want of a join token, 4 when the server refused it. Unless it is
# healthy, the agent is stopped.
launch_agent() {
  local args=(run -expandEnv -config "${SPIRE_AGENT_CONF}")
  [[ -f "${join_token_file}" ]] && args+=(-joinTokenFile "${join_token_file}")
  local log_start=1
  [[ -f "${agent_log}" ]] && log_start=$(($(wc -l <"${agent_log}") + 1))
  launch "${agent_pid_file}" "${agent_log}" "${spire_agent_bin}" "${args[@]}"
  local status=0
  wait_healthy spire_agent_healthy "${agent_pid_file}" spire-agent "${agent_log}" "${log_start}" || status=$?
  rm -f "${join_token_file}"
  # An agent that failed to start is not left behind (a later start.sh would take it as ours).
  ((status == 0)) || spire_stop_process "${agent_pid_file}" spire-agent
  if ((status == 4)) && [[ "${attestation_error}" == *'join token was not provided'* ]]; then
    return 3
  fi
  return "${status}"
}

start_agent() {
  local pid
  if pid=$(spire_running_pid "${agent_pid_file}" spire-agent); then
    wait_healthy spire_agent_healthy "${agent_pid_file}" spire-agent ||
      spire_die "spire-agent (pid ${pid}) runs but is not healthy on ${SPIRE_AGENT_SOCKET}; see ${agent_log}, or run deploy/spire/stop.sh and start again"
    spire_log "spire-agent already running (pid ${pid}), reusing it"
    return
  fi
  # SPIRE's agent deletes whatever file is at its socket path: never take over a live agent's.
  if spire_agent_healthy; then
    spire_die "another SPIRE agent already answers on ${SPIRE_AGENT_SOCKET} (not started from ${SPIRE_STATE_DIR}): stop it, or choose another SPIRE_AGENT_SOCKET"
  fi
  spire_port_in_use "${SPIRE_AGENT_HEALTH_PORT}" &&
    spire_die "TCP port ${SPIRE_AGENT_HEALTH_PORT} (SPIRE_AGENT_HEALTH_PORT) is already in use: free it or choose another port"

  write_bootstrap_bundle
  if [[ -s "${agent_data_dir}/agent-data.json" ]]; then
    spire_log "starting spire-agent with its cached SVID (log: ${agent_log})"
  else
    generate_join_token
    spire_log "starting spire-agent with a new join token for ${SPIRE_AGENT_SPIFFE_ID} (log: ${agent_log})"
  fi
  local status=0
  launch_agent || status=$?
  if ((status == 3)); then
    # The cached agent SVID expired while the agent was down; join-token agents cannot
    # re-attest with it, so attest anew with a fresh token.
    spire_log "the cached agent SVID is no longer usable; attesting again with a new join token"
    mv -f "${agent_data_dir}/agent-data.json" "${agent_data_dir}/agent-data.json.stale"
    generate_join_token
    status=0
    launch_agent || status=$?
  fi
  case "${status}" in
    0) ;;
    1)
      spire_log_tail "${agent_log}"
      spire_die "spire-agent did not become healthy within ${SPIRE_START_TIMEOUT}s on ${SPIRE_AGENT_SOCKET}; see ${agent_log}. The agent has been stopped; the server keeps running (deploy/spire/stop.sh stops it)"
      ;;
    4)
      spire_die "the SPIRE server refused the agent: ${attestation_error#*error=}
  'join token does not exist or has already been used': delete ${agent_data_dir}/agent-data.json
  and start again (a new token is generated).
  'x509bundle: no X.509 bundle found for trust domain': SPIRE_TRUST_DOMAIN differs from the server's.
  'certificate signed by unknown authority': the agent's cached SVID comes from another server
  state; delete ${agent_data_dir}/agent-data.json and start again.
  The agent has been stopped; the server keeps running (deploy/spire/stop.sh stops it). Log: ${agent_log}"
      ;;
    *)
      spire_log_tail "${agent_log}"
      spire_die "spire-agent exited during startup; the reason is in ${agent_log} (a bad config value or a port in use). The server keeps running (deploy/spire/stop.sh stops it)"
      ;;
  esac
  spire_log "spire-agent is healthy (pid $(<"${agent_pid_file}"))"
}

write_env_file() {
  local tmp="${spire_env_file}.new"
  {
    printf '# Written by deploy/spire/start.sh; source it: . %q\n' "${spire_env_file}"
    printf 'export SPIRE_SERVER=%q\n' "${spire_server_bin}"
    printf 'export SPIRE_AGENT=%q\n' "${spire_agent_bin}"
    printf 'export SPIRE_STATE_DIR=%q\n' "${SPIRE_STATE_DIR}"
    printf 'export SPIRE_TRUST_DOMAIN=%q\n' "${SPIRE_TRUST_DOMAIN}"
    printf 'export SPIRE_SERVER_SOCKET=%q\n' "${SPIRE_SERVER_SOCKET}"
    printf 'export SPIRE_AGENT_SOCKET=%q\n' "${SPIRE_AGENT_SOCKET}"
    printf 'export SPIRE_AGENT_SPIFFE_ID=%q\n' "${SPIRE_AGENT_SPIFFE_ID}"
    printf 'export SPIFFE_ENDPOINT_SOCKET=%q\n' "unix://${SPIRE_AGENT_SOCKET}"
    if [[ -n "${SPIRE_FEDERATES_WITH}" ]]; then
      printf 'export SPIRE_FEDERATES_WITH=%q\n' "${SPIRE_FEDERATES_WITH}"
      printf 'export SPIRE_FEDERATES_WITH_URL=%q\n' "${SPIRE_FEDERATES_WITH_URL}"
      printf 'export SPIRE_BUNDLE_ENDPOINT_URL=%q\n' "https://${SPIRE_BUNDLE_ENDPOINT_ADDRESS}:${SPIRE_BUNDLE_ENDPOINT_PORT}"
    fi
  } >"${tmp}"
  mv -f "${tmp}" "${spire_env_file}"
}

main() {
  check_prerequisites
  start_server
  start_agent
  write_env_file
  cat <<EOF
SPIRE is running (trust domain ${SPIRE_TRUST_DOMAIN})
  server: pid $(<"${server_pid_file}"), admin socket ${SPIRE_SERVER_SOCKET}, log ${server_log}
  agent:  pid $(<"${agent_pid_file}"), Workload API unix://${SPIRE_AGENT_SOCKET}, log ${agent_log}
  node alias for workload entries (-parentID): ${SPIRE_AGENT_SPIFFE_ID}
  environment for scripts: . ${spire_env_file}
EOF
  if [[ -n "${SPIRE_FEDERATES_WITH}" ]]; then
    cat <<EOF
  bundle endpoint: https://${SPIRE_BUNDLE_ENDPOINT_ADDRESS}:${SPIRE_BUNDLE_ENDPOINT_PORT} (https_spiffe, spiffe://${SPIRE_TRUST_DOMAIN}/spire/server)
  federates with ${SPIRE_FEDERATES_WITH} at ${SPIRE_FEDERATES_WITH_URL} (first bundle: deploy/spire/federation.sh)
EOF
  fi
}

main "$@"
