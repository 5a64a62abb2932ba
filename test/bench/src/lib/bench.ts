/** The shape of a benchmark and what every benchmark gets from the runner. */
import type { BenchAgent } from './agent.js';
import type { Figure } from './figures.js';
import type { NodeBinary } from './node-binary.js';

export interface BenchContext {
  /** The short run of the smoke test: few rounds, short ones; numbers only prove it runs. */
  readonly smoke: boolean;
  /** How many interleaved rounds to run. */
  readonly rounds: number;
  /** How long one measurement of one side lasts, ms. */
  readonly roundMs: number;
  /** Also record CPU profiles (--cpu-prof) where a benchmark supports it. */
  readonly profile: boolean;
  /** The Node.js that runs the Node processes (servers, workers, apps, the dev agent). */
  readonly node: NodeBinary;
  /**
   * The Node.js lines to compare side by side (`--lines 20,24`), for the benchmarks that can
   * (`lineComparison`); otherwise just {@link node}.
   */
  readonly lines: readonly NodeBinary[];
  /**
   * The key-share groups the Go load client offers: `x25519` (X25519 only, what every server
   * here then negotiates), `default` (Go's defaults, X25519MLKEM768 first), or `both` (the
   * mtls benchmark measures every server with each offer in the same rounds and compares them;
   * its other figures are those of `x25519`).
   */
  readonly clientGroups: 'x25519' | 'default' | 'both';
  /** The Go baselines' binary. */
  readonly go: string;
  /** Where this run writes its files (results/<stamp>/). */
  readonly outDir: string;
  /** The dev agent shared by the benchmarks that need one (started on first use). */
  agent(): Promise<BenchAgent>;
  log(line: string): void;
}

export interface Benchmark {
  /** The name for `--only`. */
  readonly id: string;
  /** The items of the brief it answers. */
  readonly items: string;
  readonly title: string;
  /** Whether it measures every line of `--lines` in the same interleaved rounds. */
  readonly lineComparison?: boolean;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/**
 * Runs `rounds` rounds in which every arm is measured once, the order rotated each round so that
 * no arm always goes first. Returns each arm's results in round order.
 */
export async function interleave<A extends string, T>(
  rounds: number,
  arms: readonly A[],
  measure: (arm: A, round: number) => Promise<T>,
): Promise<Map<A, T[]>> {
  const results = new Map<A, T[]>(arms.map((a) => [a, []]));
  for (let r = 0; r < rounds; r++) {
    const order = arms.map((_, i) => arms[(i + r) % arms.length] as A);
    for (const arm of order) results.get(arm)!.push(await measure(arm, r));
  }
  return results;
}

/** Per-round ratios a[i] / b[i]. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((v, i) => v / (b[i] as number));
}
