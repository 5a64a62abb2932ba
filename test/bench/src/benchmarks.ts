/** The list of benchmarks (`--only` takes their ids). */
import type { Benchmark } from './lib/bench.js';
import { agentBenchmark } from './benches/agent.js';
import { httpsBenchmark } from './benches/https.js';
import { jwtBenchmark } from './benches/jwt.js';
import { memoryBenchmark } from './benches/memory.js';
import { mtlsBenchmark } from './benches/mtls.js';
import { rotationBenchmark } from './benches/rotation.js';
import { spireBenchmark } from './benches/spire.js';
import { startupBenchmark } from './benches/startup.js';

/** Every benchmark, in the order `pnpm bench` runs them. */
export const BENCHMARKS: readonly Benchmark[] = [
  mtlsBenchmark,
  jwtBenchmark,
  httpsBenchmark,
  rotationBenchmark,
  startupBenchmark,
  memoryBenchmark,
  agentBenchmark,
  spireBenchmark,
];
