/**
 * Item 2: JWT-SVID validations per second on the same token, a JWT-SVID the dev agent minted
 * for the client workload: `parseAndValidateJwtSvid` with a JwtSource vs `jose.jwtVerify` with
 * a pre-imported key (both in one Node worker), and vs go-spiffe's `jwtsvid.ParseAndValidate`
 * with a workloadapi.JWTSource (GOMAXPROCS=1).
 *
 * Also, without a target: a new token on every call (1100 distinct tokens in turn, more than
 * the 1024 that parseAndValidateJwtSvid remembers), so that every call verifies a signature.
 *
 * Rates are per second of the validating process's CPU time (user + system, each side's own
 * getrusage): one thread validates, so on an idle machine this is the wall-clock rate, and on a
 * shared one the other work does not count. With `--lines`, one worker per Node line.
 */
import { JwtSource } from '@spiffe-node/spiffe';
import { BenchAgent, SERVER_ID } from '../lib/agent.js';
import { interleave, ratios, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import type { NodeBinary } from '../lib/node-binary.js';
import { CommandProcess } from '../lib/proc.js';
import { median } from '../lib/stats.js';

const DISTINCT = 1100;

type Kind = 'ours' | 'jose' | 'ours-distinct' | 'jose-distinct';
const KINDS: readonly Kind[] = ['ours', 'jose', 'ours-distinct', 'jose-distinct'];

export const jwtBenchmark: Benchmark = {
  id: 'jwt',
  items: '2',
  title: 'JWT-SVID validations/s: parseAndValidateJwtSvid vs jose.jwtVerify vs go-spiffe jwtsvid.ParseAndValidate',
  lineComparison: true,
  async run(ctx) {
    const agent = await ctx.agent();
    const client = await JwtSource.create({ address: BenchAgent.address(agent.clientSocket) });
    let token: string;
    const tokens: string[] = [];
    try {
      token = (await client.fetchJwtSvid({ audience: SERVER_ID })).token;
      for (let i = 0; i < DISTINCT; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, DISTINCT - i) }, (_, k) =>
            client.fetchJwtSvid({ audience: [SERVER_ID, `spiffe://example.org/bench/audience-${i + k}`] }),
          ),
        );
        tokens.push(...batch.map((s) => s.token));
      }
    } finally {
      await client.close();
    }
    const lines = ctx.lines;
    const several = lines.length > 1;
    const workers = new Map<NodeBinary, CommandProcess>();
    const stops: Array<() => Promise<void>> = [];
    try {
      for (const node of lines) {
        const worker = await CommandProcess.node(
          `jwt worker (Node ${node.version})`,
          'jwt-worker.ts',
          ['--socket', BenchAgent.address(agent.serverSocket), '--audience', SERVER_ID],
          {
            node: node.path,
          },
        );
        stops.push(() => worker.stop());
        workers.set(node, worker);
      }
      const go = await CommandProcess.start(
        'go-spiffe jwt',
        ctx.go,
        ['jwt', '-socket', BenchAgent.address(agent.serverSocket), '-audience', SERVER_ID],
        {
          env: { GOMAXPROCS: '1' },
        },
      );
      stops.push(() => go.stop());
      let setup: Record<string, unknown> = {};
      for (const worker of workers.values()) setup = await worker.send({ cmd: 'setup', token, tokens });
      const alg = String(setup.alg);
      const ms = Math.max(100, Math.round(ctx.roundMs / 2));
      const arms: string[] = [...lines.flatMap((l) => KINDS.map((k) => `${k}@${l.line}`)), 'go-spiffe'];
      const workerOf = new Map<string, CommandProcess>(
        lines.flatMap((l) => KINDS.map((k): [string, CommandProcess] => [`${k}@${l.line}`, workers.get(l)!])),
      );
      const once = async (arm: string, time: number): Promise<number> => {
        const kind = arm.split('@')[0] as string;
        const r =
          arm === 'go-spiffe'
            ? await go.send({ cmd: 'run', token, ms: time })
            : await workerOf
                .get(arm)!
                .send({ cmd: 'run', impl: kind.startsWith('ours') ? 'ours' : 'jose', distinct: kind.endsWith('distinct'), ms: time });
        // Per second of the validating process's CPU time: on an idle machine the same as per
        // wall-clock second (one thread validating), and robust to the other work of a shared one.
        return r.ops / (Number(r.cpu_ns) / 1e9);
      };
      for (const arm of arms) await once(arm, ctx.smoke ? 50 : 300); // warm-up (JIT)
      const results = await interleave(ctx.rounds, arms, (arm) => once(arm, ms));
      const r = (a: string): number[] => results.get(a)!;
      const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
      const detail = {
        alg,
        rounds: ctx.rounds,
        ms,
        lines: lines.map((l) => ({ version: l.version, openssl: l.openssl })),
        samples: Object.fromEntries(results),
      };
      const ourLabel = (kind: string): string =>
        kind === 'ours' ? 'parseAndValidateJwtSvid + JwtSource' : 'parseAndValidateJwtSvid, new token each call';
      const fig = (
        item: string,
        metric: string,
        a: string,
        b: string,
        labels: [string, string],
        target?: number,
        note?: string,
        withDetail = false,
      ): Figure => {
        const q = ratios(r(a), r(b));
        return {
          bench: 'jwt',
          item,
          metric,
          unit: '/s',
          ours: median(r(a)),
          oursLabel: labels[0],
          baseline: median(r(b)),
          baselineLabel: labels[1],
          ratio: median(q),
          ratioRange: range(q),
          ...(target === undefined ? {} : { target: { op: '>=' as const, value: target, on: 'ratio' as const } }),
          note,
          detail: withDetail ? detail : undefined,
        };
      };
      const figures: Figure[] = [];
      for (const node of lines) {
        const on = several ? ` (Node ${node.line})` : '';
        const at = (k: Kind): string => `${k}@${node.line}`;
        figures.push(
          fig(
            '2',
            `${alg} validations/s, same token${on}`,
            at('ours'),
            at('jose'),
            [ourLabel('ours'), 'jose.jwtVerify, pre-imported key'],
            2,
            'a repeated token skips the signature check (remembered per bundle version); every other check runs each call',
            node === lines[0],
          ),
          fig(
            '2',
            `${alg} validations/s, same token${on}`,
            at('ours'),
            'go-spiffe',
            [ourLabel('ours'), 'go-spiffe jwtsvid.ParseAndValidate'],
            1.0,
          ),
          fig(
            '2',
            `${alg} validations/s, new token each call${on}`,
            at('ours-distinct'),
            at('jose-distinct'),
            [ourLabel('ours-distinct'), 'jose.jwtVerify, new token each call'],
            undefined,
            'no target: every call verifies a signature',
          ),
          fig(
            '2',
            `${alg} validations/s, new token each call${on}`,
            at('ours-distinct'),
            'go-spiffe',
            [ourLabel('ours-distinct'), 'go-spiffe (no cache, same cost any token)'],
            undefined,
            'no target: every call verifies a signature',
          ),
        );
      }
      const base = lines[0] as NodeBinary;
      for (const node of lines.slice(1)) {
        const vs = `Node ${node.line} vs ${base.line}`;
        const note = `Node ${node.version} (OpenSSL ${node.openssl}) against Node ${base.version} (OpenSSL ${base.openssl}), same rounds`;
        for (const kind of KINDS) {
          const what = kind.endsWith('distinct') ? 'new token each call' : 'same token';
          const label = kind.startsWith('ours') ? ourLabel(kind) : 'jose.jwtVerify';
          figures.push(
            fig(
              '2',
              `${alg} validations/s, ${what}, ${vs}`,
              `${kind}@${node.line}`,
              `${kind}@${base.line}`,
              [`${label} on Node ${node.line}`, `${label} on Node ${base.line}`],
              undefined,
              note,
            ),
          );
        }
      }
      return figures;
    } finally {
      await Promise.all(stops.map((stop) => stop()));
    }
  },
};
