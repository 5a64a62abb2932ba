#!/usr/bin/env node
// The README's test command runs this after the build: every workspace package that has a `test`
// script, one after the other, with its output streamed. It counts what node's test runner reports
// and ends with one plain line, `N passed, N failed, N skipped`, so a run that executed no test shows.
// Exit code: non-zero when any suite failed or when no test ran at all.
//
// Then it runs the line suites (the core, the apps, e2e and conformance) again on every other
// supported Node.js line that scripts/node-lines.sh installed, so the summary covers each line.
//
//   node scripts/test-all.mjs                 every suite, then the line suites on every line
//   node scripts/test-all.mjs spiffe e2e      only packages whose folder name matches (also per line)
//   node scripts/test-all.mjs --no-lines      only on the Node.js running this script
//   node scripts/test-all.mjs --line 24       the line suites on Node.js 24 only (no machine run)
//
// SPIFFE_REQUIRE_NODE_LINES=1 (CI) makes a missing line a failure instead of a note.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// Order matters only for reading the log: the core first, then what builds on it.
const groups = ['packages', 'apps', 'test'];
// The suites that run again on each Node.js line (folder names).
const LINE_SUITES = new Set(['spiffe', 'e2e', 'conformance']);
const args = process.argv.slice(2);
const noLines = args.includes('--no-lines');
const lineArg = args.indexOf('--line');
const onlyLine = lineArg >= 0 ? args[lineArg + 1] : undefined;
if (lineArg >= 0 && !onlyLine) {
  console.error('test-all: --line needs a major version, e.g. --line 24');
  process.exit(2);
}
const only = args.filter((a, i) => !a.startsWith('--') && !(lineArg >= 0 && i === lineArg + 1));

function suites() {
  const found = [];
  for (const group of groups) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const pkgFile = join(dir, name, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      if (!pkg.scripts?.test) continue;
      if (only.length > 0 && !only.includes(name)) continue;
      found.push({ name: pkg.name, dir: join(dir, name), folder: name, group });
    }
  }
  return found;
}

/** The installed Node.js lines: `{ version, bin }` per line, from scripts/node-lines.sh. */
function nodeLines() {
  const out = execFileSync('bash', [join(root, 'scripts', 'node-lines.sh'), '--print'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [version, bin] = l.split(' ');
      return { version, bin };
    });
}

function run(suite, line) {
  return new Promise((resolve) => {
    const counts = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
    const env = { ...process.env, FORCE_COLOR: '0' };
    // pnpm runs the suite's script with the first `node` on PATH, and the tests spawn apps with
    // process.execPath: putting the line's bin first runs everything on that line.
    if (line !== undefined) env.PATH = `${line.bin}:${env.PATH ?? ''}`;
    const child = spawn('pnpm', ['run', '--silent', 'test'], {
      cwd: suite.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let pending = '';
    const scan = (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // node's TAP reporter: "# pass 12"; its spec reporter: "ℹ pass 12".
        const m = /^(?:#|ℹ) (pass|fail|skipped|todo|cancelled) (\d+)\s*$/.exec(line.trim());
        if (m) counts[m[1]] += Number(m[2]);
      }
    };
    child.stdout.on('data', scan);
    child.stderr.on('data', (c) => process.stderr.write(c));
    child.on('exit', (code, signal) => resolve({ ...suite, counts, code: code ?? (signal ? 1 : 0) }));
  });
}

const results = [];
const all = suites();
if (onlyLine === undefined) {
  for (const suite of all) {
    console.log(`\n=== ${suite.name} (${suite.dir.slice(root.length + 1)}) ===`);
    results.push(await run(suite));
  }
}

let missingLines = 0;
if (!noLines) {
  const lines = nodeLines().filter((l) => onlyLine === undefined || l.version.split('.')[0] === onlyLine);
  const lineSuites = all.filter((s) => s.group === 'apps' || LINE_SUITES.has(s.folder));
  if (lines.length === 0) {
    const what = onlyLine === undefined ? 'no other Node.js line is installed' : `Node.js ${onlyLine} is not installed`;
    console.log(`\n${what}: run \`bash scripts/node-lines.sh\` to test the supported lines too`);
    if (process.env.SPIFFE_REQUIRE_NODE_LINES === '1' || onlyLine !== undefined) missingLines = 1;
  }
  for (const line of lines) {
    for (const suite of lineSuites) {
      console.log(`\n=== ${suite.name} on Node.js ${line.version} (${suite.dir.slice(root.length + 1)}) ===`);
      const result = await run(suite, line);
      results.push({ ...result, name: `${suite.name} on Node.js ${line.version}` });
    }
  }
}

console.log('\n=== summary ===');
const total = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
let failedSuites = 0;
for (const r of results) {
  for (const k of Object.keys(total)) total[k] += r.counts[k];
  // A suite that exits non-zero without a failing test (a crash, a build error) still fails.
  const broken = r.code !== 0 && r.counts.fail === 0 && r.counts.cancelled === 0;
  if (r.code !== 0) failedSuites++;
  console.log(
    `${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.name}: ${r.counts.pass} passed, ${r.counts.fail} failed, ${r.counts.skipped} skipped` +
      (r.counts.cancelled ? `, ${r.counts.cancelled} cancelled` : '') +
      (broken ? ` (exited with code ${r.code})` : ''),
  );
}
const failed =
  total.fail +
  total.cancelled +
  missingLines +
  results.filter((r) => r.code !== 0 && r.counts.fail === 0 && r.counts.cancelled === 0).length;
console.log(`${total.pass} passed, ${failed} failed, ${total.skipped} skipped`);
process.exit(failedSuites > 0 || failed > 0 || total.pass === 0 ? 1 : 0);
