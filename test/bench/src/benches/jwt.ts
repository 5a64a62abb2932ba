/**
 * Item 2: JWT-SVID validations per second on the same token, a JWT-SVID the dev agent minted
 * for the client workload: `parseAndValidateJwtSvid` with a JwtSource vs `jose.jwtVerify` with
 * a pre-imported key (both in one Node worker), and vs go-spiffe's `jwtsvid.ParseAndValidate`
 * with a workloadapi.JWTSource (GOMAXPROCS=1).
 *
 * Also, without a target: a new token on every call (1100 distinct tokens in turn, more than
 * the 1024 that parseAndValidateJwtSvid remembers), so that every call verifies a signature.
 */
import { JwtSource } from '@spiffe-node/spiffe';
import { BenchAgent, SERVER_ID } from '../lib/agent.js';
import { interleave, ratios, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import { CommandProcess } from '../lib/proc.js';
import { median } from '../lib/stats.js';

const DISTINCT = 1100;

type Arm = 'ours' | 'jose' | 'go-spiffe' | 'ours-distinct' | 'jose-distinct';

export const jwtBenchmark: Benchmark = {
  id: 'jwt',
  items: '2',
  title: 'JWT-SVID validations/s: parseAndValidateJwtSvid vs jose.jwtVerify vs go-spiffe jwtsvid.ParseAndValidate',
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
    const worker = await CommandProcess.node('jwt worker', 'jwt-worker.ts', ['--socket', BenchAgent.address(agent.serverSocket), '--audience', SERVER_ID]);
    const go = await CommandProcess.start('go-spiffe jwt', ctx.go, ['jwt', '-socket', BenchAgent.address(agent.serverSocket), '-audience', SERVER_ID], {
      env: { GOMAXPROCS: '1' },
    });
    try {
      const setup = await worker.send({ cmd: 'setup', token, tokens });
      const ms = Math.max(100, Math.round(ctx.roundMs / 2));
      const once = async (arm: Arm, time: number): Promise<number> => {
        const r =
          arm === 'go-spiffe'
            ? await go.send({ cmd: 'run', token, ms: time })
            : await worker.send({ cmd: 'run', impl: arm.startsWith('ours') ? 'ours' : 'jose', distinct: arm.endsWith('distinct'), ms: time });
        return r.ops / (r.ns / 1e9);
      };
      const arms: Arm[] = ['ours', 'jose', 'go-spiffe', 'ours-distinct', 'jose-distinct'];
      for (const arm of arms) await once(arm, ctx.smoke ? 50 : 300); // warm-up (JIT)
      const results = await interleave(ctx.rounds, arms, (arm) => once(arm, ms));
      const r = (a: Arm): number[] => results.get(a)!;
      const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
      const detail = { alg: setup.alg, rounds: ctx.rounds, ms, samples: Object.fromEntries(results) };
      const fig = (item: string, metric: string, a: Arm, b: Arm, bLabel: string, target?: number, note?: string): Figure => {
        const q = ratios(r(a), r(b));
        return {
          bench: 'jwt', item, metric, unit: '/s',
          ours: median(r(a)), oursLabel: a === 'ours' ? 'parseAndValidateJwtSvid + JwtSource' : 'parseAndValidateJwtSvid, new token each call',
          baseline: median(r(b)), baselineLabel: bLabel,
          ratio: median(q), ratioRange: range(q),
          ...(target === undefined ? {} : { target: { op: '>=' as const, value: target, on: 'ratio' as const } }),
          note, detail: a === 'ours' && b === 'jose' ? detail : undefined,
        };
      };
      return [
        fig('2', `${setup.alg} validations/s, same token`, 'ours', 'jose', 'jose.jwtVerify, pre-imported key', 2,
          'a repeated token skips the signature check (remembered per bundle version); every other check runs each call'),
        fig('2', `${setup.alg} validations/s, same token`, 'ours', 'go-spiffe', 'go-spiffe jwtsvid.ParseAndValidate', 1.0),
        fig('2', `${setup.alg} validations/s, new token each call`, 'ours-distinct', 'jose-distinct', 'jose.jwtVerify, new token each call', undefined,
          'no target: every call verifies a signature'),
        fig('2', `${setup.alg} validations/s, new token each call`, 'ours-distinct', 'go-spiffe', 'go-spiffe (no cache, same cost any token)', undefined,
          'no target: every call verifies a signature'),
      ];
    } finally {
      await Promise.all([worker.stop(), go.stop()]);
    }
  },
};
