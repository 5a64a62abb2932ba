#!/usr/bin/env bash
# Hosts that are really apart: SPIRE in Linux network namespaces on this machine (root only).
#
#   test/multihost/topology.sh up <run-dir>     build the topology, start SPIRE, register workloads
#   test/multihost/topology.sh down <run-dir>   stop everything it started and remove it
#
# One network namespace is one host. The hosts are wired to one bridge that lives in a namespace
# of its own (the "switch"), so nothing is added to this machine's own network namespace: the
# private addresses below exist only inside the topology and no namespace has a default route.
#
#   host (namespace <prefix>-<host>)   address       runs
#   a-server                          10.231.0.10   spire-server 1 of example.org
#   a-server2                         10.231.0.14   spire-server 2 of example.org (same datastore: HA)
#   a-db                              10.231.0.13   PostgreSQL, the datastore of both example.org servers
#   a-host1                           10.231.0.11   spire-agent of example.org (join token)
#   a-host2                           10.231.0.12   spire-agent of example.org (join token)
#   b-host                            10.231.0.20   spire-server + spire-agent, trust domain partner.org
#
# The agents of example.org, and partner.org's server for the bundle endpoint, reach the two
# example.org servers through one name, spire-a.internal, that resolves to both addresses (a hosts
# file per namespace, /etc/netns/<namespace>/hosts, which `ip netns exec` mounts over /etc/hosts).
#
# example.org and partner.org federate through their bundle endpoints (port 8443, profile
# https_spiffe, refresh hint 1m), bootstrapped with `bundle show -format spiffe` / `bundle set
# -format spiffe`.
# Workload entries (unix:user selectors, each under the agent of its host, -federatesWith the
# other trust domain):
#   a-host1 server-workload  spiffe://example.org/server
#   a-host2 client-workload  spiffe://example.org/client
#   a-host2 server-workload  spiffe://example.org/other     (a valid SVID the apps do not authorize)
#   b-host  client-workload  spiffe://partner.org/client
#   b-host  server-workload  spiffe://partner.org/other
#
# `up` prints (and writes to <run-dir>/topology.env) shell assignments: MH_PREFIX, MH_NS_<HOST>,
# MH_ADDR_<HOST>, MH_SOCKET_<HOST> (a host's Workload API), MH_SERVER_SOCKET_<HOST>. `up` tears
# down what it built when it fails or is interrupted; `down` is idempotent. Every process of the
# topology runs inside one of its namespaces, so `down` finds them with `ip netns pids`.
#
# Faults, on a topology that is up (for the fault tests, and by hand):
#   topology.sh server-stop|server-kill|server-start <run-dir> <host>   a SPIRE server (TERM / KILL)
#   topology.sh agent-stop|agent-kill|agent-start <run-dir> <host>      a SPIRE agent (TERM / KILL;
#                                                                        restarts with its cached SVID)
#   topology.sh link-down|link-up <run-dir> <host>                      the host's cable
#   topology.sh cut-servers|restore-servers <run-dir> <host>            drop everything the host
#                                        sends to example.org's servers (blackhole routes), and back
#   topology.sh netem <run-dir> <host> "<netem args>"|clear             loss/delay on its eth0
#                                        (needs the kernel's sch_netem)
#   topology.sh throttle <run-dir> <host> "<tbf args>"|clear            a slow link (tbf)
#   topology.sh loss <run-dir> <host> <percent>|clear                    drop that share of what
#                                        the host sends, at random (nftables `numgen random`): the
#                                        loss of netem, for kernels without sch_netem
#
# Environment: SPIRE_BIN_DIR (default <repo>/.spire/bin), MH_PREFIX (default mh<pid>, unique per
# run), MH_X509_SVID_TTL (seconds, default 3600), MH_TIMEOUT (seconds per wait, default 60),
# MH_PG_BIN (PostgreSQL's bin folder, default the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "${script_dir}/../.." && pwd)
bin_dir=${SPIRE_BIN_DIR:-${repo_root}/.spire/bin}
timeout=${MH_TIMEOUT:-60}
svid_ttl=${MH_X509_SVID_TTL:-3600}

readonly HOSTS=(a-server a-server2 a-db a-host1 a-host2 b-host)
declare -A ADDR=([a-server]=10.231.0.10 [a-server2]=10.231.0.14 [a-db]=10.231.0.13 [a-host1]=10.231.0.11
  [a-host2]=10.231.0.12 [b-host]=10.231.0.20)
readonly SPIRE_PORT=8081 BUNDLE_PORT=8443 PG_PORT=5432
# The refresh hint of both bundle endpoints (src/ca-rotation.ts knows it as REFRESH_HINT_SECONDS).
readonly REFRESH_HINT=1m
# The one name of example.org's servers.
readonly A_SERVERS_NAME=spire-a.internal

log() { printf 'topology: %s\n' "$*" >&2; }
die() {
  printf 'topology: error: %s\n' "$*" >&2
  exit 1
}

usage() { die "usage: $0 up|down <run-dir>, or $0 <fault> <run-dir> <host> (see the header)"; }

# ---- teardown ---------------------------------------------------------------------------------

# Stops every process inside the namespaces of prefix $1 (TERM, then KILL), then deletes them.
teardown() {
  local prefix=$1 ns waited
  local namespaces=() pids=()
  for ns in $(ip netns list | awk '{print $1}'); do
    [[ "${ns}" == "${prefix}-"* ]] && namespaces+=("${ns}")
  done
  ((${#namespaces[@]} > 0)) || return 0
  for waited in $(seq 1 50); do
    pids=()
    for ns in "${namespaces[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "${ns}" 2>/dev/null || true); done
    ((${#pids[@]} > 0)) || break
    if ((waited == 1)); then
      kill -TERM "${pids[@]}" 2>/dev/null || true
    elif ((waited == 50)); then
      kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    sleep 0.1
  done
  for ns in "${namespaces[@]}"; do
    ip netns del "${ns}" 2>/dev/null || log "could not delete namespace ${ns}"
    rm -rf "/etc/netns/${ns}"
  done
  log "removed namespaces ${namespaces[*]}"
}

cmd_down() {
  local run_dir=$1 prefix
  [[ -f "${run_dir}/prefix" ]] || return 0
  prefix=$(<"${run_dir}/prefix")
  [[ "${prefix}" =~ ^[a-z0-9]+$ ]] || die "unexpected prefix in ${run_dir}/prefix: ${prefix}"
  teardown "${prefix}"
  rm -rf "${run_dir}"
}

# ---- network ----------------------------------------------------------------------------------

ns_of() { printf '%s-%s' "${prefix}" "$1"; }
in_host() { # host, command...
  local host=$1
  shift
  ip netns exec "$(ns_of "${host}")" "$@"
}

build_network() {
  local sw host
  sw=$(ns_of switch)
  ip netns add "${sw}"
  ip -n "${sw}" link add br0 type bridge
  ip -n "${sw}" link set br0 up
  for host in "${HOSTS[@]}"; do
    ip netns add "$(ns_of "${host}")"
    # The host's eth0 and its port on the switch are created directly in their namespaces.
    ip link add name eth0 netns "$(ns_of "${host}")" type veth peer name "${host}" netns "${sw}"
    ip -n "${sw}" link set "${host}" master br0
    ip -n "${sw}" link set "${host}" up
    ip -n "$(ns_of "${host}")" addr add "${ADDR[${host}]}/24" dev eth0
    ip -n "$(ns_of "${host}")" link set eth0 up
    ip -n "$(ns_of "${host}")" link set lo up
    mkdir -p "/etc/netns/$(ns_of "${host}")"
    printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "${ADDR[a-server]}" "${A_SERVERS_NAME}" \
      "${ADDR[a-server2]}" "${A_SERVERS_NAME}" >"/etc/netns/$(ns_of "${host}")/hosts"
  done
  log "namespaces up: ${HOSTS[*]/#/${prefix}-} (bridge in ${sw})"
}

# ---- SPIRE ------------------------------------------------------------------------------------

# Starts "$@" in host $1's namespace as a daemon; its output goes to log $2, its pid to $3.
launch() {
  local host=$1 log_file=$2 pid_file=$3
  shift 3
  # shellcheck disable=SC2016 # $$ and $0 belong to the inner shell
  in_host "${host}" setsid bash -c 'echo $$ >"$0" && exec "$@"' "${pid_file}" "$@" </dev/null >>"${log_file}" 2>&1 &
}

# Waits until "$@" succeeds, at most $timeout seconds; $1 says what is awaited.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "${what} within ${timeout}s"
    sleep 0.5
  done
}

write_server_conf() { # host, trust domain, partner trust domain, partner bundle endpoint URL
  local host=$1 td=$2 partner=$3 partner_url=$4 dir="${run_dir}/$1/server" datastore
  if [[ "${td}" == example.org ]]; then
    # Both example.org servers share one PostgreSQL database: that is what makes them one server.
    datastore="database_type = \"postgres\"
            connection_string = \"dbname=spire user=spire password=$(<"${run_dir}/a-db/password") host=${ADDR[a-db]} port=${PG_PORT} sslmode=disable\""
  else
    datastore="database_type = \"sqlite3\"
            connection_string = \"${dir}/data/datastore.sqlite3\""
  fi
  (umask 077 && cat >"${dir}/server.conf") <<EOF
server {
    trust_domain = "${td}"
    bind_address = "${ADDR[${host}]}"
    bind_port = "${SPIRE_PORT}"
    socket_path = "${dir}/api.sock"
    data_dir = "${dir}/data"
    log_level = "INFO"
    ca_ttl = "24h"
    default_x509_svid_ttl = "${svid_ttl}s"
    default_jwt_svid_ttl = "5m"

    federation {
        bundle_endpoint {
            address = "${ADDR[${host}]}"
            port = ${BUNDLE_PORT}
            profile "https_spiffe" {}
            # How often partners refetch this bundle: SPIRE refetches at a quarter of it, and
            # never keeps a hint below 1m. The CA rotation phase measures pickups against it.
            refresh_hint = "${REFRESH_HINT}"
        }
        federates_with "${partner}" {
            bundle_endpoint_url = "${partner_url}"
            bundle_endpoint_profile "https_spiffe" {
                endpoint_spiffe_id = "spiffe://${partner}/spire/server"
            }
        }
    }
}

plugins {
    DataStore "sql" {
        plugin_data {
            ${datastore}
        }
    }
    NodeAttestor "join_token" {
        plugin_data {}
    }
    KeyManager "disk" {
        plugin_data {
            keys_path = "${dir}/data/keys.json"
        }
    }
}
EOF
}

# PostgreSQL on a-db, as the postgres user, its data in the run directory, reachable only on the
# topology's network; role and database `spire` with a password made for this run.
start_postgres() {
  local pg_bin=${MH_PG_BIN:-} dir="${run_dir}/a-db"
  if [[ -z "${pg_bin}" ]]; then pg_bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1); fi
  [[ -x "${pg_bin}/postgres" ]] ||
    die "PostgreSQL is not installed (no postgres below ${pg_bin:-/usr/lib/postgresql}): run bash scripts/setup.sh --with-spire, or apt-get install postgresql"
  id -u postgres >/dev/null 2>&1 || die "the postgres user is missing (Debian's postgresql package creates it)"
  install -d -o postgres -m 0700 "${dir}/pgdata" "${dir}/pgsock"
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"${dir}/password")
  runuser -u postgres -- "${pg_bin}/initdb" -D "${dir}/pgdata" --auth-local=peer --auth-host=scram-sha-256 \
    --username=postgres >"${dir}/initdb.log" 2>&1 || die "initdb failed; see ${dir}/initdb.log"
  printf 'host spire spire %s/24 scram-sha-256\n' "${ADDR[a-db]%.*}.0" >>"${dir}/pgdata/pg_hba.conf"
  launch a-db "${dir}/postgres.log" "${dir}/pid" runuser -u postgres -- "${pg_bin}/postgres" -D "${dir}/pgdata" \
    -c "listen_addresses=${ADDR[a-db]}" -c "port=${PG_PORT}" -c "unix_socket_directories=${dir}/pgsock"
  wait_for "PostgreSQL on a-db did not accept connections" \
    in_host a-db runuser -u postgres -- "${pg_bin}/pg_isready" -q -h "${dir}/pgsock" -p "${PG_PORT}"
  in_host a-db runuser -u postgres -- "${pg_bin}/psql" -q -v ON_ERROR_STOP=1 -h "${dir}/pgsock" -p "${PG_PORT}" \
    -c "CREATE ROLE spire LOGIN PASSWORD '$(<"${dir}/password")'" -c "CREATE DATABASE spire OWNER spire" >/dev/null
  log "PostgreSQL up on a-db (${ADDR[a-db]}:${PG_PORT})"
}

write_agent_conf() { # host, trust domain, server address
  local host=$1 td=$2 server_address=$3 dir="${run_dir}/$1/agent"
  cat >"${dir}/agent.conf" <<EOF
agent {
    trust_domain = "${td}"
    server_address = "${server_address}"
    server_port = "${SPIRE_PORT}"
    socket_path = "${run_dir}/$1/public/api.sock"
    trust_bundle_path = "${dir}/bootstrap-bundle.pem"
    data_dir = "${dir}/data"
    log_level = "INFO"
}

plugins {
    NodeAttestor "join_token" {
        plugin_data {}
    }
    KeyManager "disk" {
        plugin_data {
            directory = "${dir}/data"
        }
    }
    WorkloadAttestor "unix" {
        plugin_data {}
    }
}
EOF
}

server_cli() { # server host, spire-server subcommand and flags...
  local host=$1 sub=$2
  shift 2
  in_host "${host}" "${bin_dir}/spire-server" "${sub}" "$@" -socketPath "${run_dir}/${host}/server/api.sock"
}
server_cli2() { # server host, command, subcommand, flags... (e.g. entry create)
  local host=$1 c1=$2 c2=$3
  shift 3
  in_host "${host}" "${bin_dir}/spire-server" "${c1}" "${c2}" -socketPath "${run_dir}/${host}/server/api.sock" "$@"
}

start_server() { # host
  local host=$1
  "${bin_dir}/spire-server" validate -config "${run_dir}/${host}/server/server.conf" >/dev/null ||
    die "invalid server config ${run_dir}/${host}/server/server.conf"
  launch "${host}" "${run_dir}/${host}/server/server.log" "${run_dir}/${host}/server/pid" \
    "${bin_dir}/spire-server" run -config "${run_dir}/${host}/server/server.conf"
}

start_agent() { # host, server host, agent ID
  local host=$1 server_host=$2 agent_id=$3 out token
  server_cli2 "${server_host}" bundle show -format pem >"${run_dir}/${host}/agent/bootstrap-bundle.pem"
  out=$(server_cli2 "${server_host}" token generate -spiffeID "${agent_id}" -ttl 600)
  token=$(sed -n 's/^Token: *//p' <<<"${out}")
  [[ -n "${token}" ]] || die "no join token from spire-server on ${server_host}: ${out}"
  launch "${host}" "${run_dir}/${host}/agent/agent.log" "${run_dir}/${host}/agent/pid" \
    "${bin_dir}/spire-agent" run -config "${run_dir}/${host}/agent/agent.conf" -joinToken "${token}"
}

a_bundle_has_both_cas() {
  [[ $(server_cli2 a-server bundle show -format pem | grep -c 'BEGIN CERTIFICATE') -ge 2 ]]
}

agent_healthy() { in_host "$1" "${bin_dir}/spire-agent" healthcheck -socketPath "${run_dir}/$1/public/api.sock"; }
server_healthy() { server_cli "$1" healthcheck; }

register() { # server host, parent ID, SPIFFE ID, user, federated trust domain
  server_cli2 "$1" entry create -parentID "$2" -spiffeID "$3" -selector "unix:user:$4" -federatesWith "$5" >/dev/null
}

# True when user $2 on host $1 holds an X509-SVID for $3 together with the bundle of trust domain $4.
# The last answer is kept in $last_fetch for the error message.
last_fetch=
has_svid() {
  last_fetch=$(in_host "$1" runuser -u "$2" -- "${run_dir}/bin/spire-agent" api fetch x509 \
    -socketPath "${run_dir}/$1/public/api.sock" -timeout 2s 2>&1) || return 1
  grep -q "SPIFFE ID:.*$3\$" <<<"${last_fetch}" && grep -q "\[spiffe://$4\]" <<<"${last_fetch}"
}

wait_svid() { # host, user, SPIFFE ID, federated trust domain
  local deadline=$((SECONDS + timeout))
  until has_svid "$@"; do
    ((SECONDS < deadline)) || die "$2 on $1 got no X509-SVID for $3 with the bundle of $4 within ${timeout}s; spire-agent api fetch x509 said: ${last_fetch}"
    sleep 0.5
  done
}

# The EXIT trap of `up`: a failed or interrupted `up` removes what it built.
on_exit() {
  local status=$?
  trap - EXIT INT TERM
  if ((status != 0)); then
    log "failed: tearing down"
    teardown "${prefix}"
  fi
  exit "${status}"
}

cmd_up() {
  prefix=${MH_PREFIX:-mh$$}
  [[ "${prefix}" =~ ^[a-z0-9]+$ ]] || die "MH_PREFIX must be lowercase letters and digits: ${prefix}"
  [[ $(id -u) == 0 ]] || die "network namespaces need root"
  [[ -x "${bin_dir}/spire-server" && -x "${bin_dir}/spire-agent" ]] ||
    die "SPIRE is not installed in ${bin_dir}: run bash deploy/spire/install.sh"
  if ip netns list | grep -q "^${prefix}-"; then die "namespaces with prefix ${prefix}- exist already"; fi

  mkdir -p "${run_dir}"
  chmod 0755 "${run_dir}"
  printf '%s\n' "${prefix}" >"${run_dir}/prefix"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local host
  for host in "${HOSTS[@]}"; do
    (umask 077 && mkdir -p "${run_dir}/${host}/server/data" "${run_dir}/${host}/agent/data")
    mkdir -p "${run_dir}/${host}/public"
    chmod 0755 "${run_dir}/${host}" "${run_dir}/${host}/public"
  done
  # The workload users cannot run anything below /root: the agent CLI (for the SVID checks) is
  # linked next to the run.
  mkdir -p "${run_dir}/bin"
  ln "${bin_dir}/spire-agent" "${run_dir}/bin/spire-agent" 2>/dev/null || cp "${bin_dir}/spire-agent" "${run_dir}/bin/spire-agent"
  chmod 0755 "${run_dir}/bin" "${run_dir}/bin/spire-agent"

  build_network

  start_postgres
  write_server_conf a-server example.org partner.org "https://${ADDR[b-host]}:${BUNDLE_PORT}"
  write_server_conf a-server2 example.org partner.org "https://${ADDR[b-host]}:${BUNDLE_PORT}"
  write_server_conf b-host partner.org example.org "https://${A_SERVERS_NAME}:${BUNDLE_PORT}"
  # The first example.org server creates the schema; the second joins the same datastore.
  start_server a-server
  start_server b-host
  wait_for "spire-server 1 of example.org (a-server) did not become healthy" server_healthy a-server
  start_server a-server2
  wait_for "spire-server 2 of example.org (a-server2) did not become healthy" server_healthy a-server2
  wait_for "spire-server of partner.org (b-host) did not become healthy" server_healthy b-host
  # Each example.org server has a CA of its own; both are in the shared bundle.
  wait_for "the example.org bundle did not get the CAs of both servers" a_bundle_has_both_cas
  log "spire-server up on a-server and a-server2 (example.org, one PostgreSQL datastore) and b-host (partner.org)"

  # Federation bootstrap: each trust domain gets the other's bundle once; from then on each server
  # follows the other's bundle endpoint (https_spiffe) by itself.
  server_cli2 a-server bundle show -format spiffe >"${run_dir}/example.org.bundle.json"
  server_cli2 b-host bundle show -format spiffe >"${run_dir}/partner.org.bundle.json"
  server_cli2 b-host bundle set -format spiffe -id spiffe://example.org -path "${run_dir}/example.org.bundle.json" >/dev/null
  server_cli2 a-server bundle set -format spiffe -id spiffe://partner.org -path "${run_dir}/partner.org.bundle.json" >/dev/null
  # Both servers then fetch the other's bundle from its endpoint, over the topology's network.
  server_cli2 a-server federation refresh -id partner.org >/dev/null
  server_cli2 b-host federation refresh -id example.org >/dev/null
  log "federation bootstrapped (bundle set -format spiffe both ways, then refreshed from each bundle endpoint)"

  register a-server spiffe://example.org/host/a-host1 spiffe://example.org/server server-workload partner.org
  register a-server spiffe://example.org/host/a-host2 spiffe://example.org/client client-workload partner.org
  register a-server spiffe://example.org/host/a-host2 spiffe://example.org/other server-workload partner.org
  register b-host spiffe://partner.org/host/b-host spiffe://partner.org/client client-workload example.org
  register b-host spiffe://partner.org/host/b-host spiffe://partner.org/other server-workload example.org

  for host in a-host1 a-host2; do write_agent_conf "${host}" example.org "${A_SERVERS_NAME}"; done
  write_agent_conf b-host partner.org "${ADDR[b-host]}"
  start_agent a-host1 a-server spiffe://example.org/host/a-host1
  start_agent a-host2 a-server spiffe://example.org/host/a-host2
  start_agent b-host b-host spiffe://partner.org/host/b-host
  for host in a-host1 a-host2 b-host; do wait_for "spire-agent on ${host} did not become healthy" agent_healthy "${host}"; done
  log "spire-agent up on a-host1, a-host2 (example.org) and b-host (partner.org)"

  wait_svid a-host1 server-workload spiffe://example.org/server partner.org
  wait_svid a-host2 client-workload spiffe://example.org/client partner.org
  wait_svid a-host2 server-workload spiffe://example.org/other partner.org
  wait_svid b-host client-workload spiffe://partner.org/client example.org
  wait_svid b-host server-workload spiffe://partner.org/other example.org
  log "every workload holds its X509-SVID and the federated bundle"

  {
    printf 'MH_PREFIX=%s\n' "${prefix}"
    printf 'MH_RUN_DIR=%s\n' "${run_dir}"
    for host in "${HOSTS[@]}"; do
      local key=${host^^}
      key=${key//-/_}
      printf 'MH_NS_%s=%s\n' "${key}" "$(ns_of "${host}")"
      printf 'MH_ADDR_%s=%s\n' "${key}" "${ADDR[${host}]}"
      printf 'MH_SOCKET_%s=%s\n' "${key}" "${run_dir}/${host}/public/api.sock"
    done
    for host in a-server a-server2 b-host; do
      local key=${host^^}
      printf 'MH_SERVER_SOCKET_%s=%s\n' "${key//-/_}" "${run_dir}/${host}/server/api.sock"
    done
  } | tee "${run_dir}/topology.env"
  trap - EXIT INT TERM
}

# ---- faults -----------------------------------------------------------------------------------

# Loads the prefix of the topology in $run_dir and checks that host $1 belongs to it.
load_topology() {
  [[ -f "${run_dir}/prefix" ]] || die "no topology in ${run_dir}"
  prefix=$(<"${run_dir}/prefix")
  [[ -n "${ADDR[$1]:-}" ]] || die "unknown host $1 (hosts: ${HOSTS[*]})"
}

# Stops the process of pid file $1 with signal $2 and waits until it is gone.
stop_pid_file() {
  local pid_file=$1 sig=$2 pid
  [[ -s "${pid_file}" ]] || die "no pid file ${pid_file}"
  pid=$(<"${pid_file}")
  kill "-${sig}" "${pid}" 2>/dev/null || true
  wait_for "process ${pid} (${pid_file}) did not exit" bash -c "! kill -0 ${pid}"
  rm -f "${pid_file}"
}

cmd_fault() { # fault, host, [netem args]
  local fault=$1 host=$2
  load_topology "${host}"
  case "${fault}" in
    server-stop) stop_pid_file "${run_dir}/${host}/server/pid" TERM ;;
    server-kill) stop_pid_file "${run_dir}/${host}/server/pid" KILL ;;
    server-start)
      start_server "${host}"
      wait_for "spire-server on ${host} did not become healthy" server_healthy "${host}"
      ;;
    agent-stop) stop_pid_file "${run_dir}/${host}/agent/pid" TERM ;;
    agent-kill) stop_pid_file "${run_dir}/${host}/agent/pid" KILL ;;
    agent-start)
      # No join token: the agent comes back with the SVID it keeps in its data dir.
      launch "${host}" "${run_dir}/${host}/agent/agent.log" "${run_dir}/${host}/agent/pid" \
        "${bin_dir}/spire-agent" run -config "${run_dir}/${host}/agent/agent.conf"
      wait_for "spire-agent on ${host} did not become healthy" agent_healthy "${host}"
      ;;
    link-down) ip -n "$(ns_of switch)" link set "${host}" down ;;
    link-up) ip -n "$(ns_of switch)" link set "${host}" up ;;
    cut-servers | restore-servers)
      local verb=add server
      [[ "${fault}" == restore-servers ]] && verb=del
      for server in a-server a-server2; do ip -n "$(ns_of "${host}")" route "${verb}" blackhole "${ADDR[${server}]}/32"; done
      ;;
    netem | throttle)
      local qdisc=netem
      [[ "${fault}" == throttle ]] && qdisc=tbf
      if [[ "${3:-}" == clear ]]; then
        ip netns exec "$(ns_of "${host}")" tc qdisc del dev eth0 root
      else
        read -r -a qdisc_args <<<"${3:?${fault} needs the ${qdisc} arguments}"
        ip netns exec "$(ns_of "${host}")" tc qdisc replace dev eth0 root "${qdisc}" "${qdisc_args[@]}" ||
          die "tc qdisc ${qdisc} is not available on this kernel (Linux $(uname -r))"
      fi
      ;;
    loss)
      command -v nft >/dev/null 2>&1 || die "nft is not installed (Debian's nftables package)"
      if [[ "${3:-}" == clear ]]; then
        ip netns exec "$(ns_of "${host}")" nft delete table inet mh_loss
      else
        [[ "${3:-}" =~ ^[0-9]{1,2}$ ]] || die "loss needs a percentage from 0 to 99: ${3:-}"
        printf 'table inet mh_loss {\n chain out {\n  type filter hook output priority 0; policy accept;\n  oifname "eth0" numgen random mod 100 < %s drop\n }\n}\n' "$3" |
          ip netns exec "$(ns_of "${host}")" nft -f - || die "nftables could not drop packets on ${host} (Linux $(uname -r))"
      fi
      ;;
  esac
  log "${fault} ${host}${3:+ $3}"
}

(($# >= 2)) || usage
run_dir=$2
[[ "${run_dir}" == /* ]] || die "the run directory must be an absolute path: ${run_dir}"
case "$1" in
  up) cmd_up ;;
  down) cmd_down "${run_dir}" ;;
  server-stop | server-kill | server-start | agent-stop | agent-kill | agent-start | link-down | link-up | cut-servers | restore-servers | netem | throttle | loss)
    (($# >= 3)) || usage
    cmd_fault "$1" "$3" "${4:-}"
    ;;
  *) usage ;;
esac
