/**
 * Item 7: the scale of the dev agent.
 * (a) X509-SVIDs issued per second: 100 entries (20 in the smoke run) match this process's uid, one FetchX509SVID
 *     makes the agent issue them all, then each forced rotation (admin API) re-mints all 100;
 *     timed from the call to its return, with the agent's CPU from /proc.
 * (b) The cost of a rotation push against the number of open streams (10, 100, 1000 workloads,
 *     each with its own connection): time until every stream received the new SVID, and the
 *     agent's CPU per push.
 */
import { BenchAgent } from '../lib/agent.js';
import type { Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import { CommandProcess, nowNs, procCpuMicros, sleep } from '../lib/proc.js';
import { median, percentile } from '../lib/stats.js';

async function issuance(ctx: Parameters<Benchmark['run']>[0]): Promise<Figure> {
  const ENTRIES = ctx.smoke ? 20 : 100;
  const agent = await BenchAgent.start({ entries: false, node: ctx.node.path });
  const uid = process.getuid?.() ?? 0;
  let fetcher: CommandProcess | undefined;
  try {
    for (let i = 0; i < ENTRIES; i++) {
      await agent.admin.createEntry({ spiffeId: `spiffe://example.org/scale/${i}`, selectors: [`unix:uid:${uid}`] });
    }
    fetcher = await CommandProcess.start('go fetch', ctx.go, ['fetch', '-socket', BenchAgent.address(agent.socketPath)]);
    const t0 = nowNs();
    const first = await fetcher.send({ cmd: 'try' });
    const firstMs = (nowNs() - t0) / 1e6;
    if (!first.ok) throw new Error(`the agent issued nothing: ${first.reason}`);
    await fetcher.stop();
    fetcher = undefined;
    const rounds = ctx.smoke ? 1 : 5;
    const rates: number[] = [];
    const cpuPerSvid: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const c0 = procCpuMicros(agent.pid);
      const t = nowNs();
      await agent.admin.rotateX509();
      const ms = (nowNs() - t) / 1e6;
      await sleep(50);
      const c1 = procCpuMicros(agent.pid);
      rates.push(ENTRIES / (ms / 1000));
      cpuPerSvid.push((c1 - c0) / ENTRIES);
    }
    return {
      bench: 'agent',
      item: '7',
      metric: 'X509-SVIDs issued/s',
      unit: '/s',
      ours: median(rates),
      oursLabel: `dev agent, ${ENTRIES} entries re-minted per rotation`,
      note: `agent CPU ≈ ${median(cpuPerSvid).toFixed(0)} µs per SVID (/proc, 10 ms ticks); the first fetch of ${ENTRIES} new SVIDs took ${firstMs.toFixed(0)} ms; no target`,
      detail: { rates, cpuPerSvidUs: cpuPerSvid, firstFetchMs: firstMs },
    };
  } finally {
    await fetcher?.stop();
    await agent.stop();
  }
}

interface PushCost {
  streams: number;
  allMs: number;
  p50Ms: number;
  cpuMs: number;
}

async function pushCost(ctx: Parameters<Benchmark['run']>[0], counts: number[]): Promise<PushCost[]> {
  const agent = await BenchAgent.start({ node: ctx.node.path });
  const out: PushCost[] = [];
  try {
    for (const n of counts) {
      const streams = await CommandProcess.start(
        `go streams (${n})`,
        ctx.go,
        ['streams', '-socket', BenchAgent.address(agent.clientSocket), '-n', String(n)],
        {
          readyTimeoutMs: 180_000,
        },
      );
      try {
        await sleep(300);
        const rounds = ctx.smoke ? 1 : 5;
        const all: number[] = [];
        const p50: number[] = [];
        const cpu: number[] = [];
        for (let r = 0; r < rounds; r++) {
          await streams.send({ cmd: 'mark' });
          const c0 = procCpuMicros(agent.pid);
          const t0 = nowNs();
          await agent.admin.rotateX509();
          const got = await streams.send({ cmd: 'collect', timeout_ms: 60_000 }, 90_000);
          if (got.missing > 0) throw new Error(`${got.missing} of ${n} streams did not receive the rotated SVID within 60 s`);
          await sleep(30);
          const c1 = procCpuMicros(agent.pid);
          const times = (got.times_ns as number[]).map((t) => (t - t0) / 1e6);
          all.push(Math.max(...times));
          p50.push(percentile(times, 0.5));
          cpu.push((c1 - c0) / 1000);
          await sleep(200);
        }
        out.push({ streams: n, allMs: median(all), p50Ms: median(p50), cpuMs: median(cpu) });
      } finally {
        await streams.stop();
      }
    }
    return out;
  } finally {
    await agent.stop();
  }
}

export const agentBenchmark: Benchmark = {
  id: 'agent',
  items: '7',
  title: 'Dev agent scale: X509-SVIDs issued/s; rotation push cost vs open streams',
  async run(ctx) {
    const figures: Figure[] = [await issuance(ctx)];
    const costs = await pushCost(ctx, ctx.smoke ? [10, 50] : [10, 100, 1000]);
    const base = costs[0]!;
    for (const c of costs) {
      const scaled = c !== base;
      figures.push({
        bench: 'agent',
        item: '7',
        metric: `rotation push to ${c.streams} streams: all delivered`,
        unit: 'ms',
        ours: c.allMs,
        oursLabel: `p50 stream ${c.p50Ms.toFixed(1)} ms`,
        ...(scaled ? { baseline: base.allMs, baselineLabel: `${base.streams} streams`, ratio: c.allMs / base.allMs } : {}),
        detail: c,
      });
      figures.push({
        bench: 'agent',
        item: '7',
        metric: `rotation push to ${c.streams} streams: agent CPU`,
        unit: 'ms',
        ours: c.cpuMs,
        oursLabel: `${((c.cpuMs * 1000) / c.streams).toFixed(0)} µs per stream`,
        ...(scaled ? { baseline: base.cpuMs, baselineLabel: `${base.streams} streams`, ratio: c.cpuMs / base.cpuMs } : {}),
        note: c === base ? 'no target; CPU from /proc (10 ms ticks), includes minting the 2 SVIDs' : undefined,
      });
    }
    return figures;
  },
};
