/**
 * The harness's log: one line per event on stderr (the conformance suite attaches the tail of
 * stderr to `ERROR` results; stdout carries only the readiness lines).
 *
 * @module
 */
import type { WorkloadApiLogger } from '@spiffe-node/spiffe';

/**
 * Writes `message` to stderr as one line, prefixed with `harness:`.
 *
 * @example
 * ```ts
 * log('X.509 port listening on 127.0.0.1:40123');
 * ```
 */
export function log(message: string): void {
  process.stderr.write(`harness: ${message.replace(/\n/g, ' ')}\n`);
}

/**
 * The Workload API client's logger, routed to {@link log} with the level in front.
 *
 * @example
 * ```ts
 * const client = new WorkloadApiClient({ logger: stderrLogger });
 * ```
 */
export const stderrLogger: WorkloadApiLogger = {
  debug: (message) => log(`debug ${message}`),
  info: (message) => log(`info ${message}`),
  warn: (message) => log(`warn ${message}`),
  error: (message) => log(`error ${message}`),
};

/**
 * The message of anything thrown.
 *
 * @example
 * ```ts
 * errorText(new Error('boom')); // 'boom'
 * ```
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
