/**
 * `pnpm soak`: the long soak. Runs against the development agent for `--minutes` (default 5),
 * then, where SPIRE is installed (.spire/bin), against SPIRE, then, as root, on the multi-host
 * topology of test/multihost (`--agent dev|spire|multihost` for one of them). Prints each report
 * as a table and writes it as JSON to test/soak/results/soak-<agent>-<minutes>min.json. Exits
 * non-zero when a target is missed.
 *
 *   pnpm soak                       5 minutes each: dev agent, SPIRE, multi-host (where they can run)
 *   pnpm soak -- --minutes 1 --agent dev
 *   pnpm soak -- --agent multihost  the apps on one host, the drivers on another (root, SPIRE)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spireInstalled } from '@spiffe-node/harness';
import { cannotRun as multihostCannotRun } from '@spiffe-node/test-multihost';
import { DevSoakBackend, SpireSoakBackend, type SoakBackend } from './soak/backend.js';
import { MultihostSoakBackend } from './soak/multihost-backend.js';
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
if (which !== 'all' && which !== 'dev' && which !== 'spire' && which !== 'multihost') {
  console.error('--agent must be dev, spire, multihost or all');
  process.exit(2);
}

const backends: Array<() => SoakBackend> = [];
if (which === 'all' || which === 'dev')
  backends.push(() => new DevSoakBackend({ root, x509SvidTtlSeconds: 12, jwtSvidTtlSeconds: 20, jwtKeyTtlSeconds: 40 }));
if (which === 'all' || which === 'spire') {
  if (spireInstalled(root)) backends.push(() => new SpireSoakBackend({ root, x509SvidTtlSeconds: 20 }));
  else if (which === 'spire') {
    console.error('SPIRE is not installed in this checkout: run `bash deploy/spire/install.sh` first');
    process.exit(2);
  } else console.log('SPIRE is not installed (.spire/bin): the SPIRE soak is left out');
}
if (which === 'all' || which === 'multihost') {
  const reason = multihostCannotRun(root);
  if (!reason) backends.push(() => new MultihostSoakBackend({ root, x509SvidTtlSeconds: 20 }));
  else if (which === 'multihost') {
    console.error(`the multi-host soak cannot run here: ${reason}`);
    process.exit(2);
  } else console.log(`the multi-host soak is left out: ${reason}`);
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
