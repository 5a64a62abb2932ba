#!/usr/bin/env bash
# Creates the SPIRE registration entries of this example, as the upstream examples do: one per
# workload user, both under the agent's ID spiffe://example.org/host.
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

register() { # SPIFFE ID, selector
  local existing
  existing=$("${server_cmd[@]}" entry show "${socket[@]}" -spiffeID "$1" -selector "$2" 2>&1 || true)
  if grep -q 'Entry ID' <<< "$existing"; then
    echo "Entry for $1 ($2) already exists"
    return
  fi
  "${server_cmd[@]}" entry create "${socket[@]}" "${ttls[@]}" \
    -spiffeID "$1" \
    -parentID spiffe://example.org/host \
    -selector "$2"
}

register spiffe://example.org/server unix:user:server-workload
register spiffe://example.org/client unix:user:client-workload
