#!/usr/bin/env bash
# Creates the SPIRE registration entries of this example, one per workload user, all under the
# agent's ID spiffe://example.org/host:
#   spiffe://example.org/api-gateway       unix:user:gateway-workload   (DNS names localhost, api-gateway)
#   spiffe://example.org/employee-service  unix:user:upstream-workload
#   spiffe://example.org/client            unix:user:client-workload    (as in the other examples)
# The gateway's DNS names let curl check its certificate against the trust bundle by host name.
#   ./register.sh                                     against SPIRE (spire-server on PATH)
#   SPIRE_SERVER=/path/to/spire-server ./register.sh  a given binary, or the dev agent's CLI
# Optional: SPIRE_SERVER_SOCKET (its -socketPath), X509_SVID_TTL / JWT_SVID_TTL (seconds).
# An entry that already exists is left alone, so the script can run again.
set -euo pipefail

read -r -a server_cmd <<< "${SPIRE_SERVER:-spire-server}"
socket=(); [ -n "${SPIRE_SERVER_SOCKET:-}" ] && socket=(-socketPath "$SPIRE_SERVER_SOCKET")
ttls=()
[ -n "${X509_SVID_TTL:-}" ] && ttls+=(-x509SVIDTTL "$X509_SVID_TTL")
[ -n "${JWT_SVID_TTL:-}" ] && ttls+=(-jwtSVIDTTL "$JWT_SVID_TTL")

register() { # SPIFFE ID, selector, further entry flags
  local id=$1 selector=$2 existing
  shift 2
  existing=$("${server_cmd[@]}" entry show "${socket[@]}" -spiffeID "$id" -selector "$selector" 2>&1 || true)
  if grep -q 'Entry ID' <<< "$existing"; then
    echo "Entry for $id ($selector) already exists"
    return
  fi
  "${server_cmd[@]}" entry create "${socket[@]}" "${ttls[@]}" \
    -spiffeID "$id" \
    -parentID spiffe://example.org/host \
    -selector "$selector" "$@"
}

register spiffe://example.org/api-gateway unix:user:gateway-workload -dns localhost -dns api-gateway
register spiffe://example.org/employee-service unix:user:upstream-workload
register spiffe://example.org/client unix:user:client-workload
