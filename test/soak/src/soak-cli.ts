/**
 * `pnpm soak`: the long soak. Runs against the development agent for `--minutes` (default 5),
 * then, where SPIRE is installed (.spire/bin), against SPIRE (`--agent spire` for SPIRE only,
 * `--agent dev` for the dev agent only). Prints each report as a table and writes it as JSON to
 * test/soak/results/soak-<agent>-<minutes>min.json. Exits non-zero when a target is missed.
 *
 *   pnpm soak                       5 minutes on the dev agent, then 5 on SPIRE if installed
 *   pnpm soak -- --minutes 1 --agent dev
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spireInstalled } from '@spiffe-node/harness';
import { DevSoakBackend, SpireSoakBackend, type SoakBackend } from './soak/backend.js';
import { formatReport, runSoak } from './soak/run-soak.js';
import { checkTargets } from './soak/targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    minutes: { type: 'string', default: '5' },
    agent: { type: 'string', default: 'all' },
    interval: { type: 'string', default: '50' },
  },
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 120) {
  console.error('--minutes must be a number of minutes between 0 and 120');
  process.exit(2);
}
const interval = Number(values.interval);
if (!Number.isInteger(interval) || interval < 5) {
  console.error('--interval must be a whole number of milliseconds, at least 5');
  process.exit(2);
}
const which = values.agent;
if (which !== 'all' && which !== 'dev' && which !== 'spire') {
  console.error('--agent must be dev, spire or all');
  process.exit(2);
}

const backends: Array<() => SoakBackend> = [];
if (which !== 'spire') backends.push(() => new DevSoakBackend({ root, x509SvidTtlSeconds: 12, jwtSvidTtlSeconds: 20, jwtKeyTtlSeconds: 40 }));
if (which !== 'dev') {
  if (spireInstalled(root)) backends.push(() => new SpireSoakBackend({ root, x509SvidTtlSeconds: 20 }));
  else if (which === 'spire') {
    console.error('SPIRE is not installed in this checkout: run `bash deploy/spire/install.sh` first');
    process.exit(2);
  } else console.log('SPIRE is not installed (.spire/bin): the SPIRE soak is left out');
}

let failed = false;
for (const make of backends) {
  const backend = make();
  console.log(`\n=== soak: ${backend.kind}, ${minutes} min ===`);
  const report = await runSoak({
    backend,
    durationMs: Math.round(minutes * 60_000),
    requestIntervalMs: interval,
    onProgress: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(`\n${formatReport(report)}`);
  const dir = join(here, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `soak-${backend.kind}-${minutes}min.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nreport: ${file}`);
  const missed = checkTargets(report);
  if (missed.length > 0) {
    failed = true;
    console.log(`\nTargets missed:\n${missed.map((m) => `- ${m}`).join('\n')}`);
  } else console.log('\nEvery target met.');
}
process.exit(failed ? 1 : 0);
