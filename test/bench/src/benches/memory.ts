/**
 * Item 6: memory. (a) The resident set of a workload holding an X509Source and a JwtSource
 * (connected, first SVID and bundles received, garbage collected) over a bare Node process that
 * loads nothing. (b) The dev agent's resident set while it serves 200 workloads, each with its
 * own connection and FetchX509SVID stream (the Go streams process; 50 in the smoke run), over the same agent idle.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BenchAgent } from '../lib/agent.js';
import { interleave, type Benchmark } from '../lib/bench.js';
import { BENCH_DIR, CommandProcess, SRC_DIR, procRssBytes, sleep } from '../lib/proc.js';
import { median } from '../lib/stats.js';

const MB = 1024 * 1024;

function workloadRss(node: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--expose-gc', join(SRC_DIR, 'workers', 'memory-workload.mjs'), ...args], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory workload exited with ${code}: ${err.slice(-1000)}`));
      resolve((JSON.parse(out) as { rss: number }).rss);
    });
  });
}

export const memoryBenchmark: Benchmark = {
  id: 'memory',
  items: '6',
  title: 'Memory: workload with X509Source + JwtSource over bare Node; dev agent with 200 streams',
  async run(ctx) {
    const shared = await ctx.agent();
    const STREAMS = ctx.smoke ? 50 : 200;
    const settleMs = ctx.smoke ? '200' : '1000';
    const runs = ctx.smoke ? 1 : 5;
    const results = await interleave(runs, ['sources', 'import', 'bare'], (arm) =>
      workloadRss(ctx.node.path, arm === 'sources' ? ['sources', settleMs, BenchAgent.address(shared.clientSocket)] : [arm, settleMs]),
    );
    const importOnly = median(results.get('import')!) / MB;
    const withSources = median(results.get('sources')!) / MB;
    const bare = median(results.get('bare')!) / MB;

    const agent = await BenchAgent.start({ node: ctx.node.path });
    let streams: CommandProcess | undefined;
    try {
      // The agent idle, after it issued the client's SVID once.
      const warm = await CommandProcess.start('go streams', ctx.go, [
        'streams',
        '-socket',
        BenchAgent.address(agent.clientSocket),
        '-n',
        '1',
      ]);
      await warm.stop();
      await sleep(500);
      const idle = procRssBytes(agent.pid) / MB;
      streams = await CommandProcess.start(
        'go streams',
        ctx.go,
        ['streams', '-socket', BenchAgent.address(agent.clientSocket), '-n', String(STREAMS)],
        {
          readyTimeoutMs: 120_000,
        },
      );
      await sleep(Number(settleMs));
      const serving = procRssBytes(agent.pid) / MB;
      return [
        {
          bench: 'memory',
          item: '6',
          metric: 'workload RSS',
          unit: 'MB',
          ours: withSources,
          oursLabel: 'Node + X509Source + JwtSource',
          baseline: bare,
          baselineLabel: 'bare Node process',
          ratio: withSources / bare,
          target: { op: '<=', value: 15, on: 'difference' },
          detail: { runs, rssBytes: Object.fromEntries(results) },
        },
        {
          bench: 'memory',
          item: '6',
          metric: 'workload RSS, library loaded only',
          unit: 'MB',
          ours: importOnly,
          oursLabel: "import '@spiffe-node/spiffe', no source",
          baseline: bare,
          baselineLabel: 'bare Node process',
          ratio: importOnly / bare,
          note: 'no target: the share of the workload figure that is loading the library',
        },
        {
          bench: 'memory',
          item: '6',
          metric: `dev agent RSS, ${STREAMS} streams`,
          unit: 'MB',
          ours: serving,
          oursLabel: `${STREAMS} connections, a FetchX509SVID stream each`,
          baseline: idle,
          baselineLabel: 'the agent idle',
          ratio: serving / idle,
          note: `${(((serving - idle) * 1024) / STREAMS).toFixed(0)} KB per stream; no target`,
        },
      ];
    } finally {
      await streams?.stop();
      await agent.stop();
    }
  },
};
