#!/usr/bin/env bash
# Federates two running SPIRE servers whose configs already name each other in
# `federation { federates_with "<td>" { bundle_endpoint_profile "https_spiffe" { ... } } }`.
#
#   federate-bundles.sh [exchange]   carry each server's bundle to the other, then have each fetch
#                                    the other's from its bundle endpoint
#   federate-bundles.sh status       which foreign bundles each server holds
#
# With https_spiffe a server authenticates the partner's bundle endpoint against the partner's
# bundle, which it does not have at first: `exchange` carries it once by hand, both ways
# (`spire-server bundle show -format spiffe` on one, `bundle set -format spiffe -id spiffe://<td>`
# on the other), then runs `spire-server federation refresh -id spiffe://<td>` on each, a real
# fetch from the other's endpoint that fails when the endpoint cannot be reached or authenticated.
# From then on each server refreshes the other's bundle by itself. Running it again is harmless.
#
# Used by deploy/spire/federation.sh on one host and by the spire-federation one-shot of
# deploy/compose/federation.yaml. Settings (environment; defaults: the compose layout):
#   SPIRE_SERVER                spire-server    the CLI (a path, or a command with arguments)
#   FEDERATION_A_TRUST_DOMAIN   example.org
#   FEDERATION_A_SOCKET         /run/spire/server-socket/api.sock            its admin socket
#   FEDERATION_B_TRUST_DOMAIN   partner.org
#   FEDERATION_B_SOCKET         /run/spire/partner-server-socket/api.sock
set -euo pipefail

: "${SPIRE_SERVER:=spire-server}"
: "${FEDERATION_A_TRUST_DOMAIN:=example.org}"
: "${FEDERATION_A_SOCKET:=/run/spire/server-socket/api.sock}"
: "${FEDERATION_B_TRUST_DOMAIN:=partner.org}"
: "${FEDERATION_B_SOCKET:=/run/spire/partner-server-socket/api.sock}"

read -r -a server_cmd <<<"${SPIRE_SERVER}"

log() { printf 'federate-bundles.sh: %s\n' "$*" >&2; }
die() {
  printf 'federate-bundles.sh: error: %s\n' "$*" >&2
  exit 1
}
# spire-server "${@:2}" against admin socket $1.
server() { "${server_cmd[@]}" "${@:2}" -socketPath "$1"; }

# Carries the bundle of trust domain $2 (admin socket $1) to the server of admin socket $3.
carry_bundle() {
  local from=$1 trust_domain=$2 to=$3 bundle out
  bundle=$(server "${from}" bundle show -format spiffe) ||
    die "spire-server bundle show -format spiffe failed on ${from} (${trust_domain})"
  out=$(server "${to}" bundle set -format spiffe -id "spiffe://${trust_domain}" <<<"${bundle}" 2>&1) ||
    die "spire-server bundle set -id spiffe://${trust_domain} failed on ${to}: ${out}"
  log "set the bundle of ${trust_domain} on the other server (${out})"
}

# Has the server of admin socket $1 (trust domain $2) fetch the bundle of $3 from its endpoint now.
refresh_from_endpoint() {
  local out
  out=$(server "$1" federation refresh -id "spiffe://$3" 2>&1) ||
    die "$2 could not fetch the bundle of $3 from its bundle endpoint: ${out}"
  log "$2 fetched the bundle of $3 from its bundle endpoint (${out})"
}

# Prints the trust domains of the foreign bundles the server of admin socket $1 holds, one a line.
foreign_bundles() {
  server "$1" bundle list -format spiffe | sed -n 's/^\* *\([^ *][^ ]*\).*$/\1/p'
}

status() {
  local a b
  a=$(foreign_bundles "${FEDERATION_A_SOCKET}" | paste -sd ' ' -)
  b=$(foreign_bundles "${FEDERATION_B_SOCKET}" | paste -sd ' ' -)
  printf '%s holds the bundles of: %s\n' "${FEDERATION_A_TRUST_DOMAIN}" "${a:-(none)}"
  printf '%s holds the bundles of: %s\n' "${FEDERATION_B_TRUST_DOMAIN}" "${b:-(none)}"
}

exchange() {
  local socket
  for socket in "${FEDERATION_A_SOCKET}" "${FEDERATION_B_SOCKET}"; do
    server "${socket}" healthcheck >/dev/null 2>&1 || die "no SPIRE server answers on ${socket}"
  done
  carry_bundle "${FEDERATION_A_SOCKET}" "${FEDERATION_A_TRUST_DOMAIN}" "${FEDERATION_B_SOCKET}"
  carry_bundle "${FEDERATION_B_SOCKET}" "${FEDERATION_B_TRUST_DOMAIN}" "${FEDERATION_A_SOCKET}"
  refresh_from_endpoint "${FEDERATION_A_SOCKET}" "${FEDERATION_A_TRUST_DOMAIN}" "${FEDERATION_B_TRUST_DOMAIN}"
  refresh_from_endpoint "${FEDERATION_B_SOCKET}" "${FEDERATION_B_TRUST_DOMAIN}" "${FEDERATION_A_TRUST_DOMAIN}"
  status
}

[[ "${FEDERATION_A_TRUST_DOMAIN}" != "${FEDERATION_B_TRUST_DOMAIN}" ]] ||
  die "the two trust domains must differ (both are ${FEDERATION_A_TRUST_DOMAIN})"
case "${1:-exchange}" in
  exchange) exchange ;;
  status) status ;;
  *) die "usage: federate-bundles.sh [exchange|status]" ;;
esac
