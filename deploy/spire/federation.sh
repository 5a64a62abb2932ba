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
# the partner's endpoint once it holds the partner's bundle, so deploy/spire/federate-bundles.sh
# carries the first one by hand, both ways (`spire-server bundle show -format spiffe` on one,
# `bundle set -format spiffe -id spiffe://<td>` on the other), then has each server fetch the
# other's from its endpoint once (`spire-server federation refresh`), which proves the endpoints
# work. From then on each server refreshes the other's bundle from its endpoint by itself.
# Registration entries that should trust the partner's workloads name it:
# `spire-server entry create ... -federatesWith partner.org`.
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

# deploy/spire/federate-bundles.sh "$@" between the two servers.
federate_bundles() {
  env SPIRE_SERVER="${spire_server_bin}" \
    FEDERATION_A_TRUST_DOMAIN="${home_td}" FEDERATION_A_SOCKET="${home_socket}" \
    FEDERATION_B_TRUST_DOMAIN="${partner_td}" FEDERATION_B_SOCKET="${partner_socket}" \
    bash "${spire_script_dir}/federate-bundles.sh" "$@"
}

up() {
  env "${home_env[@]}" bash "${spire_script_dir}/start.sh"
  env "${partner_env[@]}" bash "${spire_script_dir}/start.sh"
  federate_bundles exchange
  cat <<EOF
Federated: ${home_td} (bundle endpoint ${home_endpoint}) <-> ${partner_td} (bundle endpoint ${partner_endpoint})
  environment for scripts: . ${SPIRE_RUN_DIR}/spire.env   and   . ${SPIRE_PARTNER_STATE_DIR}/run/spire.env
  entries that trust the partner's workloads: "\$SPIRE_SERVER" entry create ... -federatesWith ${partner_td}
EOF
}

status() { federate_bundles status; }

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
