/**
 * Options shared by the file sources, and their checks.
 *
 * @module
 */
import type { WorkloadApiLogger } from '../workloadapi/logger.js';

/**
 * How a file source follows changes on disk.
 *
 * @example
 * ```ts
 * const options: FileWatchOptions = { watch: true, pollIntervalMs: 2000 };
 * ```
 */
export interface FileWatchOptions {
  /**
   * Follow changes: `fs.watch` on the files' directories (which sees atomic replacements and
   * symlink swaps) plus polling of the files' `stat` as a fallback. Default false: the files
   * are read once.
   */
  watch?: boolean;
  /** Interval of the polling fallback, in ms (default 1000). */
  pollIntervalMs?: number;
  /** Where ignored contents are reported (default: warnings to stderr). */
  logger?: WorkloadApiLogger;
}

/** @internal Throws a TypeError unless `value` is a non-empty string. */
export function checkPath(value: unknown, name: string, where: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${where}: ${name} must be a non-empty file path`);
  }
  return value;
}

/** @internal Validates the watch options. */
export function checkWatchOptions(options: FileWatchOptions, where: string): void {
  if (options.watch !== undefined && typeof options.watch !== 'boolean') {
    throw new TypeError(`${where}: watch must be a boolean`);
  }
  const poll = options.pollIntervalMs;
  if (poll !== undefined && (typeof poll !== 'number' || !Number.isFinite(poll) || poll < 10)) {
    throw new TypeError(`${where}: pollIntervalMs must be a number of milliseconds, at least 10`);
  }
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function')) {
    throw new TypeError(`${where}: logger must have debug, info, warn and error methods`);
  }
}
