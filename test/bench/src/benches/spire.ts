/**
 * Item 8 (second half): X509-SVID fetches per second (FetchX509SVID: stream opened, first
 * message read and parsed, stream closed; 8 loops over one connection, go-spiffe's client) from
 * the dev agent vs SPIRE's agent (deploy/spire, when installed), both attesting the caller by
 * its Unix uid, interleaved.
 */
import { spawnSync } from 'node:child_process';
import { SpireAgent, repoRoot, spireInstalled } from '@spiffe-node/harness';
import { BENCH_ID, BenchAgent } from '../lib/agent.js';
import { interleave, ratios, type Benchmark } from '../lib/bench.js';
import { CommandProcess, sleep } from '../lib/proc.js';
import { median } from '../lib/stats.js';

const CONCURRENCY = 8;

async function waitForSvid(fetcher: CommandProcess, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await fetcher.send({ cmd: 'try' });
    if (r.ok) return;
    last = String(r.reason);
    await sleep(250);
  }
  throw new Error(`${what} issued no SVID within ${timeoutMs / 1000} s: ${last}`);
}

export const spireBenchmark: Benchmark = {
  id: 'spire',
  items: '8',
  title: 'X509-SVID fetches/s: dev agent vs SPIRE agent',
  async run(ctx) {
    const uid = process.getuid?.() ?? 0;
    const dev = await BenchAgent.start({ entries: false, node: ctx.node.path });
    const stops: Array<() => Promise<void>> = [() => dev.stop()];
    try {
      await dev.admin.createEntry({ spiffeId: BENCH_ID, selectors: [`unix:uid:${uid}`] });
      const devFetch = await CommandProcess.start('go fetch (dev agent)', ctx.go, ['fetch', '-socket', BenchAgent.address(dev.socketPath)]);
      stops.push(() => devFetch.stop());
      await waitForSvid(devFetch, 'the dev agent', 10_000);
      const root = repoRoot();
      let spireFetch: CommandProcess | undefined;
      const withSpire = spireInstalled(root) && !ctx.smoke;
      if (withSpire) {
        const spire = await SpireAgent.start(root, { layout: 'isolated' });
        stops.push(() => spire.stop());
        const r = spawnSync(
          spire.registration.command,
          [
            'entry',
            'create',
            '-socketPath',
            spire.registration.socket,
            '-parentID',
            'spiffe://example.org/host',
            '-spiffeID',
            BENCH_ID,
            '-selector',
            `unix:uid:${uid}`,
          ],
          { encoding: 'utf8' },
        );
        if (r.status !== 0) throw new Error(`spire-server entry create failed: ${r.stdout}${r.stderr}`);
        spireFetch = await CommandProcess.start('go fetch (SPIRE)', ctx.go, ['fetch', '-socket', `unix://${spire.socketPath}`]);
        stops.push(() => spireFetch!.stop());
        await waitForSvid(spireFetch, 'the SPIRE agent', 60_000);
      }
      const fetchers = new Map([['dev', devFetch], ...(spireFetch ? [['spire', spireFetch] as const] : [])]);
      const arms = [...fetchers.keys()];
      for (const f of fetchers.values()) await f.send({ cmd: 'run', ms: 200, conc: CONCURRENCY });
      const results = await interleave(ctx.rounds, arms, async (arm) => {
        const r = await fetchers.get(arm)!.send({ cmd: 'run', ms: ctx.roundMs, conc: CONCURRENCY });
        if (r.ops === 0) throw new Error(`no fetch from ${arm} succeeded: ${r.first_error}`);
        return r.ops / (r.ns / 1e9);
      });
      const devRates = results.get('dev')!;
      const spireRates = results.get('spire');
      const q = spireRates ? ratios(devRates, spireRates) : undefined;
      return [
        {
          bench: 'spire',
          item: '8',
          metric: 'X509-SVID fetches/s',
          unit: '/s',
          ours: median(devRates),
          oursLabel: 'dev agent (-logLevel warn)',
          ...(spireRates && q
            ? {
                baseline: median(spireRates),
                baselineLabel: 'SPIRE agent v1.13.3',
                ratio: median(q),
                ratioRange: [Math.min(...q), Math.max(...q)] as [number, number],
              }
            : {}),
          note: spireRates
            ? 'no target'
            : ctx.smoke
              ? 'smoke run: SPIRE (about 10 s to start) is left out'
              : 'SPIRE is not installed (bash deploy/spire/install.sh): no baseline',
          detail: { rounds: ctx.rounds, roundMs: ctx.roundMs, concurrency: CONCURRENCY, samples: Object.fromEntries(results) },
        },
      ];
    } finally {
      for (const stop of stops.reverse()) await stop();
    }
  },
};
