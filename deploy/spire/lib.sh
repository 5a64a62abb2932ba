# Shared settings and helpers for deploy/spire/start.sh and stop.sh (sourced, not run).
#
# Every setting can be overridden from the environment; the defaults describe one SPIRE server and
# one agent on this host, with state under <repo>/.spire/state (git-ignored).
# shellcheck shell=bash disable=SC2034 # the variables here are used by the scripts that source it

spire_script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
spire_repo_root=$(cd -- "${spire_script_dir}/../.." && pwd)

: "${SPIRE_BIN_DIR:=${spire_repo_root}/.spire/bin}"
: "${SPIRE_STATE_DIR:=${spire_repo_root}/.spire/state}"
: "${SPIRE_LOG_DIR:=${SPIRE_STATE_DIR}/logs}"
: "${SPIRE_RUN_DIR:=${SPIRE_STATE_DIR}/run}"
: "${SPIRE_FEDERATES_WITH:=}"
: "${SPIRE_FEDERATES_WITH_URL:=}"
# With a federation partner the server also runs a bundle endpoint: server-federated.conf.
if [[ -n "${SPIRE_FEDERATES_WITH}" ]]; then
  : "${SPIRE_SERVER_CONF:=${spire_script_dir}/server-federated.conf}"
fi
: "${SPIRE_SERVER_CONF:=${spire_script_dir}/server.conf}"
: "${SPIRE_AGENT_CONF:=${spire_script_dir}/agent.conf}"
: "${SPIRE_TRUST_DOMAIN:=example.org}"
: "${SPIRE_SERVER_ADDRESS:=127.0.0.1}"
: "${SPIRE_SERVER_PORT:=8081}"
: "${SPIRE_SERVER_SOCKET:=/tmp/spire-server/private/api.sock}"
: "${SPIRE_SERVER_HEALTH_PORT:=18080}"
: "${SPIRE_AGENT_SOCKET:=/tmp/spire-agent/public/api.sock}"
: "${SPIRE_AGENT_HEALTH_PORT:=18088}"
: "${SPIRE_LOG_LEVEL:=INFO}"
: "${SPIRE_AGENT_SPIFFE_ID:=spiffe://${SPIRE_TRUST_DOMAIN}/host}"
: "${SPIRE_START_TIMEOUT:=30}"
: "${SPIRE_BUNDLE_ENDPOINT_ADDRESS:=127.0.0.1}"
: "${SPIRE_BUNDLE_ENDPOINT_PORT:=18443}"
export SPIRE_BIN_DIR SPIRE_STATE_DIR SPIRE_LOG_DIR SPIRE_RUN_DIR SPIRE_SERVER_CONF SPIRE_AGENT_CONF \
  SPIRE_TRUST_DOMAIN SPIRE_SERVER_ADDRESS SPIRE_SERVER_PORT SPIRE_SERVER_SOCKET \
  SPIRE_SERVER_HEALTH_PORT SPIRE_AGENT_SOCKET SPIRE_AGENT_HEALTH_PORT SPIRE_LOG_LEVEL \
  SPIRE_AGENT_SPIFFE_ID SPIRE_START_TIMEOUT SPIRE_FEDERATES_WITH SPIRE_FEDERATES_WITH_URL \
  SPIRE_BUNDLE_ENDPOINT_ADDRESS SPIRE_BUNDLE_ENDPOINT_PORT

spire_server_bin="${SPIRE_BIN_DIR}/spire-server"
spire_agent_bin="${SPIRE_BIN_DIR}/spire-agent"
spire_env_file="${SPIRE_RUN_DIR}/spire.env"

spire_log() { printf '%s: %s\n' "${spire_self:-spire}" "$*" >&2; }
spire_die() {
  printf '%s: error: %s\n' "${spire_self:-spire}" "$*" >&2
  exit 1
}

# Prints the pid recorded in pid file $1 when that process is alive and runs the program $2.
spire_running_pid() {
  local pid_file=$1 program=$2 pid args
  [[ -s "${pid_file}" ]] || return 1
  pid=$(<"${pid_file}")
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  args=$(ps -o args= -p "${pid}" 2>/dev/null) || return 1
  [[ "${args}" == *"${program}"* ]] || return 1
  printf '%s\n' "${pid}"
}

# True when something listens on TCP port $1 on this host (needs ss; assumes free without it).
spire_port_in_use() {
  command -v ss >/dev/null || return 1
  [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

# Stops the process of pid file $1 when it runs program $2: SIGTERM, then SIGKILL after
# SPIRE_STOP_TIMEOUT seconds (default 10). Removes the pid file.
spire_stop_process() {
  local pid_file=$1 program=$2 pid
  if ! pid=$(spire_running_pid "${pid_file}" "${program}"); then
    [[ -f "${pid_file}" ]] && spire_log "${program} is not running (removing stale ${pid_file})"
    rm -f "${pid_file}"
    return 0
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + ${SPIRE_STOP_TIMEOUT:-10}))
  while kill -0 "${pid}" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      spire_log "${program} (pid ${pid}) did not exit within ${SPIRE_STOP_TIMEOUT:-10}s of SIGTERM; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "${pid_file}"
  spire_log "stopped ${program} (pid ${pid})"
}

spire_server_healthy() {
  "${spire_server_bin}" healthcheck -socketPath "${SPIRE_SERVER_SOCKET}" >/dev/null 2>&1
}

spire_agent_healthy() {
  "${spire_agent_bin}" healthcheck -socketPath "${SPIRE_AGENT_SOCKET}" >/dev/null 2>&1
}

# Prints the last lines of log file $1, indented, for failure messages.
spire_log_tail() {
  [[ -f "$1" ]] || return 0
  printf '%s: last lines of %s:\n' "${spire_self:-spire}" "$1" >&2
  tail -n "${2:-15}" "$1" | sed 's/^/    /' >&2
}
