#!/usr/bin/env bash
# The spire-bootstrap one-shot of deploy/compose/compose.yaml: prepares what the SPIRE agent needs
# to join the server, in the shared volume ${BOOTSTRAP_DIR}:
#   bundle.pem   the server's X.509 CA bundle (`spire-server bundle show`); the agent's
#                trust_bundle_path, so the agent authenticates the server on first contact
#   join_token   a new single-use join token (mode 0600) that also creates the node alias
#                ${NODE_ALIAS}, the -parentID of the apps' registration entries
# The agent reads the token only when it has no valid cached SVID; a restarted agent keeps its
# SVID and leaves the token unused. Node aliases of earlier runs whose token was never used and has
# expired can never be claimed; they are deleted here so that they do not pile up.
#
# Runs in the spire-tools image (deploy/docker/Dockerfile) next to the server's admin socket.
# Every setting is an environment variable (defaults: the compose layout):
#   SPIRE_SERVER         spire-server      the CLI (a path, or a command with arguments)
#   SPIRE_SERVER_SOCKET  /run/spire/server-socket/api.sock
#   BOOTSTRAP_DIR        /run/spire/bootstrap
#   SPIRE_TRUST_DOMAIN   example.org
#   NODE_ALIAS           spiffe://${SPIRE_TRUST_DOMAIN}/host
#   JOIN_TOKEN_TTL       600 (seconds)
set -euo pipefail

: "${SPIRE_SERVER:=spire-server}"
: "${SPIRE_SERVER_SOCKET:=/run/spire/server-socket/api.sock}"
: "${BOOTSTRAP_DIR:=/run/spire/bootstrap}"
: "${SPIRE_TRUST_DOMAIN:=example.org}"
: "${NODE_ALIAS:=spiffe://${SPIRE_TRUST_DOMAIN}/host}"
: "${JOIN_TOKEN_TTL:=600}"

read -r -a server_cmd <<< "${SPIRE_SERVER}"

log() { printf 'bootstrap.sh: %s\n' "$*" >&2; }
die() {
  printf 'bootstrap.sh: error: %s\n' "$*" >&2
  exit 1
}
# spire-server SUBCOMMAND... with the admin socket.
server() { "${server_cmd[@]}" "$@" -socketPath "${SPIRE_SERVER_SOCKET}"; }

[[ "${JOIN_TOKEN_TTL}" =~ ^[1-9][0-9]*$ ]] || die "JOIN_TOKEN_TTL must be a number of seconds, got '${JOIN_TOKEN_TTL}'"
[[ -d "${BOOTSTRAP_DIR}" && -w "${BOOTSTRAP_DIR}" ]] ||
  die "${BOOTSTRAP_DIR} is not a writable directory (uid $(id -u)); is the spire-bootstrap volume mounted?"
server healthcheck >/dev/null ||
  die "the SPIRE server does not answer on ${SPIRE_SERVER_SOCKET}; is the spire-server-socket volume mounted?"

# 1. The trust bundle, replaced atomically so that a starting agent never reads half a file.
server bundle show > "${BOOTSTRAP_DIR}/bundle.pem.new"
grep -q -- '-----BEGIN CERTIFICATE-----' "${BOOTSTRAP_DIR}/bundle.pem.new" ||
  die "spire-server bundle show printed no certificate"
chmod 0644 "${BOOTSTRAP_DIR}/bundle.pem.new"
mv -f "${BOOTSTRAP_DIR}/bundle.pem.new" "${BOOTSTRAP_DIR}/bundle.pem"
log "wrote the trust bundle to ${BOOTSTRAP_DIR}/bundle.pem"

# 2. Dead node aliases: parent is a join-token agent that never attested, created longer ago than
# a token lives. Prints their entry IDs, one a line.
dead_aliases() {
  local entries agents
  entries=$(server entry show -spiffeID "${NODE_ALIAS}" -output json)
  agents=$(server agent list -output json)
  node - "${entries}" "${agents}" "${JOIN_TOKEN_TTL}" <<'JS'
const [entriesJson, agentsJson, ttl] = process.argv.slice(2);
const idString = (id) => `spiffe://${id.trust_domain}${id.path}`;
const attested = new Set((JSON.parse(agentsJson).agents ?? []).map((agent) => idString(agent.id)));
// created_at is in whole seconds and may be up to a second ahead: one second of margin.
const now = Date.now() / 1000;
for (const entry of JSON.parse(entriesJson).entries ?? []) {
  const parent = idString(entry.parent_id);
  if (!entry.parent_id.path.startsWith('/spire/agent/join_token/')) continue;
  if (attested.has(parent)) continue;
  if (now - Number(entry.created_at) <= Number(ttl) + 1) continue;
  console.log(entry.id);
}
JS
}
removed=0
while IFS= read -r entry_id; do
  [[ -n "${entry_id}" ]] || continue
  server entry delete -entryID "${entry_id}" >/dev/null
  removed=$((removed + 1))
done < <(dead_aliases)
((removed == 0)) || log "deleted ${removed} node alias(es) of ${NODE_ALIAS} whose join token expired unused"

# 3. A new join token; the file is written under a temporary name with mode 0600, then renamed.
token=$(server token generate -spiffeID "${NODE_ALIAS}" -ttl "${JOIN_TOKEN_TTL}" | sed -n 's/^Token: //p')
[[ "${token}" =~ ^[0-9a-f-]{36}$ ]] || die "spire-server token generate printed no token"
(
  umask 077
  printf '%s\n' "${token}" > "${BOOTSTRAP_DIR}/join_token.new"
)
mv -f "${BOOTSTRAP_DIR}/join_token.new" "${BOOTSTRAP_DIR}/join_token"
log "wrote a join token for ${NODE_ALIAS} (valid ${JOIN_TOKEN_TTL}s, used only by an agent without a valid SVID) to ${BOOTSTRAP_DIR}/join_token"
