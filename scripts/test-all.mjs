#!/usr/bin/env node
// The README's test command runs this after the build: every workspace package that has a `test`
// script, one after the other, with its output streamed. It counts what node's test runner reports
// and ends with one plain line, `N passed, N failed, N skipped`, so a run that executed no test shows.
// Exit code: non-zero when any suite failed or when no test ran at all.
//
//   node scripts/test-all.mjs                 every suite
//   node scripts/test-all.mjs spiffe e2e      only packages whose folder name matches
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// Order matters only for reading the log: the core first, then what builds on it.
const groups = ['packages', 'apps', 'test'];
const only = process.argv.slice(2);

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
      found.push({ name: pkg.name, dir: join(dir, name) });
    }
  }
  return found;
}

function run(suite) {
  return new Promise((resolve) => {
    const counts = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
    const child = spawn('pnpm', ['run', '--silent', 'test'], {
      cwd: suite.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
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
for (const suite of suites()) {
  console.log(`\n=== ${suite.name} (${suite.dir.slice(root.length + 1)}) ===`);
  results.push(await run(suite));
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
const failed = total.fail + total.cancelled + results.filter((r) => r.code !== 0 && r.counts.fail === 0 && r.counts.cancelled === 0).length;
console.log(`${total.pass} passed, ${failed} failed, ${total.skipped} skipped`);
process.exit(failedSuites > 0 || failed > 0 || total.pass === 0 ? 1 : 0);
