/**
 * Waiting in tests: a plain delay, and polling a condition until it holds.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * await delay(100);
 * ```
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` (synchronous or not) every 10 ms until it holds; rejects with
 * "timed out waiting for `what`" after `timeoutMs` (default 10 s).
 *
 * @example
 * ```ts
 * await until(() => updates.length === 2, 5000, 'two updates');
 * ```
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Options of {@link poll}. */
export interface PollOptions {
  /** How long to keep trying (default 30 s). */
  timeoutMs?: number;
  /** The pause between two probes (default 200 ms). */
  intervalMs?: number;
  /** Count a probe that throws as a miss (its message is the last value) instead of failing at once. */
  retryErrors?: boolean;
}

/**
 * Calls `probe` until `accept` holds for what it returns, and returns that value; after
 * `timeoutMs` rejects with "timed out after N ms: `what`; last: <the last value>".
 *
 * @example
 * ```ts
 * const svids = await poll('the agent serves two SVIDs', () => client.fetchX509Svids(), (s) => s.length === 2);
 * ```
 */
export async function poll<T>(
  what: string,
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 200, retryErrors = false } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = value;
    } catch (err) {
      if (!retryErrors) throw err;
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${typeof last === 'string' ? last : JSON.stringify(last)}`);
    }
    await delay(intervalMs);
  }
}
