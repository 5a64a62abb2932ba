/**
 * What every `spiffe api` command shares: the endpoint flags, the client, and error output.
 *
 * @module
 */
import { WorkloadApiClient } from '@spiffe-node/spiffe/workloadapi';
import { DEFAULT_SOCKET_PATH, resolveEndpoint, type Endpoint } from '../endpoint.js';
import { describeFailure } from '../failure.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';

/** `-socketPath`, as SPIRE's agent commands have it. */
export const SOCKET_FLAG: FlagSpec = {
  name: 'socketPath',
  kind: 'string',
  usage: "Path to the Workload API socket, or a unix:// or tcp:// address (default: SPIFFE_ENDPOINT_SOCKET, else SPIRE's socket)",
  default: DEFAULT_SOCKET_PATH,
};

/** `-timeout`, as SPIRE's agent commands have it (default 1s). */
export const TIMEOUT_FLAG: FlagSpec = { name: 'timeout', kind: 'duration', usage: 'Time to wait for a response', default: '1s' };

/** SPIRE's default `-timeout`. */
export const DEFAULT_TIMEOUT_MS = 1000;

/**
 * A client for the endpoint the flags name, and the endpoint (for messages).
 *
 * @example
 * ```ts
 * const { client, endpoint } = connect(flags, io);
 * try { await client.fetchX509Context(); } finally { client.close(); }
 * ```
 */
export function connect(flags: ParsedFlags, io: CliIo): { client: WorkloadApiClient; endpoint: Endpoint } {
  const endpoint = resolveEndpoint(flags.strings.get('socketPath'), io.env);
  // One attempt per call (no retries inside a command); a restarted agent is the user's next run.
  const client = new WorkloadApiClient({ address: endpoint.address, initialBackoffMs: 500, maxBackoffMs: 5000 });
  return { client, endpoint };
}

/**
 * Prints what happened and what to check (bare, as `spire-agent api` prints its errors) and
 * returns exit code 1.
 *
 * @example
 * ```ts
 * return fail(io, err, endpoint, timeoutMs);
 * ```
 */
export function fail(io: CliIo, err: unknown, endpoint: Endpoint | undefined, timeoutMs?: number): number {
  const text = endpoint === undefined ? (err instanceof Error ? err.message : String(err)) : describeFailure(err, endpoint, timeoutMs);
  io.stderr(`${text}\n`);
  return 1;
}
