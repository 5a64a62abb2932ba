#!/usr/bin/env bash
# Registers the example workloads of deploy/k8s/apps with the SPIRE server by hand, with k8s
# selectors: the alternative to the ClusterSPIFFEID resources (cluster-spiffeids.yaml) for a SPIRE
# without the spire-controller-manager. Use one or the other, not both: the controller manager does
# not know these entries, and both together register every ID twice.
#
# What it creates (an entry that already exists is left alone, so it can run again):
#   1. a node alias ${NODE_ALIAS} for every agent of the cluster, with the agents' k8s_psat
#      selectors (cluster ${CLUSTER_NAME}, service account ${AGENT_NAMESPACE}/${AGENT_SERVICE_ACCOUNT});
#   2. per workload service account SA in ${APP_NAMESPACE}: the ID
#      spiffe://${TRUST_DOMAIN}/ns/${APP_NAMESPACE}/sa/SA (the same as the ClusterSPIFFEIDs' template)
#      for selectors k8s:ns:${APP_NAMESPACE} and k8s:sa:SA, under the node alias.
#
#   deploy/k8s/register.sh                     through kubectl exec into the SPIRE server pod
#   SPIRE_SERVER=/path/to/spire-server deploy/k8s/register.sh    a spire-server binary here
#
# Settings (environment):
#   SPIRE_SERVER           kubectl exec -n spire-server spire-server-0 -c spire-server -- /opt/spire/bin/spire-server
#   SPIRE_SERVER_SOCKET    the server's admin socket (-socketPath); unset: the CLI's default, which
#                          is where the chart puts it
#   TRUST_DOMAIN           example.org
#   CLUSTER_NAME           spiffe-node-demo   (global.spire.clusterName of spire-values.yaml)
#   AGENT_NAMESPACE        spire-system
#   AGENT_SERVICE_ACCOUNT  spire-agent
#   APP_NAMESPACE          spiffe-demo
#   NODE_ALIAS             spiffe://${TRUST_DOMAIN}/k8s-node/${CLUSTER_NAME}
set -euo pipefail

: "${SPIRE_SERVER:=kubectl exec -n spire-server spire-server-0 -c spire-server -- /opt/spire/bin/spire-server}"
: "${TRUST_DOMAIN:=example.org}"
: "${CLUSTER_NAME:=spiffe-node-demo}"
: "${AGENT_NAMESPACE:=spire-system}"
: "${AGENT_SERVICE_ACCOUNT:=spire-agent}"
: "${APP_NAMESPACE:=spiffe-demo}"
: "${NODE_ALIAS:=spiffe://${TRUST_DOMAIN}/k8s-node/${CLUSTER_NAME}}"

# The service accounts of deploy/k8s/apps, one per workload identity.
workloads=(
  mtls-echo-server
  mtls-echo-client
  https-mtls-server
  https-mtls-client
  jwt-server
  jwt-proxy
  jwt-client
)

read -r -a server_cmd <<< "${SPIRE_SERVER}"
socket=()
[[ -n "${SPIRE_SERVER_SOCKET:-}" ]] && socket=(-socketPath "${SPIRE_SERVER_SOCKET}")

# create_entry ID PARENT_OR_-node SELECTOR...: creates the entry unless one with this ID and these
# selectors exists.
create_entry() {
  local id=$1 parent=$2
  shift 2
  local selectors=() existing selector
  for selector in "$@"; do selectors+=(-selector "${selector}"); done
  existing=$("${server_cmd[@]}" entry show "${socket[@]}" -spiffeID "${id}" "${selectors[@]}" 2>&1 || true)
  if grep -q 'Entry ID' <<< "${existing}"; then
    echo "Entry for ${id} ($*) already exists"
    return
  fi
  if [[ "${parent}" == -node ]]; then
    "${server_cmd[@]}" entry create "${socket[@]}" -node -spiffeID "${id}" "${selectors[@]}"
  else
    "${server_cmd[@]}" entry create "${socket[@]}" -parentID "${parent}" -spiffeID "${id}" "${selectors[@]}"
  fi
}

create_entry "${NODE_ALIAS}" -node \
  "k8s_psat:cluster:${CLUSTER_NAME}" \
  "k8s_psat:agent_ns:${AGENT_NAMESPACE}" \
  "k8s_psat:agent_sa:${AGENT_SERVICE_ACCOUNT}"

for sa in "${workloads[@]}"; do
  create_entry "spiffe://${TRUST_DOMAIN}/ns/${APP_NAMESPACE}/sa/${sa}" "${NODE_ALIAS}" \
    "k8s:ns:${APP_NAMESPACE}" \
    "k8s:sa:${sa}"
done
