/**
 * What the `spire-server`-compatible commands share: the admin socket and output flags, the admin client, SPIRE's JSON shapes of IDs and entries, and the shape of a command.
 *
 * @module
 */
import { AdminClient } from '../../admin/client.js';
import { DEFAULT_ADMIN_SOCKET_PATH } from '../../options.js';
import type { RegistrationEntry } from '../../state/entries.js';
import { FlagError, type FlagSpec, type ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';

/** The environment variable that overrides the default admin socket of the CLI. */
export const ADMIN_SOCKET_ENV = 'SPIFFE_DEV_AGENT_ADMIN_SOCKET';

/** SPIRE's gRPC status names of the agent's error codes, as SPIRE's CLI prints them. */
export const GRPC_CODE_NAMES: Record<string, string> = {
  ERR_ENTRY_EXISTS: 'AlreadyExists',
  ERR_ENTRY_INVALID: 'InvalidArgument',
  ERR_ENTRY_NOT_FOUND: 'NotFound',
  ERR_AGENT_CONFIG: 'InvalidArgument',
};

/** The `-socketPath` flag: the admin socket. */
export function socketFlag(io: CliIo): FlagSpec {
  return {
    name: 'socketPath',
    kind: 'string',
    usage: `Path to the development agent's admin socket (SPIRE: the Server API socket); ${ADMIN_SOCKET_ENV} overrides the default`,
    default: io.env[ADMIN_SOCKET_ENV] || DEFAULT_ADMIN_SOCKET_PATH,
  };
}

/** The `-output` flag. */
export const outputFlag: FlagSpec = { name: 'output', kind: 'string', usage: 'Desired output format (pretty, json); default: pretty.' };

/** The admin client of the socket the flags (or the environment) name. */
export function client(flags: ParsedFlags, io: CliIo): AdminClient {
  return new AdminClient(flags.strings.get('socketPath') || io.env[ADMIN_SOCKET_ENV] || DEFAULT_ADMIN_SOCKET_PATH);
}

/** The `-output` format asked for. @throws {@link FlagError} for another one. */
export function outputFormat(flags: ParsedFlags): 'pretty' | 'json' {
  const output = flags.strings.get('output') ?? 'pretty';
  if (output !== 'pretty' && output !== 'json') throw new FlagError(`invalid output format "${output}"; use pretty or json`);
  return output;
}

/** A SPIFFE ID in SPIRE's JSON shape. */
function idJson(id: string): { trust_domain: string; path: string } {
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? { trust_domain: rest, path: '' } : { trust_domain: rest.slice(0, slash), path: rest.slice(slash) };
}

/** An entry in the JSON shape SPIRE's `-output json` prints. */
export function entryJson(e: RegistrationEntry): Record<string, unknown> {
  return {
    id: e.id,
    spiffe_id: idJson(e.spiffeId),
    parent_id: idJson(e.parentId),
    selectors: e.selectors.map((s) => ({ type: s.type, value: s.value })),
    x509_svid_ttl: e.x509SvidTtl,
    federates_with: [...e.federatesWith],
    admin: false,
    downstream: false,
    expires_at: '0',
    dns_names: [...e.dnsNames],
    revision_number: String(e.revision),
    store_svid: false,
    jwt_svid_ttl: e.jwtSvidTtl,
    hint: e.hint,
    created_at: String(Math.floor(new Date(e.createdAt).getTime() / 1000)),
  };
}

/** A `spire-server` command: its flags and what it does. */
export interface Command {
  flags: (io: CliIo) => FlagSpec[];
  run: (flags: ParsedFlags, io: CliIo) => Promise<number>;
}
