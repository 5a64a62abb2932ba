#!/usr/bin/env node
// `pnpm fuzz`: the property-based tests of src/fuzz, and those that live with the internals they
// test (`*.fuzz.test.ts` in the library's and the dev agent's sources), run long with a random seed
// (or FUZZ_SEED).
//
//   pnpm fuzz                           a random seed, 50 times the CI runs per property
//   pnpm fuzz -- --factor 200           more runs
//   pnpm fuzz -- --seed 12345           replay a seed (printed by every run and with any failure)
//   pnpm fuzz -- --minutes 10           stop each property after that long instead
//
// It prints the seed first and again at the end, and exits non-zero when a property failed; the
// failing property's report names the counterexample and the seed to replay it. The fixtures
// (keys, CAs, certificates) are derived from the seed, so a replay runs over the same bytes.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    seed: { type: 'string' },
    factor: { type: 'string', default: '50' },
    minutes: { type: 'string' },
    only: { type: 'string' },
  },
});
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31));
const factor = values.minutes ? '1000000' : values.factor;
const require = createRequire(import.meta.url);
const packageSources = ['@spiffe-node/spiffe', '@spiffe-node/dev-agent'].map((name) =>
  join(dirname(require.resolve(`${name}/package.json`)), 'src'),
);
const files = [join(here, 'fuzz'), ...packageSources]
  .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)))
  .filter((f) => f.endsWith('.fuzz.test.ts') && (!values.only || f.slice(f.lastIndexOf('/') + 1).includes(values.only)))
  .sort();
console.log(
  `fuzz: seed ${seed}, runs factor ${factor}${values.minutes ? `, at most ${values.minutes} min per property` : ''}, ${files.length} files`,
);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    FUZZ_SEED: seed,
    FUZZ_RUNS_FACTOR: factor,
    ...(values.minutes ? { FUZZ_TIME_LIMIT_MS: String(Math.round(Number(values.minutes) * 60_000)) } : {}),
  },
});
// The same seed, runs and files replay the same run: the fixtures are derived from the seed too.
const replay = [
  `--seed ${seed}`,
  values.minutes ? `--minutes ${values.minutes}` : `--factor ${factor}`,
  ...(values.only ? [`--only ${values.only}`] : []),
].join(' ');
console.log(
  `\nfuzz: seed ${seed} — ${r.status === 0 ? 'no property failed' : `a property failed: replay with \`pnpm fuzz -- ${replay}\``}`,
);
process.exit(r.status ?? 1);
