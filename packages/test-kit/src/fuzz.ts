/**
 * How the property-based tests run. In `pnpm test` (CI): a fixed seed and a small number of runs
 * per property, so a run is reproducible and short. `pnpm fuzz` (test/soak/src/fuzz-cli.mjs) sets
 * `FUZZ_SEED` (random unless given), `FUZZ_RUNS_FACTOR` and `FUZZ_TIME_LIMIT_MS` to run long; the
 * seed of any failure is in fast-check's report (and printed by the CLI).
 *
 * The oracle of "a typed error" needs the library's base error class, which this package cannot
 * import: {@link typedOutcomes} takes it (the soak's `config.ts` passes the public `SpiffeError`,
 * the library's own fuzz tests their source's).
 *
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededEntropy, type TestEntropy } from './entropy.js';

/** The fixed seed of the CI runs. */
export const CI_SEED = 20_260_125;

export const SEED = process.env.FUZZ_SEED === undefined ? CI_SEED : Number(process.env.FUZZ_SEED);
const FACTOR = Number(process.env.FUZZ_RUNS_FACTOR ?? '1');
const TIME_LIMIT_MS = process.env.FUZZ_TIME_LIMIT_MS === undefined ? undefined : Number(process.env.FUZZ_TIME_LIMIT_MS);

/**
 * Where a fuzz file's fixtures (keys, CAs, certificates) come from: derived from the run's seed,
 * so that replaying a seed mints the very same bytes and fast-check's choices land on the same
 * input. One entropy per label, so that one test's fixtures do not depend on which others ran.
 * Fixed dates stand in for "now" (valid 2025 to 2049); expired fixtures use fixed past dates.
 */
export function fixtureEntropy(label: string): TestEntropy {
  return seededEntropy(`${SEED} ${label}`);
}

/**
 * fast-check parameters: `ciRuns` runs in CI, `ciRuns * FUZZ_RUNS_FACTOR` in a long run (then cut
 * off after `FUZZ_TIME_LIMIT_MS` per property, if set).
 */
export function params<T>(ciRuns: number): fc.Parameters<T> {
  return {
    seed: SEED,
    numRuns: Math.max(1, Math.round(ciRuns * FACTOR)),
    endOnFailure: true,
    ...(TIME_LIMIT_MS === undefined ? {} : { interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false }),
  };
}

/**
 * `fc.assert`, with the property's own failure (fast-check keeps it as the `cause`) in the
 * message, so the test report shows what was wrong and not only the counterexample and seed.
 */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, parameters: fc.Parameters<Ts>): void {
  try {
    fc.assert(property, parameters);
  } catch (err) {
    throw withCause(err);
  }
}

/** The async form of {@link assertProperty}. */
export async function assertAsyncProperty<Ts>(property: fc.IAsyncProperty<Ts>, parameters: fc.Parameters<Ts>): Promise<void> {
  try {
    await fc.assert(property, parameters);
  } catch (err) {
    throw withCause(err);
  }
}

function withCause(err: unknown): Error {
  const e = err as Error & { cause?: unknown };
  const cause = e.cause as Error | undefined;
  const text = cause === undefined ? '' : `\n\nThe property failed with: ${cause.stack ?? String(cause)}`;
  const out = new Error(`${e.message}${text}\nReplay with FUZZ_SEED=${SEED}.`);
  return out;
}

/** A parse that takes longer than this on inputs of a few kilobytes counts as a hang (generous: CI is shared). */
export const SLOW_CALL_MS = 2_000;

/** What a parser call ended with: a value, or the error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The checks of {@link typedOutcomes}, bound to one library's base error class. */
export interface TypedOutcomes {
  /**
   * Runs `fn` and returns its outcome, after asserting that it took less than
   * {@link SLOW_CALL_MS} and that anything it threw is one of the library's typed errors (a
   * subclass of its base error), or a `TypeError` when `typeErrorAllowed` (misuse: an argument
   * of the wrong type).
   */
  typedOutcome<T>(fn: () => T, what: string, typeErrorAllowed?: boolean): Outcome<T>;
  /** The async form of `typedOutcome`. */
  typedOutcomeAsync<T>(fn: () => Promise<T>, what: string, typeErrorAllowed?: boolean): Promise<Outcome<T>>;
  /** Asserts that `error` is a library error (or a TypeError where misuse is possible). */
  assertTyped(error: unknown, what: string, typeErrorAllowed?: boolean): void;
}

/**
 * The typed-error oracle for a library whose errors all extend `libraryError` (and whose
 * messages start with their area, `x509svid: ...`).
 *
 * @example
 * ```ts
 * const { typedOutcome } = typedOutcomes(SpiffeError);
 * const outcome = typedOutcome(() => SpiffeId.fromString(input), 'SpiffeId.fromString');
 * ```
 */
export function typedOutcomes(libraryError: abstract new (...args: never[]) => Error): TypedOutcomes {
  function assertTyped(error: unknown, what: string, typeErrorAllowed = false): void {
    if (error instanceof libraryError) {
      const { message } = error;
      assert.match(message, /^[a-z0-9]+: /, `${what}: a ${libraryError.name} message starts with its area: ${message}`);
      return;
    }
    if (typeErrorAllowed && error instanceof TypeError) return;
    const e = error as { name?: string; code?: string; message?: string; stack?: string };
    assert.fail(
      `${what} threw ${e?.name ?? typeof error}${e?.code ? ` (${e.code})` : ''}, not a ${libraryError.name}: ${e?.message ?? String(error)}\n${e?.stack ?? ''}`,
    );
  }

  /** Asserts that an outcome came within {@link SLOW_CALL_MS} of `started` and, if an error, a typed one. */
  function checked<T>(outcome: Outcome<T>, started: number, what: string, typeErrorAllowed: boolean): Outcome<T> {
    const took = performance.now() - started;
    assert.ok(took < SLOW_CALL_MS, `${what} took ${took.toFixed(0)} ms`);
    if (!outcome.ok) assertTyped(outcome.error, what, typeErrorAllowed);
    return outcome;
  }

  function typedOutcome<T>(fn: () => T, what: string, typeErrorAllowed = false): Outcome<T> {
    const started = performance.now();
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    return checked(outcome, started, what, typeErrorAllowed);
  }

  async function typedOutcomeAsync<T>(fn: () => Promise<T>, what: string, typeErrorAllowed = false): Promise<Outcome<T>> {
    const started = performance.now();
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    return checked(outcome, started, what, typeErrorAllowed);
  }

  return { typedOutcome, typedOutcomeAsync, assertTyped };
}

/** Bytes with a few positions changed, cut, or grown: the usual corruption of a valid input. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let b = Buffer.from(valid);
    for (const e of edits) {
      if (b.length === 0) break;
      const at = e.at % b.length;
      switch (e.kind) {
        case 'flip':
          b[at] = (b[at] as number) ^ (1 << e.bit);
          break;
        case 'set':
          b[at] = e.value;
          break;
        case 'cut':
          b = b.subarray(0, at);
          break;
        case 'drop':
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
          break;
        case 'insert':
          b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
          break;
      }
    }
    return new Uint8Array(b);
  });
}

/** A string with a few characters changed, removed or inserted. */
export function mutatedString(
  valid: string,
  alphabet: fc.Arbitrary<string> = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
): fc.Arbitrary<string> {
  const edit = fc.record({ kind: fc.constantFrom('replace', 'remove', 'insert'), at: fc.nat(), ch: alphabet });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let s = valid;
    for (const e of edits) {
      const at = s.length === 0 ? 0 : e.at % s.length;
      if (e.kind === 'replace') s = s.slice(0, at) + e.ch + s.slice(at + 1);
      else if (e.kind === 'remove') s = s.slice(0, at) + s.slice(at + 1);
      else s = s.slice(0, at) + e.ch + s.slice(at);
    }
    return s;
  });
}
