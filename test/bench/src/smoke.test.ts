// The smoke test of `pnpm bench`: a short run of every benchmark (`--smoke`: one short round
// each, SPIRE left out) that only proves they all still run and produce numbers. It asserts no
// speed: the figures of a smoke run mean nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BENCHMARKS } from './benchmarks.js';
import type { Figure } from './lib/figures.js';
import { goBinary } from './lib/go.js';
import { BENCH_DIR } from './lib/proc.js';

interface Results {
  figures: Figure[];
  failures: Array<{ bench: string; error: string }>;
}

describe('pnpm bench -- --smoke', () => {
  const out = mkdtempSync(join(tmpdir(), 'spiffe-bench-smoke-'));
  let results: Results;
  let output = '';

  before(
    async () => {
      goBinary(); // build the Go baselines first (cached), outside the run itself
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'main.ts'), '--smoke', '--out', out, '--skip-readme'], {
          cwd: BENCH_DIR,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 170_000,
        });
        child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
        child.once('exit', (c) => resolve(c));
      });
      assert.ok(existsSync(join(out, 'results.json')), `the smoke run (exit code ${code}) wrote no results:\n${output.slice(-4000)}`);
      results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      assert.equal(code, 0, `the smoke run failed:\n${output.slice(-4000)}`);
    },
    { timeout: 180_000 },
  );

  after(() => rmSync(out, { recursive: true, force: true }));

  it('runs every benchmark without a failure', () => {
    assert.deepEqual(results.failures, [], output.slice(-4000));
    assert.deepEqual(
      [...new Set(results.figures.map((f) => f.bench))],
      BENCHMARKS.map((b) => b.id),
    );
  });

  for (const bench of BENCHMARKS) {
    it(`${bench.id}: every figure is a number, with its baseline and ratio where it has one`, () => {
      const figures = results.figures.filter((f) => f.bench === bench.id);
      assert.ok(figures.length > 0, `${bench.id} produced no figure`);
      for (const f of figures) {
        assert.ok(Number.isFinite(f.ours), `${bench.id} / ${f.metric}: ours is ${f.ours}`);
        if (f.baseline !== undefined) {
          assert.ok(Number.isFinite(f.baseline), `${bench.id} / ${f.metric}: baseline is ${f.baseline}`);
          if (f.ratio !== undefined) assert.ok(Number.isFinite(f.ratio), `${bench.id} / ${f.metric}: ratio is ${f.ratio}`);
        }
        if (f.target !== undefined) assert.equal(typeof f.met, 'boolean', `${bench.id} / ${f.metric}: target not evaluated`);
      }
    });
  }
});
