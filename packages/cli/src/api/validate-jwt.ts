/**
 * `spiffe api validate jwt`: SPIRE's `spire-agent api validate jwt`.
 *
 * @module
 */
import { WorkloadApiError } from '@spiffe-node/spiffe';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { CommandError, withTimeout } from '../failure.js';
import { DEFAULT_TIMEOUT_MS, SOCKET_FLAG, TIMEOUT_FLAG, connect, fail } from './common.js';

/** The flags of `api validate jwt`. */
export const VALIDATE_JWT_FLAGS: readonly FlagSpec[] = [
  SOCKET_FLAG,
  TIMEOUT_FLAG,
  { name: 'audience', kind: 'string', usage: 'expected audience value' },
  { name: 'svid', kind: 'string', usage: 'JWT SVID' },
];

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Has the agent validate a JWT-SVID for an audience. Prints `SVID is valid.`, the SPIFFE ID
 * and the claims; exits 1 with `SVID is not valid: <reason>` when the agent refuses it.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * await validateJwtCommand(parseFlags(['-audience', 'db', '-svid', token], VALIDATE_JWT_FLAGS), processIo());
 * ```
 */
export async function validateJwtCommand(flags: ParsedFlags, io: CliIo): Promise<number> {
  const audience = flags.strings.get('audience') ?? '';
  const token = flags.strings.get('svid') ?? '';
  if (audience === '') return fail(io, new CommandError('audience must be specified (-audience)'), undefined);
  if (token === '') return fail(io, new CommandError('svid must be specified (-svid)'), undefined);
  let connection;
  try {
    connection = connect(flags, io);
  } catch (err) {
    return fail(io, err, undefined);
  }
  const { client, endpoint } = connection;
  const timeoutMs = flags.durations.get('timeout') ?? DEFAULT_TIMEOUT_MS;
  try {
    const svid = await withTimeout(client.validateJwtSvid(token, audience), timeoutMs, () => client.close());
    io.stdout(`SVID is valid.\nSPIFFE ID : ${svid.id}\nClaims    : ${sortedJson(svid.claims)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof WorkloadApiError && err.code === 'ERR_WORKLOADAPI_INVALID_ARGUMENT') {
      const details = (err.cause as { details?: unknown } | undefined)?.details;
      io.stderr(`SVID is not valid: ${typeof details === 'string' ? details : err.message}\n`);
      return 1;
    }
    return fail(io, err, endpoint, timeoutMs);
  } finally {
    client.close();
  }
}
