/**
 * `spiffe api watch`: SPIRE's `spire-agent api watch`.
 *
 * @module
 */
import type { WorkloadApiError } from '@spiffe-node/spiffe';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { describeFailure } from '../failure.js';
import { SOCKET_FLAG, connect, fail } from './common.js';
import { formatX509Context } from './print.js';

/** The flags of `api watch`. */
export const WATCH_FLAGS: readonly FlagSpec[] = [SOCKET_FLAG];

/**
 * Attaches to the Workload API and prints every X.509 context as it arrives (SPIRE's shape,
 * with the time since the previous one), until `signal` aborts (SIGINT / SIGTERM from `main`).
 * Stream failures are printed to stderr and retried; a terminal failure (InvalidArgument,
 * Unimplemented) ends the command with exit code 1.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * await watchCommand(parseFlags([], WATCH_FLAGS), processIo(), controller.signal);
 * ```
 */
export async function watchCommand(flags: ParsedFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  let connection;
  try {
    connection = connect(flags, io);
  } catch (err) {
    return fail(io, err, undefined);
  }
  const { client, endpoint } = connection;
  let last = process.hrtime.bigint();
  try {
    await client.watchX509Context(
      {
        onX509ContextUpdate: (ctx) => {
          const now = process.hrtime.bigint();
          io.stdout(formatX509Context(ctx, now - last, 'name'));
          last = now;
        },
        onX509ContextWatchError: (err: WorkloadApiError) => {
          io.stderr(`${describeFailure(err, endpoint)}\n`);
        },
      },
      signal,
    );
    return 0;
  } catch (err) {
    return fail(io, err, endpoint);
  } finally {
    client.close();
  }
}
