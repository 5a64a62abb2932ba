#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Two SPIRE trust domains on this host, federated through their SPIFFE bundle endpoints
# (https_spiffe profile): the usual one (example.org, deploy/spire/start.sh's settings) and a
# partner (partner.org) with its own state dir, ports and sockets.
#
#   deploy/spire/federation.sh up      # start both (server + agent each), exchange the first bundles
#   deploy/spire/federation.sh status  # the foreign bundles each server holds
#   deploy/spire/federation.sh down    # stop both (state is kept, as with stop.sh)
#
# `up`: each server runs server-federated.conf (SPIRE_FEDERATES_WITH = the other trust domain,
# SPIRE_FEDERATES_WITH_URL = the other's bundle endpoint). With https_spiffe a server only trusts
# the partner's endpoint once it holds the partner's bundle, so the first one is carried by hand:
# `spire-server bundle show -format spiffe` on one, `spire-server bundle set -format spiffe -id
# spiffe://<td>` on the other, both ways; then `spire-server federation refresh` has each fetch the
# other's bundle from its endpoint once, which proves the endpoints work. From then on each server refreshes the other's bundle
# from its endpoint (at the refresh hint the bundle carries). Registration entries that should
# trust the partner's workloads name it: `spire-server entry create ... -federatesWith partner.org`.
#
# Settings (environment). The first trust domain takes the SPIRE_* settings of start.sh (defaults in
# lib.sh) and SPIRE_BUNDLE_ENDPOINT_PORT (18443). The partner's, with their defaults:
#   SPIRE_PARTNER_TRUST_DOMAIN          partner.org
#   SPIRE_PARTNER_STATE_DIR             <repo>/.spire/partner
#   SPIRE_PARTNER_SERVER_PORT           8082
#   SPIRE_PARTNER_SERVER_HEALTH_PORT    18081
#   SPIRE_PARTNER_SERVER_SOCKET         /tmp/spire-server-partner/private/api.sock
#   SPIRE_PARTNER_AGENT_SOCKET          /tmp/spire-agent-partner/public/api.sock
#   SPIRE_PARTNER_AGENT_HEALTH_PORT     18089
#   SPIRE_PARTNER_BUNDLE_ENDPOINT_PORT  18444
# Both bundle endpoints listen on SPIRE_BUNDLE_ENDPOINT_ADDRESS (127.0.0.1).
set -euo pipefail

spire_self=federation.sh
# shellcheck source=lib.sh
. "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

: "${SPIRE_PARTNER_TRUST_DOMAIN:=partner.org}"
: "${SPIRE_PARTNER_STATE_DIR:=${spire_repo_root}/.spire/partner}"
: "${SPIRE_PARTNER_SERVER_PORT:=8082}"
: "${SPIRE_PARTNER_SERVER_HEALTH_PORT:=18081}"
: "${SPIRE_PARTNER_SERVER_SOCKET:=/tmp/spire-server-partner/private/api.sock}"
: "${SPIRE_PARTNER_AGENT_SOCKET:=/tmp/spire-agent-partner/public/api.sock}"
: "${SPIRE_PARTNER_AGENT_HEALTH_PORT:=18089}"
: "${SPIRE_PARTNER_BUNDLE_ENDPOINT_PORT:=18444}"

[[ "${SPIRE_PARTNER_TRUST_DOMAIN}" != "${SPIRE_TRUST_DOMAIN}" ]] ||
  spire_die "SPIRE_PARTNER_TRUST_DOMAIN must differ from SPIRE_TRUST_DOMAIN (both are ${SPIRE_TRUST_DOMAIN})"

home_td=${SPIRE_TRUST_DOMAIN}
partner_td=${SPIRE_PARTNER_TRUST_DOMAIN}
home_socket=${SPIRE_SERVER_SOCKET}
partner_socket=${SPIRE_PARTNER_SERVER_SOCKET}
home_endpoint="https://${SPIRE_BUNDLE_ENDPOINT_ADDRESS}:${SPIRE_BUNDLE_ENDPOINT_PORT}"
partner_endpoint="https://${SPIRE_BUNDLE_ENDPOINT_ADDRESS}:${SPIRE_PARTNER_BUNDLE_ENDPOINT_PORT}"

# The environment of start.sh and stop.sh for the first trust domain, federating with the partner.
# SPIRE_SERVER_CONF is unset so that lib.sh, in the child, picks server-federated.conf.
home_env=(-u SPIRE_SERVER_CONF SPIRE_FEDERATES_WITH="${partner_td}" SPIRE_FEDERATES_WITH_URL="${partner_endpoint}")
# The partner's, federating with the first trust domain. What lib.sh derived here from the first
# trust domain's settings is unset, so that the child derives it anew from the partner's.
partner_env=(
  -u SPIRE_SERVER_CONF -u SPIRE_LOG_DIR -u SPIRE_RUN_DIR -u SPIRE_AGENT_SPIFFE_ID
  SPIRE_TRUST_DOMAIN="${partner_td}"
  SPIRE_STATE_DIR="${SPIRE_PARTNER_STATE_DIR}"
  SPIRE_SERVER_PORT="${SPIRE_PARTNER_SERVER_PORT}"
  SPIRE_SERVER_HEALTH_PORT="${SPIRE_PARTNER_SERVER_HEALTH_PORT}"
  SPIRE_SERVER_SOCKET="${partner_socket}"
  SPIRE_AGENT_SOCKET="${SPIRE_PARTNER_AGENT_SOCKET}"
  SPIRE_AGENT_HEALTH_PORT="${SPIRE_PARTNER_AGENT_HEALTH_PORT}"
  SPIRE_BUNDLE_ENDPOINT_PORT="${SPIRE_PARTNER_BUNDLE_ENDPOINT_PORT}"
  SPIRE_FEDERATES_WITH="${home_td}"
  SPIRE_FEDERATES_WITH_URL="${home_endpoint}"
)

# spire-server "${@:2}" against admin socket $1.
server_cli() { "${spire_server_bin}" "${@:2}" -socketPath "$1"; }

# Carries the SPIFFE bundle of trust domain $3 from the server of admin socket $1 to that of $2.
carry_bundle() {
  local from=$1 to=$2 trust_domain=$3 bundle out
  bundle=$(server_cli "${from}" bundle show -format spiffe) ||
    spire_die "spire-server bundle show -format spiffe failed for ${trust_domain}"
  out=$(server_cli "${to}" bundle set -format spiffe -id "spiffe://${trust_domain}" <<<"${bundle}" 2>&1) ||
    spire_die "spire-server bundle set -id spiffe://${trust_domain} failed: ${out}"
  spire_log "set the bundle of ${trust_domain} on the other server (${out})"
}

# Has the server of admin socket $1 (trust domain $2) fetch the bundle of trust domain $3 from its
# bundle endpoint now, over https_spiffe with the bundle carried before, rather than at its next
# refresh.
refresh_from_endpoint() {
  local out
  out=$(server_cli "$1" federation refresh -id "spiffe://$3" 2>&1) ||
    spire_die "$2 could not fetch the bundle of $3 from its bundle endpoint: ${out}"
  spire_log "$2 fetched the bundle of $3 from its bundle endpoint (${out})"
}

# Prints the trust domains of the foreign bundles the server of admin socket $1 holds, one a line.
foreign_bundles() {
  server_cli "$1" bundle list -format spiffe | sed -n 's/^\* *\([^ *][^ ]*\).*$/\1/p'
}

up() {
  env "${home_env[@]}" bash "${spire_script_dir}/start.sh"
  env "${partner_env[@]}" bash "${spire_script_dir}/start.sh"
  carry_bundle "${home_socket}" "${partner_socket}" "${home_td}"
  carry_bundle "${partner_socket}" "${home_socket}" "${partner_td}"
  refresh_from_endpoint "${home_socket}" "${home_td}" "${partner_td}"
  refresh_from_endpoint "${partner_socket}" "${partner_td}" "${home_td}"
  status
  cat <<EOF
Federated: ${home_td} (bundle endpoint ${home_endpoint}) <-> ${partner_td} (bundle endpoint ${partner_endpoint})
  environment for scripts: . ${SPIRE_RUN_DIR}/spire.env   and   . ${SPIRE_PARTNER_STATE_DIR}/run/spire.env
  entries that trust the partner's workloads: "\$SPIRE_SERVER" entry create ... -federatesWith ${partner_td}
EOF
}

status() {
  local home partner
  home=$(foreign_bundles "${home_socket}" | paste -sd ' ' -)
  partner=$(foreign_bundles "${partner_socket}" | paste -sd ' ' -)
  printf '%s holds the bundles of: %s\n' "${home_td}" "${home:-(none)}"
  printf '%s holds the bundles of: %s\n' "${partner_td}" "${partner:-(none)}"
}

down() {
  env "${partner_env[@]}" bash "${spire_script_dir}/stop.sh"
  env "${home_env[@]}" bash "${spire_script_dir}/stop.sh"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) spire_die "usage: deploy/spire/federation.sh up|status|down" ;;
esac
