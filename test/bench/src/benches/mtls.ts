/**
 * Items 1 and 8: full mTLS handshakes per second and server CPU per handshake, three echo
 * servers driven by the same client load (the Go load process, a new TCP connection and a full
 * TLS 1.3 handshake with a client certificate per request):
 *
 * - ours: `createTlsServer(mtlsServerOptions(...))` with an X509Source from the dev agent;
 * - plain: `tls.createServer` with the same certificate, key and CA, Node's defaults;
 * - go-spiffe: `tlsconfig.MTLSServerConfig` with a workloadapi.X509Source (GOMAXPROCS=1, one
 *   core like Node's main thread).
 *
 * Server CPU is what each server process reports for itself (process.cpuUsage, getrusage).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BenchAgent, CLIENT_ID, SERVER_ID } from '../lib/agent.js';
import { interleave, ratios, type BenchContext, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import { CommandProcess } from '../lib/proc.js';
import { formatPerf, perfAvailable, perfRecord, summarizePerf, type PerfSummary } from '../lib/perf.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from '../lib/profile.js';
import { median, sum } from '../lib/stats.js';

const CONCURRENCY = 8;

interface Sample {
  rate: number;
  cpuPerHandshakeUs: number;
  count: number;
  errors: number;
}

type Arm = 'ours' | 'plain' | 'go-spiffe';

export async function startTlsServer(ctx: BenchContext, agent: BenchAgent, arm: Arm, nodeArgs: string[] = []): Promise<CommandProcess> {
  if (arm === 'go-spiffe') {
    return CommandProcess.start('go-spiffe mTLS server', ctx.go, ['serve-mtls', '-socket', BenchAgent.address(agent.serverSocket), '-client-id', CLIENT_ID], {
      env: { GOMAXPROCS: '1' },
    });
  }
  return CommandProcess.node(`${arm} tls server`, 'tls-server.ts', ['--kind', arm === 'ours' ? 'spiffe' : 'plain', '--socket', BenchAgent.address(agent.serverSocket), '--client-id', CLIENT_ID], { nodeArgs });
}

export async function startLoad(ctx: BenchContext, agent: BenchAgent): Promise<CommandProcess> {
  return CommandProcess.start('go load client', ctx.go, ['load', '-socket', BenchAgent.address(agent.clientSocket), '-server-id', SERVER_ID]);
}

async function measure(client: CommandProcess, server: CommandProcess, ms: number): Promise<Sample> {
  const cpu0 = await server.cpuMicros();
  const r = await client.send({ cmd: 'handshakes', addr: `127.0.0.1:${server.ready.port}`, ms, conc: CONCURRENCY });
  const cpu1 = await server.cpuMicros();
  if (r.count === 0) throw new Error(`no handshake succeeded: ${r.first_error}`);
  return { rate: r.count / (r.elapsed_ms / 1000), cpuPerHandshakeUs: (cpu1 - cpu0) / r.count, count: r.count, errors: r.errors };
}

/**
 * Profiles one Node server under the same load, in a run of its own (profiling slows it down):
 * the V8 CPU profiler is started after the warm-up and stopped before the server exits, so that
 * start-up is not in the profile.
 */
async function profileServer(
  ctx: BenchContext,
  agent: BenchAgent,
  client: CommandProcess,
  arm: 'ours' | 'plain',
): Promise<{ summary: ProfileSummary; handshakes: number; path: string; perf?: PerfSummary; cpuPerHandshakeUs: number }> {
  mkdirSync(ctx.outDir, { recursive: true });
  const path = join(ctx.outDir, `profile-${arm}.cpuprofile`);
  const seconds = ctx.smoke ? 1 : 5;
  const server = await startTlsServer(ctx, agent, arm);
  try {
    const addr = `127.0.0.1:${server.ready.port}`;
    await client.send({ cmd: 'handshakes', addr, ms: 500, conc: CONCURRENCY });
    // perf first (native view, no V8 profiler running), then the V8 profile (JS view).
    let perf: PerfSummary | undefined;
    let cpuPerHandshakeUs = NaN;
    if (perfAvailable()) {
      const file = join(ctx.outDir, `perf-${arm}.data`);
      const recording = perfRecord(server.pid, seconds, file);
      const cpu0 = await server.cpuMicros();
      const r = await client.send({ cmd: 'handshakes', addr, ms: seconds * 1000, conc: CONCURRENCY });
      cpuPerHandshakeUs = ((await server.cpuMicros()) - cpu0) / r.count;
      await recording;
      perf = summarizePerf(file);
      rmSync(file, { force: true });
    }
    await server.send({ cmd: 'profile-start' });
    const r = await client.send({ cmd: 'handshakes', addr, ms: seconds * 1000, conc: CONCURRENCY });
    await server.send({ cmd: 'profile-stop', path });
    return { summary: summarizeProfile(path), handshakes: r.count, path, perf, cpuPerHandshakeUs };
  } finally {
    await server.stop();
  }
}

export const mtlsBenchmark: Benchmark = {
  id: 'mtls',
  items: '1, 8',
  title: 'mTLS handshakes/s and server CPU per handshake: ours vs plain node:tls vs go-spiffe',
  async run(ctx) {
    const agent = await ctx.agent();
    const arms: Arm[] = ['ours', 'plain', 'go-spiffe'];
    const servers = new Map<Arm, CommandProcess>();
    const client = await startLoad(ctx, agent);
    try {
      for (const arm of arms) servers.set(arm, await startTlsServer(ctx, agent, arm));
      for (const arm of arms) await measure(client, servers.get(arm)!, ctx.smoke ? 100 : 500); // warm-up
      const results = await interleave(ctx.rounds, arms, (arm) => measure(client, servers.get(arm)!, ctx.roundMs));
      const get = (arm: Arm, k: keyof Sample): number[] => results.get(arm)!.map((s) => s[k]);
      const errors = sum(arms.flatMap((a) => get(a, 'errors')));
      const rateRatio = ratios(get('ours', 'rate'), get('plain', 'rate'));
      const cpuRatio = ratios(get('ours', 'cpuPerHandshakeUs'), get('plain', 'cpuPerHandshakeUs'));
      const goRate = ratios(get('ours', 'rate'), get('go-spiffe', 'rate'));
      const goCpu = ratios(get('ours', 'cpuPerHandshakeUs'), get('go-spiffe', 'cpuPerHandshakeUs'));
      const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
      const detail = { rounds: ctx.rounds, roundMs: ctx.roundMs, concurrency: CONCURRENCY, samples: Object.fromEntries(results), errors };
      const note = errors > 0 ? `${errors} failed handshakes over the run` : undefined;
      const figures: Figure[] = [
        {
          bench: 'mtls', item: '1', metric: 'mTLS handshakes/s', unit: '/s',
          ours: median(get('ours', 'rate')), oursLabel: 'mtlsServerOptions server',
          baseline: median(get('plain', 'rate')), baselineLabel: 'plain node:tls (tickets on)',
          ratio: median(rateRatio), ratioRange: range(rateRatio), target: { op: '>=', value: 1.2, on: 'ratio' }, note, detail,
        },
        {
          bench: 'mtls', item: '1', metric: 'server CPU per handshake', unit: 'µs',
          ours: median(get('ours', 'cpuPerHandshakeUs')), oursLabel: 'mtlsServerOptions server',
          baseline: median(get('plain', 'cpuPerHandshakeUs')), baselineLabel: 'plain node:tls (tickets on)',
          ratio: median(cpuRatio), ratioRange: range(cpuRatio), target: { op: '<=', value: 0.8, on: 'ratio' },
        },
        {
          bench: 'mtls', item: '8', metric: 'mTLS handshakes/s', unit: '/s',
          ours: median(get('ours', 'rate')), oursLabel: 'mtlsServerOptions server',
          baseline: median(get('go-spiffe', 'rate')), baselineLabel: 'go-spiffe MTLSServerConfig (1 core)',
          ratio: median(goRate), ratioRange: range(goRate), note: 'no target: may stay below 1 (see README)',
        },
        {
          bench: 'mtls', item: '8', metric: 'server CPU per handshake', unit: 'µs',
          ours: median(get('ours', 'cpuPerHandshakeUs')), oursLabel: 'mtlsServerOptions server',
          baseline: median(get('go-spiffe', 'cpuPerHandshakeUs')), baselineLabel: 'go-spiffe MTLSServerConfig (1 core)',
          ratio: median(goCpu), ratioRange: range(goCpu), note: 'no target (lower is better)',
        },
      ];
      if (ctx.profile) {
        for (const arm of ['ours', 'plain'] as const) {
          const { summary, handshakes, path, perf, cpuPerHandshakeUs } = await profileServer(ctx, agent, client, arm);
          if (perf) ctx.log(formatPerf(`perf profile of the ${arm} server (${cpuPerHandshakeUs.toFixed(0)} µs CPU per handshake)`, perf, cpuPerHandshakeUs));
          ctx.log(formatProfile(`V8 CPU profile of the ${arm} server (${handshakes} handshakes, ${path})`, summary, { count: handshakes, unit: 'handshake' }));
          (detail as Record<string, unknown>)[`profile_${arm}`] = { handshakes, v8: summary, perf, cpuPerHandshakeUs };
        }
      }
      return figures;
    } finally {
      await Promise.all([client.stop(), ...[...servers.values()].map((s) => s.stop())]);
    }
  },
};
