/**
 * Exponential backoff with jitter for re-opening Workload API streams.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */

/**
 * Exponential backoff with jitter. Each {@link Backoff.next} doubles the base delay (capped at
 * `maxMs`) and returns a value between half the base and the base, so a crowd of workloads does
 * not reconnect in lockstep and the delay is never below `initialMs / 2`.
 *
 * @example
 * ```ts
 * const backoff = new Backoff(1000, 30_000);
 * backoff.next(); // 500..1000
 * backoff.next(); // 1000..2000
 * backoff.reset(); // after a good message
 * ```
 * @internal
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #attempt = 0;

  constructor(initialMs: number, maxMs: number) {
    if (!Number.isFinite(initialMs) || initialMs <= 0) {
      throw new TypeError(`Backoff: initialMs must be a positive number, got ${initialMs}`);
    }
    if (!Number.isFinite(maxMs) || maxMs < initialMs) {
      throw new TypeError(`Backoff: maxMs must be a number >= initialMs, got ${maxMs}`);
    }
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
  }

  /** The delay before the next attempt, in milliseconds. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  /** Starts over from the initial delay. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Resolves after `ms` milliseconds, or at once (to `false`) when `signal` aborts.
 *
 * @returns `true` when the time passed, `false` when aborted.
 * @example
 * ```ts
 * if (!(await sleep(500, signal))) return; // aborted
 * ```
 * @internal
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
