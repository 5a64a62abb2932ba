/**
 * `spiffe api fetch x509`: SPIRE's `spire-agent api fetch x509`.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { withTimeout } from '../failure.js';
import { writeSvidFiles } from '../files/svid-files.js';
import { DEFAULT_TIMEOUT_MS, SOCKET_FLAG, TIMEOUT_FLAG, connect, fail } from './common.js';
import { formatX509Context } from './print.js';

/** The flags of `api fetch x509`. */
export const FETCH_X509_FLAGS: readonly FlagSpec[] = [
  SOCKET_FLAG,
  TIMEOUT_FLAG,
  { name: 'silent', kind: 'bool', usage: 'Suppress stdout' },
  { name: 'write', kind: 'string', usage: 'Write SVID data to the specified path (optional)' },
];

/**
 * Fetches the X.509 context once, prints it as SPIRE does, and with `-write DIR` writes
 * `svid.N.pem`, `svid.N.key` (0600), `bundle.N.pem` and `federated_bundle.N.M.pem`, each
 * atomically.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * await fetchX509Command(parseFlags(['-write', '/tmp/svids'], FETCH_X509_FLAGS), processIo());
 * ```
 */
export async function fetchX509Command(flags: ParsedFlags, io: CliIo): Promise<number> {
  let connection;
  try {
    connection = connect(flags, io);
  } catch (err) {
    return fail(io, err, undefined);
  }
  const { client, endpoint } = connection;
  const timeoutMs = flags.durations.get('timeout') ?? DEFAULT_TIMEOUT_MS;
  try {
    const start = process.hrtime.bigint();
    const ctx = await withTimeout(client.fetchX509Context(), timeoutMs, () => client.close());
    const elapsed = process.hrtime.bigint() - start;
    if (flags.bools.get('silent') !== true) io.stdout(formatX509Context(ctx, elapsed, 'id'));
    const dir = flags.strings.get('write');
    if (dir !== undefined && dir !== '') {
      try {
        await writeSvidFiles(resolve(dir), ctx, (line) => io.stdout(line));
      } catch (err) {
        io.stderr(`cannot write the SVID files to ${dir}: ${(err as Error).message}\n`);
        return 1;
      }
    }
    return 0;
  } catch (err) {
    return fail(io, err, endpoint, timeoutMs);
  } finally {
    client.close();
  }
}
