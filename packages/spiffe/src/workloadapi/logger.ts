/**
 * The logger the Workload API client and sources report through.
 *
 * @module
 */

/**
 * Where the Workload API client and sources write what they see: discarded SVIDs, stream
 * failures, retries. Any object with these four methods fits (`console` does, and so do pino and
 * winston loggers bound to a level).
 *
 * @example
 * ```ts
 * import { WorkloadApiClient, type WorkloadApiLogger } from '@spiffe-node/spiffe/workloadapi';
 * const logger: WorkloadApiLogger = {
 *   debug: () => {},
 *   info: (m) => console.log(m),
 *   warn: (m) => console.warn(m),
 *   error: (m) => console.error(m),
 * };
 * const client = new WorkloadApiClient({ logger });
 * ```
 */
export interface WorkloadApiLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * The default logger: warnings and errors go to stderr, debug and info are dropped.
 *
 * @example
 * ```ts
 * import { defaultWorkloadApiLogger } from '@spiffe-node/spiffe/workloadapi';
 * defaultWorkloadApiLogger.warn('workloadapi: something worth knowing');
 * ```
 */
export const defaultWorkloadApiLogger: WorkloadApiLogger = Object.freeze({
  debug(): void {},
  info(): void {},
  warn(message: string): void {
    process.stderr.write(`${message}\n`);
  },
  error(message: string): void {
    process.stderr.write(`${message}\n`);
  },
});

/**
 * Calls a logger method without letting a throwing logger break the caller.
 *
 * @example
 * ```ts
 * safeLog(logger, 'warn', 'workloadapi: stream ended');
 * ```
 * @internal
 */
export function safeLog(logger: WorkloadApiLogger, level: keyof WorkloadApiLogger, message: string): void {
  try {
    logger[level](message);
  } catch {
    // A broken logger must not break identity delivery.
  }
}
