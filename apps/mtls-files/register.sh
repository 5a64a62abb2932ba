#!/usr/bin/env bash
# Creates the registration entries of this example: one per workload user, both under the agent's
# ID spiffe://example.org/host. The server's SVID also gets the DNS name localhost, because curl
# (and any client that checks host names) connects to https://localhost:9443.
#   ./register.sh                                     against SPIRE (spire-server on PATH)
#   SPIRE_SERVER=/path/to/spire-server ./register.sh  a given binary, or the dev agent's CLI
# Optional: SPIRE_SERVER_SOCKET (its -socketPath), X509_SVID_TTL (seconds).
# An entry that already exists is left alone, so the script can run again.

set -euo pipefail

read -r -a server_cmd <<< "${SPIRE_SERVER:-spire-server}"
socket=(); [ -n "${SPIRE_SERVER_SOCKET:-}" ] && socket=(-socketPath "$SPIRE_SERVER_SOCKET")
ttls=(); [ -n "${X509_SVID_TTL:-}" ] && ttls+=(-x509SVIDTTL "$X509_SVID_TTL")

register() { # SPIFFE ID, selector, extra flags...
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

register spiffe://example.org/server unix:user:server-workload -dns localhost
register spiffe://example.org/client unix:user:client-workload
