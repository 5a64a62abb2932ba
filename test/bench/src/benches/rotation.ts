/**
 * Item 4: SVID rotation under load. The ours mTLS echo server runs with an X509Source from the
 * dev agent while the Go client keeps opening new connections (2 loops, a full handshake each)
 * and records when it first saw each server certificate serial. The agent is told to rotate
 * (admin API, `spiffe-dev-agent rotate x509` does the same) N times, once a second.
 *
 * Latency: from the moment the rotate call returns (the agent has minted the new SVIDs and
 * queued them on its open streams before it answers) to the first completed handshake that
 * presented the new certificate; the same from just before the call (minting included) is kept
 * in the details. Failed requests: every handshake or echo that failed during the run.
 */
import { type BenchAgent } from '../lib/agent.js';
import type { Benchmark } from '../lib/bench.js';
import { type CommandProcess, nowNs, sleep } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';
import { startLoad, startTlsServer } from './mtls.js';

export const rotationBenchmark: Benchmark = {
  id: 'rotation',
  items: '4',
  title: 'Rotation: agent push to first handshake with the new SVID; failed requests during rotations',
  async run(ctx) {
    const agent: BenchAgent = await ctx.agent();
    const rotations = ctx.smoke ? 3 : 20;
    const interval = ctx.smoke ? 400 : 1000;
    const client = await startLoad(ctx, agent);
    let server: CommandProcess | undefined;
    try {
      server = await startTlsServer(ctx, agent, 'ours');
      const addr = `127.0.0.1:${server.ready.port}`;
      await client.send({ cmd: 'handshakes', addr, ms: 200, conc: 2 });
      const probe = client.send({ cmd: 'probe', addr, ms: 500 + rotations * interval + 500, conc: 2 });
      await sleep(500);
      const calls: Array<{ t0: number; t1: number }> = [];
      for (let i = 0; i < rotations; i++) {
        const t0 = nowNs();
        await agent.admin.rotateX509();
        calls.push({ t0, t1: nowNs() });
        await sleep(interval);
      }
      const r = await probe;
      const updates = ((await server.send({ cmd: 'updates' })).updates as number[]).sort((a, b) => a - b);
      const seen = (r.first_seen as Array<{ serial: string; t_ns: number }>).sort((a, b) => a.t_ns - b.t_ns);
      const fromReturn: number[] = [];
      const fromCall: number[] = [];
      const toSource: number[] = [];
      const sourceToHandshake: number[] = [];
      for (const { t0, t1 } of calls) {
        const next = seen.find((s) => s.t_ns > t0);
        if (next === undefined) continue;
        fromCall.push((next.t_ns - t0) / 1e6);
        fromReturn.push(Math.max(0, (next.t_ns - t1) / 1e6));
        const update = updates.find((u) => u > t0);
        if (update !== undefined) {
          toSource.push((update - t1) / 1e6);
          sourceToHandshake.push((next.t_ns - update) / 1e6);
        }
      }
      if (fromReturn.length < rotations) {
        throw new Error(
          `only ${fromReturn.length} of ${rotations} rotations were seen by the client (${r.count} handshakes, ${r.errors} errors: ${r.first_error})`,
        );
      }
      const callMs = calls.map((c) => (c.t1 - c.t0) / 1e6);
      const detail = {
        rotations,
        intervalMs: interval,
        handshakes: r.count,
        errors: r.errors,
        fromCallReturnMs: fromReturn,
        fromCallStartMs: fromCall,
        rotateCallMs: callMs,
        callReturnToServerSourceUpdateMs: toSource,
        serverSourceUpdateToHandshakeMs: sourceToHandshake,
        firstError: r.first_error,
      };
      const label = 'mtlsServerOptions server + X509Source';
      return [
        {
          bench: 'rotation',
          item: '4',
          metric: 'push → first handshake with new SVID, p50',
          unit: 'ms',
          ours: percentile(fromReturn, 0.5),
          oursLabel: label,
          detail,
          note:
            `${rotations} rotations, from the rotate call's return; from before the call (minting included) p50 ${percentile(fromCall, 0.5).toFixed(1)} ms, p99 ${percentile(fromCall, 0.99).toFixed(1)} ms; ` +
            `of which the server's X509Source received the SVID at p50 ${percentile(toSource, 0.5).toFixed(1)} ms (its update event to the first new handshake: p50 ${percentile(sourceToHandshake, 0.5).toFixed(1)} ms, p99 ${percentile(sourceToHandshake, 0.99).toFixed(1)} ms)`,
        },
        {
          bench: 'rotation',
          item: '4',
          metric: 'push → first handshake with new SVID, p99',
          unit: 'ms',
          ours: percentile(fromReturn, 0.99),
          oursLabel: label,
          target: { op: '<=', value: 50, on: 'value' },
        },
        {
          bench: 'rotation',
          item: '4',
          metric: `failed requests during ${rotations} rotations`,
          unit: 'req',
          ours: r.errors,
          oursLabel: `${r.count} handshakes, 2 loops`,
          target: { op: '<=', value: 0, on: 'value' },
          note: r.errors > 0 ? `first error: ${r.first_error}` : undefined,
        },
      ];
    } finally {
      await Promise.all([client.stop(), server?.stop()]);
    }
  },
};
