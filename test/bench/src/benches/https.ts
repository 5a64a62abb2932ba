/**
 * Item 3: HTTPS requests over keep-alive connections, the Go load client sending GET / on 16
 * connections for throughput and on 1 connection for unloaded latency (p50, p99):
 *
 * - the https-mtls example's server set-up (express behind createHttpsServer +
 *   mtlsServerOptions) vs plain `https.createServer` with the same certificates and app;
 * - the jwt-proxy example's proxy and server as real processes (apps/jwt-proxy/dist), a
 *   JWT-SVID in the Authorization header: through the proxy vs to the server directly.
 */
import { join } from 'node:path';
import { freePort } from '@spiffe-node/test-kit';
import { BenchAgent, CLIENT_ID, SERVER_ID } from '../lib/agent.js';
import { AppProcess, appDir } from '../lib/app.js';
import { interleave, ratios, type Benchmark } from '../lib/bench.js';
import type { Figure } from '../lib/figures.js';
import { CommandProcess } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { startLoad } from './mtls.js';

const THROUGHPUT_CONCURRENCY = 16;

interface Sample {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

type Arm = 'ours' | 'plain' | 'proxy' | 'direct' | 'ours-1' | 'plain-1' | 'proxy-1' | 'direct-1';

export const httpsBenchmark: Benchmark = {
  id: 'https',
  items: '3',
  title: 'HTTPS keep-alive throughput and latency: https-mtls set-up vs plain https; through jwt-proxy vs direct',
  async run(ctx) {
    const agent = await ctx.agent();
    const serverAddress = BenchAgent.address(agent.serverSocket);
    const stops: Array<() => Promise<void>> = [];
    try {
      const client = await startLoad(ctx, agent);
      stops.push(() => client.stop());
      const ours = await CommandProcess.node(
        'ours https server',
        'https-server.ts',
        ['--kind', 'spiffe', '--socket', serverAddress, '--client-id', CLIENT_ID],
        { node: ctx.node.path },
      );
      stops.push(() => ours.stop());
      const plain = await CommandProcess.node(
        'plain https server',
        'https-server.ts',
        ['--kind', 'plain', '--socket', serverAddress, '--client-id', CLIENT_ID],
        { node: ctx.node.path },
      );
      stops.push(() => plain.stop());
      const dist = join(appDir('@spiffe-node/example-jwt-proxy'), 'dist');
      const serverPort = await freePort();
      const jwtServer = await AppProcess.start(
        'jwt-proxy/server',
        join(dist, 'server.js'),
        ['--host', '127.0.0.1', '--port', String(serverPort), '--socket', serverAddress, '--audience', SERVER_ID],
        serverPort,
        ctx.node.path,
      );
      stops.push(() => jwtServer.stop());
      const proxyPort = await freePort();
      const proxy = await AppProcess.start(
        'jwt-proxy/proxy',
        join(dist, 'proxy.js'),
        [
          '--host',
          '127.0.0.1',
          '--port',
          String(proxyPort),
          '--upstream',
          `https://127.0.0.1:${serverPort}`,
          '--server-id',
          SERVER_ID,
          '--socket',
          serverAddress,
        ],
        proxyPort,
        ctx.node.path,
      );
      stops.push(() => proxy.stop());

      const urls: Record<string, string> = {
        ours: `https://127.0.0.1:${ours.ready.port}/`,
        plain: `https://127.0.0.1:${plain.ready.port}/`,
        proxy: `https://127.0.0.1:${proxyPort}/`,
        direct: `https://127.0.0.1:${serverPort}/`,
      };
      const once = async (arm: Arm, ms: number): Promise<Sample> => {
        const base = arm.replace(/-1$/, '');
        const conc = arm.endsWith('-1') ? 1 : THROUGHPUT_CONCURRENCY;
        const jwt = base === 'proxy' || base === 'direct';
        const r = await client.send({
          cmd: 'http',
          url: urls[base],
          ms,
          conc,
          warm_ms: ctx.smoke ? 50 : 300,
          ...(jwt ? { audience: SERVER_ID } : {}),
        });
        if (r.count === 0) throw new Error(`no request to ${base} succeeded: ${r.first_error}`);
        return { rate: r.count / (r.elapsed_ms / 1000), p50: r.p50_us / 1000, p99: r.p99_us / 1000, errors: r.errors };
      };
      const arms: Arm[] = ['ours', 'plain', 'proxy', 'direct', 'ours-1', 'plain-1', 'proxy-1', 'direct-1'];
      const results = await interleave(ctx.rounds, arms, (arm) => once(arm, ctx.roundMs));
      const get = (a: Arm, k: keyof Sample): number[] => results.get(a)!.map((s) => s[k]);
      const errors = arms.reduce((n, a) => n + get(a, 'errors').reduce((x, y) => x + y, 0), 0);
      const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
      const detail = {
        rounds: ctx.rounds,
        roundMs: ctx.roundMs,
        concurrency: THROUGHPUT_CONCURRENCY,
        samples: Object.fromEntries(results),
        errors,
      };
      const compare = (
        metric: string,
        unit: string,
        a: Arm,
        b: Arm,
        k: keyof Sample,
        labels: [string, string],
        extra: Partial<Figure> = {},
      ): Figure => {
        const q = ratios(get(a, k), get(b, k));
        return {
          bench: 'https',
          item: '3',
          metric,
          unit,
          ours: median(get(a, k)),
          oursLabel: labels[0],
          baseline: median(get(b, k)),
          baselineLabel: labels[1],
          ratio: median(q),
          ratioRange: range(q),
          ...extra,
        };
      };
      const mtlsLabels: [string, string] = ['createHttpsServer + mtlsServerOptions', 'plain https, same certs'];
      const proxyLabels: [string, string] = ['client → jwt-proxy → server', 'client → server'];
      const p99Added = ratios(get('proxy-1', 'p99'), get('direct-1', 'p99'));
      return [
        compare(`req/s, ${THROUGHPUT_CONCURRENCY} keep-alive connections`, '/s', 'ours', 'plain', 'rate', mtlsLabels, {
          target: { op: '>=', value: 0.95, on: 'ratio' },
          detail,
          note: errors > 0 ? `${errors} failed requests over the run` : undefined,
        }),
        compare(`p50 latency, ${THROUGHPUT_CONCURRENCY} connections`, 'ms', 'ours', 'plain', 'p50', mtlsLabels),
        compare(`p99 latency, ${THROUGHPUT_CONCURRENCY} connections`, 'ms', 'ours', 'plain', 'p99', mtlsLabels),
        compare('p50 latency, 1 connection', 'ms', 'ours-1', 'plain-1', 'p50', mtlsLabels),
        compare('p99 latency, 1 connection', 'ms', 'ours-1', 'plain-1', 'p99', mtlsLabels),
        compare(`req/s, ${THROUGHPUT_CONCURRENCY} keep-alive connections`, '/s', 'proxy', 'direct', 'rate', proxyLabels, {
          target: { op: '>=', value: 0.6, on: 'ratio' },
        }),
        compare('p50 latency, 1 connection', 'ms', 'proxy-1', 'direct-1', 'p50', proxyLabels),
        {
          ...compare('p99 latency, 1 connection (added by the proxy)', 'ms', 'proxy-1', 'direct-1', 'p99', proxyLabels, {
            target: { op: '<=', value: 2, on: 'difference' },
          }),
          ratio: median(p99Added),
        },
      ];
    } finally {
      for (const stop of stops.reverse()) await stop();
    }
  },
};
