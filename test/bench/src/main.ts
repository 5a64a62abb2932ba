/**
 * `pnpm bench`: runs the benchmarks, prints the table, writes results/<stamp>/results.json and
 * chart.svg (and results/latest.*), and on a full run refreshes the figures in README.md.
 *
 *   pnpm bench                       everything (about 10 minutes)
 *   pnpm bench -- --only jwt,mtls    some benchmarks (ids: see --help)
 *   pnpm bench -- --smoke            a short run that only proves every benchmark still runs
 *   pnpm bench -- --rounds 10 --round-ms 3000 --profile
 *   pnpm bench -- --node-line 24     the Node processes on Node 24 (or --node <path>)
 *   pnpm bench -- --only mtls,jwt --lines 20,24 [--readme]   two lines side by side
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchAgent } from './lib/agent.js';
import type { BenchContext } from './lib/bench.js';
import { evaluate, type Figure } from './lib/figures.js';
import { goBinary } from './lib/go.js';
import { currentNode, describeNode, nodeOfLine, type NodeBinary } from './lib/node-binary.js';
import { BENCH_DIR } from './lib/proc.js';
import { currentLoad, machineInfo, textTable, updateReadme, writeResults, type RunMeta } from './lib/report.js';
import { BENCHMARKS } from './benchmarks.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    only: { type: 'string', multiple: true },
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'round-ms': { type: 'string' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
    readme: { type: 'boolean' },
    'skip-readme': { type: 'boolean', default: false },
    node: { type: 'string' },
    'node-line': { type: 'string' },
    lines: { type: 'string' },
    'client-groups': { type: 'string', default: 'x25519' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: pnpm bench [-- --only ID[,ID...]] [--smoke] [--rounds N] [--round-ms MS] [--profile] [--out DIR] [--readme | --skip-readme]\n' +
      '                  [--node PATH | --node-line MAJOR] [--lines MAJOR,MAJOR...] [--client-groups x25519|default|both]\n\n' +
      '  --node PATH        the Node.js binary that runs the Node processes (servers, workers, apps, the dev agent)\n' +
      '  --node-line MAJOR  the same, for a line installed by scripts/node-lines.sh (or the running Node)\n' +
      `  --lines 20,24      measure these lines side by side, in the same interleaved rounds (${BENCHMARKS.filter((b) => b.lineComparison)
        .map((b) => b.id)
        .join(', ')})\n` +
      "  --client-groups    key-share groups the Go client offers: x25519 (default), default (Go's, X25519MLKEM768 first),\n" +
      '                     or both (mtls measures each server with each offer in the same rounds)\n',
  );
  for (const b of BENCHMARKS) console.log(`  ${b.id.padEnd(9)} (item ${b.items}) ${b.title}`);
  process.exit(0);
}

const only = (values.only ?? [])
  .flatMap((o) => o.split(','))
  .map((o) => o.trim())
  .filter(Boolean);
for (const id of only) {
  if (!BENCHMARKS.some((b) => b.id === id)) {
    console.error(`unknown benchmark "${id}"; one of: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
    process.exit(2);
  }
}
const selected = only.length ? BENCHMARKS.filter((b) => only.includes(b.id)) : BENCHMARKS;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
if (values.node !== undefined && values['node-line'] !== undefined) fail('--node and --node-line name the same thing: pass one');
const clientGroups = values['client-groups'];
if (clientGroups !== 'x25519' && clientGroups !== 'default' && clientGroups !== 'both') {
  fail(`--client-groups: expected x25519, default or both, got "${clientGroups}"`);
}
let node: NodeBinary;
let lines: NodeBinary[];
try {
  node =
    values.node !== undefined
      ? describeNode(values.node)
      : values['node-line'] !== undefined
        ? nodeOfLine(values['node-line'])
        : currentNode();
  lines = values.lines === undefined ? [node] : values.lines.split(',').map((l) => nodeOfLine(l.trim()));
} catch (err) {
  fail((err as Error).message);
}
if (values.lines !== undefined) {
  const unable = selected.filter((b) => !b.lineComparison).map((b) => b.id);
  if (unable.length > 0) {
    fail(
      `--lines compares lines in ${BENCHMARKS.filter((b) => b.lineComparison)
        .map((b) => b.id)
        .join(' and ')} only; run ${unable.join(', ')} on one line with --node-line`,
    );
  }
  if (lines.length < 2 || new Set(lines.map((l) => l.path)).size !== lines.length)
    fail('--lines: name two or more different lines, e.g. --lines 20,24');
}
const smoke = values.smoke;
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = values.out ?? join(BENCH_DIR, 'results', stamp);
mkdirSync(outDir, { recursive: true });
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const started = Date.now();
const loadBefore = currentLoad();
let sharedAgent: Promise<BenchAgent> | undefined;
const ctx: BenchContext = {
  smoke,
  rounds: Number(values.rounds ?? (smoke ? 1 : 6)),
  roundMs: Number(values['round-ms'] ?? (smoke ? 200 : 2000)),
  profile: values.profile,
  node,
  lines,
  clientGroups,
  go: goBinary(log),
  outDir,
  agent: () => (sharedAgent ??= BenchAgent.start({ node: node.path })),
  log,
};

const figures: Figure[] = [];
const failures: Array<{ bench: string; error: string }> = [];
for (const bench of selected) {
  const t0 = Date.now();
  log(`\n== ${bench.id} (item ${bench.items}): ${bench.title}`);
  try {
    const produced = (await bench.run(ctx)).map(evaluate);
    figures.push(...produced);
    log(textTable(produced));
    log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    failures.push({ bench: bench.id, error });
    log(`!! ${bench.id} failed: ${error}`);
  }
}
if (sharedAgent) await (await sharedAgent).stop();

const meta: RunMeta = {
  date: new Date().toISOString(),
  ...machineInfo(lines.map((l) => `${l.version} (OpenSSL ${l.openssl})`).join(' and ')),
  load: { before: loadBefore, after: currentLoad() },
  options: {
    only: selected.map((b) => b.id),
    smoke,
    rounds: ctx.rounds,
    roundMs: ctx.roundMs,
    profile: ctx.profile,
    clientGroups,
    lines: lines.map((l) => `${l.version} (OpenSSL ${l.openssl})`),
    lineMajors: lines.map((l) => l.line).join(','),
  },
  seconds: (Date.now() - started) / 1000,
};
writeResults(outDir, figures, meta, { failures }, !smoke);
console.log(`\n${textTable(figures)}\n`);
console.log(
  `machine: ${meta.machine}; Node ${meta.node}; ${meta.go}; load ${meta.load.before.toFixed(1)} -> ${meta.load.after.toFixed(1)}`,
);
const met = figures.filter((f) => f.met === true).length;
const missed = figures.filter((f) => f.met === false);
console.log(
  `targets: ${met} met, ${missed.length} missed${missed.length ? ` (${missed.map((f) => `${f.item} ${f.bench}/${f.metric}`).join('; ')})` : ''}`,
);
console.log(`results: ${join(outDir, 'results.json')} and chart.svg${smoke ? '' : ' (copied to results/latest.*)'}`);
const wantReadme = !values['skip-readme'] && (values.readme ?? (!smoke && only.length === 0));
// A comparison of lines has its own section; a run of selected benchmarks touches the README only with --readme.
const section = lines.length > 1 ? 'lines' : 'figures';
if (wantReadme && failures.length === 0 && updateReadme(figures, meta, section)) console.log(`README.md ${section} section updated`);
if (failures.length > 0) {
  console.error(`\n${failures.length} benchmark(s) failed: ${failures.map((f) => f.bench).join(', ')}`);
  process.exitCode = 1;
}
