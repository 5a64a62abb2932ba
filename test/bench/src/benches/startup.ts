/**
 * Item 5: start-up. (a) A workload process from spawn to holding its first X509-SVID
 * (`X509Source.create` against the dev agent), beside `node -e 0` from spawn to exit; with the
 * root import and with the `@spiffe-node/spiffe/workloadapi` subpath. (b) The dev agent from
 * spawn to serving (admin API healthy and the Workload API socket accepting connections), with a
 * new state folder (CAs created) and with an existing one (a restart).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '@spiffe-node/dev-agent';
import { BenchAgent } from '../lib/agent.js';
import { interleave, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import { BENCH_DIR, SRC_DIR, sleep } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Spawns node with args; resolves with ms from spawn to the first stdout JSON (or to exit). */
function timeNode(node: string, args: string[], until: 'exit' | 'line'): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(node, args, { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('exit', (code) => {
      const t1 = nowMs();
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited with ${code}: ${err.slice(-1000)}`));
      if (until === 'exit') return resolve(t1 - t0);
      try {
        resolve((JSON.parse(out.trim().split('\n')[0] ?? '') as { heldAtMs: number }).heldAtMs - t0);
      } catch {
        reject(new Error(`unexpected output of the start-up workload: ${out} ${err}`));
      }
    });
  });
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(false);
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** ms from spawning the agent until it serves; the agent is stopped afterwards. */
async function timeAgent(node: string, dir: string): Promise<number> {
  const t0 = nowMs();
  const child = spawn(node, BenchAgent.args(dir), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const admin = new AdminClient(join(dir, 'private', 'admin.sock'));
  const api = join(dir, 'public', 'api.sock');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the agent exited: ${err.slice(-1000)}`);
      if (nowMs() - t0 > 30_000) throw new Error(`the agent did not serve within 30 s: ${err.slice(-1000)}`);
      if (await socketAccepts(api)) {
        try {
          await admin.health();
          return nowMs() - t0;
        } catch {
          // not yet
        }
      }
      await sleep(2);
    }
  } finally {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

type Arm = 'node -e 0' | 'import only' | 'root import' | 'workloadapi import' | 'agent, new state' | 'agent, restart';

export const startupBenchmark: Benchmark = {
  id: 'startup',
  items: '5',
  title: 'Start-up: process start to first SVID held; dev agent start to serving',
  async run(ctx) {
    const agent = await ctx.agent();
    const address = BenchAgent.address(agent.clientSocket);
    const workload = join(SRC_DIR, 'workers', 'startup-workload.mjs');
    const runs = ctx.smoke ? 1 : 20;
    const restartDir = mkdtempSync(join(tmpdir(), 'spiffe-bench-restart-'));
    const freshDirs: string[] = [];
    try {
      await timeAgent(ctx.node.path, restartDir); // creates the state that the restarts reuse
      const arms: Arm[] = ['node -e 0', 'import only', 'root import', 'workloadapi import', 'agent, new state', 'agent, restart'];
      const results = await interleave(runs, arms, async (arm): Promise<number> => {
        switch (arm) {
          case 'node -e 0':
            return timeNode(ctx.node.path, ['-e', '0'], 'exit');
          case 'import only':
            return timeNode(ctx.node.path, [workload, 'import-only'], 'exit');
          case 'root import':
            return timeNode(ctx.node.path, [workload, 'root', address], 'line');
          case 'workloadapi import':
            return timeNode(ctx.node.path, [workload, 'workloadapi', address], 'line');
          case 'agent, new state': {
            const dir = mkdtempSync(join(tmpdir(), 'spiffe-bench-fresh-'));
            freshDirs.push(dir);
            return timeAgent(ctx.node.path, dir);
          }
          case 'agent, restart':
            return timeAgent(ctx.node.path, restartDir);
        }
      });
      const p = (arm: Arm, q: number): number => percentile(results.get(arm)!, q);
      const detail = { runs, samplesMs: Object.fromEntries(results) };
      const bare = p('node -e 0', 0.5);
      const fig = (metric: string, arm: Arm, label: string, extra: Partial<Figure> = {}): Figure => ({
        bench: 'startup',
        item: '5',
        metric,
        unit: 'ms',
        ours: p(arm, 0.5),
        oursLabel: label,
        baseline: bare,
        baselineLabel: '`node -e 0` (spawn to exit)',
        ratio: p(arm, 0.5) / bare,
        ...extra,
      });
      return [
        fig('start → first SVID held, p50', 'root import', "import '@spiffe-node/spiffe', X509Source.create", {
          target: { op: '<=', value: 150, on: 'value' },
          detail,
          note: `p90 ${p('root import', 0.9).toFixed(0)} ms over ${runs} runs`,
        }),
        fig('start → first SVID held, p50', 'workloadapi import', "import '@spiffe-node/spiffe/workloadapi'", {
          target: { op: '<=', value: 150, on: 'value' },
        }),
        fig('start → library loaded (exit), p50', 'import only', "import '@spiffe-node/spiffe', nothing else", {
          note: 'no target: the share of start-up that is loading the library (its modules and node:tls, http2, net, https)',
        }),
        fig('dev agent start → serving, p50', 'agent, new state', 'spiffe-dev-agent run, new CAs'),
        fig('dev agent start → serving, p50', 'agent, restart', 'spiffe-dev-agent run, existing state'),
      ];
    } finally {
      for (const dir of [restartDir, ...freshDirs]) rmSync(dir, { recursive: true, force: true });
    }
  },
};
