/**
 * `spiffe api fetch jwt`: SPIRE's `spire-agent api fetch jwt`.
 *
 * @module
 */
import { SpiffeId } from '@spiffe-node/spiffe';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { CommandError, withTimeout } from '../failure.js';
import { DEFAULT_TIMEOUT_MS, SOCKET_FLAG, TIMEOUT_FLAG, connect, fail } from './common.js';

/** The flags of `api fetch jwt`. */
export const FETCH_JWT_FLAGS: readonly FlagSpec[] = [
  SOCKET_FLAG,
  TIMEOUT_FLAG,
  { name: 'audience', kind: 'list', usage: 'comma separated list of audience values (can be repeated)' },
  { name: 'spiffeID', kind: 'string', usage: 'SPIFFE ID subject (optional)' },
];

/**
 * The audiences of `-audience a,b -audience c`: `['a', 'b', 'c']`.
 *
 * @example
 * ```ts
 * audiencesOf(parseFlags(['-audience', 'a,b'], FETCH_JWT_FLAGS)); // ['a', 'b']
 * ```
 */
function audiencesOf(flags: ParsedFlags): string[] {
  return (flags.lists.get('audience') ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * Fetches JWT-SVIDs for the audiences (and the JWT bundles) and prints them as SPIRE does:
 * `token(<id>):` and `bundle(<trust domain id>):`, each followed by a tab-indented value.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * await fetchJwtCommand(parseFlags(['-audience', 'spiffe://example.org/db'], FETCH_JWT_FLAGS), processIo());
 * ```
 */
export async function fetchJwtCommand(flags: ParsedFlags, io: CliIo): Promise<number> {
  const audience = audiencesOf(flags);
  if (audience.length === 0) return fail(io, new CommandError('audience must be specified (-audience)'), undefined);
  let subject: SpiffeId | undefined;
  const id = flags.strings.get('spiffeID');
  try {
    subject = id === undefined || id === '' ? undefined : SpiffeId.fromString(id);
  } catch (err) {
    return fail(io, err, undefined);
  }
  let connection;
  try {
    connection = connect(flags, io);
  } catch (err) {
    return fail(io, err, undefined);
  }
  const { client, endpoint } = connection;
  const timeoutMs = flags.durations.get('timeout') ?? DEFAULT_TIMEOUT_MS;
  try {
    const bundles = await withTimeout(client.fetchJwtBundles(), timeoutMs, () => client.close());
    const svids = await withTimeout(client.fetchJwtSvids({ audience, subject }), timeoutMs, () => client.close());
    let out = '';
    for (const svid of svids) out += `token(${svid.id}):\n\t${svid.token}\n`;
    for (const bundle of [...bundles.bundles()].sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : 1))) {
      out += `bundle(${bundle.trustDomain.idString()}):\n\t${bundle.marshal()}\n`;
    }
    io.stdout(out);
    return 0;
  } catch (err) {
    return fail(io, err, endpoint, timeoutMs);
  } finally {
    client.close();
  }
}
