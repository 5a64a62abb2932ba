/**
 * Items 1 and 8: full mTLS handshakes per second and server CPU per handshake, four echo
 * servers driven by the same client load (the Go load process, a new TCP connection and a full
 * TLS 1.3 handshake with a client certificate per request):
 *
 * - ours: `createTlsServer(mtlsServerOptions(...))` with an X509Source from the dev agent;
 * - plain: `tls.createServer` with the same certificate, key and CA, Node's defaults;
 * - bare: `tls.createServer` with ours' TLS settings and no client check (the floor);
 * - go-spiffe: `tlsconfig.MTLSServerConfig` with a workloadapi.X509Source (GOMAXPROCS=1, one
 *   core like Node's main thread).
 *
 * With `--lines`, the Node servers run once per line, all in the same interleaved rounds.
 * Server CPU is what each server process reports for itself (process.cpuUsage, getrusage); the
 * Go client reports what each handshake negotiated (version, cipher suite, group).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BenchAgent, CLIENT_ID, SERVER_ID } from '../lib/agent.js';
import { interleave, ratios, type BenchContext, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import type { NodeBinary } from '../lib/node-binary.js';
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
  /** What the handshakes agreed on, as the Go client saw it. */
  negotiated?: Negotiated;
}

interface Negotiated {
  version: string;
  cipher: string;
  group: string;
}

/** The Node servers: ours, plain node:tls, and the floor (ours' TLS settings, no client check). */
type NodeKind = 'ours' | 'plain' | 'bare';
type Arm = NodeKind | 'go-spiffe';
const NODE_KINDS: readonly NodeKind[] = ['ours', 'plain', 'bare'];

const LABELS: Record<Arm, string> = {
  ours: 'mtlsServerOptions server',
  plain: 'plain node:tls (tickets on)',
  bare: 'bare node:tls, no client check',
  'go-spiffe': 'go-spiffe MTLSServerConfig (1 core)',
};

/** Starts a server of `arm`; the Node ones run on `node` (default: the run's Node). */
export async function startTlsServer(
  ctx: BenchContext,
  agent: BenchAgent,
  arm: Arm,
  nodeArgs: string[] = [],
  node: NodeBinary = ctx.node,
): Promise<CommandProcess> {
  if (arm === 'go-spiffe') {
    return CommandProcess.start(
      'go-spiffe mTLS server',
      ctx.go,
      ['serve-mtls', '-socket', BenchAgent.address(agent.serverSocket), '-client-id', CLIENT_ID],
      {
        env: { GOMAXPROCS: '1' },
      },
    );
  }
  const kind = arm === 'ours' ? 'spiffe' : arm;
  return CommandProcess.node(
    `${arm} tls server (Node ${node.version})`,
    'tls-server.ts',
    ['--kind', kind, '--socket', BenchAgent.address(agent.serverSocket), '--client-id', CLIENT_ID],
    {
      nodeArgs,
      node: node.path,
    },
  );
}

export async function startLoad(ctx: BenchContext, agent: BenchAgent): Promise<CommandProcess> {
  return CommandProcess.start('go load client', ctx.go, [
    'load',
    '-socket',
    BenchAgent.address(agent.clientSocket),
    '-server-id',
    SERVER_ID,
  ]);
}

type Offer = 'x25519' | 'default';

/** The offers a run measures, the first one for every figure but the comparison of offers. */
function offersOf(ctx: BenchContext): Offer[] {
  return ctx.clientGroups === 'both' ? ['x25519', 'default'] : [ctx.clientGroups];
}

async function measure(client: CommandProcess, server: CommandProcess, ms: number, groups: Offer): Promise<Sample> {
  const cpu0 = await server.cpuMicros();
  const r = await client.send({ cmd: 'handshakes', addr: `127.0.0.1:${server.ready.port}`, ms, conc: CONCURRENCY, groups });
  const cpu1 = await server.cpuMicros();
  if (r.count === 0) throw new Error(`no handshake succeeded: ${r.first_error}`);
  return {
    rate: r.count / (r.elapsed_ms / 1000),
    cpuPerHandshakeUs: (cpu1 - cpu0) / r.count,
    count: r.count,
    errors: r.errors,
    negotiated: r.negotiated ?? undefined,
  };
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
  arm: NodeKind,
  node: NodeBinary,
): Promise<{ summary: ProfileSummary; handshakes: number; path: string; perf?: PerfSummary; cpuPerHandshakeUs: number }> {
  mkdirSync(ctx.outDir, { recursive: true });
  const path = join(ctx.outDir, `profile-${arm}-node${node.line}.cpuprofile`);
  const seconds = ctx.smoke ? 1 : 5;
  const server = await startTlsServer(ctx, agent, arm, [], node);
  try {
    const addr = `127.0.0.1:${server.ready.port}`;
    const groups = offersOf(ctx)[0];
    await client.send({ cmd: 'handshakes', addr, ms: 500, conc: CONCURRENCY, groups });
    // perf first (native view, no V8 profiler running), then the V8 profile (JS view).
    let perf: PerfSummary | undefined;
    let cpuPerHandshakeUs = NaN;
    if (perfAvailable()) {
      const file = join(ctx.outDir, `perf-${arm}-node${node.line}.data`);
      const recording = perfRecord(server.pid, seconds, file);
      const cpu0 = await server.cpuMicros();
      const r = await client.send({ cmd: 'handshakes', addr, ms: seconds * 1000, conc: CONCURRENCY, groups });
      cpuPerHandshakeUs = ((await server.cpuMicros()) - cpu0) / r.count;
      await recording;
      perf = summarizePerf(file);
      rmSync(file, { force: true });
    }
    await server.send({ cmd: 'profile-start' });
    const r = await client.send({ cmd: 'handshakes', addr, ms: seconds * 1000, conc: CONCURRENCY, groups });
    await server.send({ cmd: 'profile-stop', path });
    return { summary: summarizeProfile(path), handshakes: r.count, path, perf, cpuPerHandshakeUs };
  } finally {
    await server.stop();
  }
}

/** `ours@24`: an arm on a line. */
function armOf(arm: Arm, node: NodeBinary | undefined): string {
  return node === undefined ? arm : `${arm}@${node.line}`;
}

function agreedText(n: Negotiated | undefined): string {
  return n === undefined ? 'unknown' : `${n.version}, ${n.cipher}, ${n.group}`;
}

export const mtlsBenchmark: Benchmark = {
  id: 'mtls',
  items: '1, 8',
  title: 'mTLS handshakes/s and server CPU per handshake: ours vs plain node:tls vs go-spiffe',
  lineComparison: true,
  async run(ctx) {
    const agent = await ctx.agent();
    const lines = ctx.lines;
    const several = lines.length > 1;
    const nodeOf = new Map<string, NodeBinary>();
    const arms: string[] = [];
    for (const node of lines) {
      for (const kind of NODE_KINDS) {
        const arm = armOf(kind, node);
        arms.push(arm);
        nodeOf.set(arm, node);
      }
    }
    arms.push('go-spiffe');
    const servers = new Map<string, CommandProcess>();
    const client = await startLoad(ctx, agent);
    try {
      for (const arm of arms) {
        const node = nodeOf.get(arm);
        servers.set(arm, await startTlsServer(ctx, agent, arm.split('@')[0] as Arm, [], node ?? ctx.node));
      }
      // With --client-groups both, each server is measured twice a round: `arm` with X25519
      // offered and `arm+pq` with Go's default groups.
      const offers = offersOf(ctx);
      const measured = arms.flatMap((arm) => offers.map((o, i) => (i === 0 ? arm : `${arm}+pq`)));
      const offerOf = (m: string): Offer => (m.endsWith('+pq') ? 'default' : (offers[0] as Offer));
      const serverOf = (m: string): CommandProcess => servers.get(m.replace(/\+pq$/, ''))!;
      for (const m of measured) await measure(client, serverOf(m), ctx.smoke ? 100 : 500, offerOf(m)); // warm-up
      const results = await interleave(ctx.rounds, measured, (m) => measure(client, serverOf(m), ctx.roundMs, offerOf(m)));
      const get = (arm: string, k: 'rate' | 'cpuPerHandshakeUs' | 'errors'): number[] => results.get(arm)!.map((s) => s[k]);
      const agreed = (arm: string): Negotiated | undefined => results.get(arm)!.find((s) => s.negotiated)?.negotiated;
      const errors = sum(measured.flatMap((a) => get(a, 'errors')));
      const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
      const negotiated = Object.fromEntries(measured.map((a) => [a, agreed(a)]));
      const detail = {
        rounds: ctx.rounds,
        roundMs: ctx.roundMs,
        concurrency: CONCURRENCY,
        clientGroups: ctx.clientGroups,
        lines: lines.map((l) => ({ version: l.version, openssl: l.openssl })),
        negotiated,
        samples: Object.fromEntries([...results].map(([a, v]) => [a, v.map(({ negotiated: _n, ...rest }) => rest)])),
        errors,
      };
      const figure = (
        item: string,
        metric: string,
        k: 'rate' | 'cpuPerHandshakeUs',
        a: string,
        b: string,
        extra: Partial<Figure> = {},
      ): Figure => {
        const q = ratios(get(a, k), get(b, k));
        const label = (arm: string): string => {
          const node = nodeOf.get(arm.replace(/\+pq$/, ''));
          const offered = offers.length > 1 ? (arm.endsWith('+pq') ? ", Go's default groups offered" : ', X25519 offered') : '';
          return `${LABELS[arm.split(/[@+]/)[0] as Arm]}${several && node ? ` on Node ${node.line}` : ''}${offered}`;
        };
        return {
          bench: 'mtls',
          item,
          metric,
          unit: k === 'rate' ? '/s' : 'µs',
          ours: median(get(a, k)),
          oursLabel: label(a),
          baseline: median(get(b, k)),
          baselineLabel: label(b),
          ratio: median(q),
          ratioRange: range(q),
          ...extra,
        };
      };
      const figures: Figure[] = [];
      for (const node of lines) {
        const on = several ? ` (Node ${node.line})` : '';
        const ours = armOf('ours', node);
        const agreedNote =
          `client offers ${offers[0] === 'default' ? "Go's default groups (X25519MLKEM768, X25519, …)" : 'X25519 only'}; ` +
          `negotiated: ours ${agreedText(agreed(ours))}; plain ${agreedText(agreed(armOf('plain', node)))}; go-spiffe ${agreedText(agreed('go-spiffe'))}` +
          (errors > 0 ? `; ${errors} failed handshakes over the run` : '');
        // The issue's target for Node 24 (OpenSSL 3.5), kept for the newer lines.
        const goTarget = Number(node.line) >= 24 ? { target: { op: '<=' as const, value: 1.15, on: 'ratio' as const } } : {};
        figures.push(
          figure('1', `mTLS handshakes/s${on}`, 'rate', ours, armOf('plain', node), {
            target: { op: '>=', value: 1.2, on: 'ratio' },
            note: agreedNote,
            detail: node === lines[0] ? detail : undefined,
          }),
          figure('1', `server CPU per handshake${on}`, 'cpuPerHandshakeUs', ours, armOf('plain', node), {
            target: { op: '<=', value: 0.8, on: 'ratio' },
          }),
          figure('8', `mTLS handshakes/s${on}`, 'rate', ours, 'go-spiffe', { note: 'no target: may stay below 1 (see README)' }),
          figure('8', `server CPU per handshake${on}`, 'cpuPerHandshakeUs', ours, 'go-spiffe', {
            ...goTarget,
            note:
              Number(node.line) >= 24
                ? 'target of issue #21 for Node 24 (OpenSSL 3.5) and later (lower is better)'
                : 'no target on this line (lower is better)',
          }),
          figure('8', `server CPU per handshake${on}`, 'cpuPerHandshakeUs', ours, armOf('bare', node), {
            note: 'no target: the bare server has the same TLS settings and checks nothing; the difference is the cost of this library (verification, authorizer, gate)',
          }),
          figure('8', `server CPU per handshake${on}`, 'cpuPerHandshakeUs', armOf('bare', node), 'go-spiffe', {
            note: 'no target: the floor of any Node server (bare node:tls, no client check) against go-spiffe',
          }),
        );
      }
      if (offers.length > 1) {
        for (const arm of arms) {
          const node = nodeOf.get(arm);
          const on = several && node ? ` (Node ${node.line})` : '';
          const what = arm === 'go-spiffe' ? 'go-spiffe' : arm.split('@')[0];
          figures.push(
            figure(
              '8',
              `${what} server CPU per handshake, Go's default groups vs X25519 offered${on}`,
              'cpuPerHandshakeUs',
              `${arm}+pq`,
              arm,
              {
                note: `no target: negotiated ${agreedText(agreed(`${arm}+pq`))} against ${agreedText(agreed(arm))}`,
              },
            ),
          );
        }
      }
      const base = lines[0] as NodeBinary;
      for (const node of lines.slice(1)) {
        const vs = `Node ${node.line} vs ${base.line}`;
        const note = `Node ${node.version} (OpenSSL ${node.openssl}) against Node ${base.version} (OpenSSL ${base.openssl}), same rounds, same client`;
        figures.push(
          figure('1', `mTLS handshakes/s, ${vs}`, 'rate', armOf('ours', node), armOf('ours', base), { note }),
          figure('1', `server CPU per handshake, ${vs}`, 'cpuPerHandshakeUs', armOf('ours', node), armOf('ours', base), { note }),
          figure('1', `server CPU per handshake, ${vs}`, 'cpuPerHandshakeUs', armOf('plain', node), armOf('plain', base), { note }),
          figure('1', `server CPU per handshake, ${vs}`, 'cpuPerHandshakeUs', armOf('bare', node), armOf('bare', base), { note }),
        );
      }
      for (const node of ctx.profile ? lines : []) {
        for (const arm of ['ours', 'bare', 'plain'] as const) {
          const { summary, handshakes, path, perf, cpuPerHandshakeUs } = await profileServer(ctx, agent, client, arm, node);
          if (perf)
            ctx.log(
              formatPerf(
                `perf profile of the ${arm} server on Node ${node.version} (${cpuPerHandshakeUs.toFixed(0)} µs CPU per handshake)`,
                perf,
                cpuPerHandshakeUs,
              ),
            );
          ctx.log(
            formatProfile(`V8 CPU profile of the ${arm} server on Node ${node.version} (${handshakes} handshakes, ${path})`, summary, {
              count: handshakes,
              unit: 'handshake',
            }),
          );
          (detail as Record<string, unknown>)[`profile_${arm}_node${node.line}`] = { handshakes, v8: summary, perf, cpuPerHandshakeUs };
        }
      }
      return figures;
    } finally {
      await Promise.all([client.stop(), ...[...servers.values()].map((s) => s.stop())]);
    }
  },
};
