/**
 * The request drivers of the soak: in-process clients that use the library against the real app
 * processes, one request at a time at a steady pace, each with its own way of connecting.
 *
 * - `mtls-echo`: `dial()` (a new SPIFFE mTLS connection per request), "Hello server" → "Hello client".
 * - `https-mtls`: undici `fetch` through `createSpiffeDispatcher` (a keep-alive pool whose
 *   connections are recycled every 2 s), expecting "Success!!!".
 * - `jwt-proxy`: a JWT-SVID from `JwtSource`, then HTTPS to the proxy through
 *   `createSpiffeHttpsAgent` (TLS, the proxy authenticated by its SVID; a new connection per
 *   request), expecting "Success!!!" from the server behind it.
 */
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch, type Dispatcher } from 'undici';
import { SpiffeId, authorizeId, type JwtSource, type X509Source } from '@spiffe-node/spiffe';
import { createSpiffeHttpsAgent, dial } from '@spiffe-node/spiffe/tls';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';

const REQUEST_TIMEOUT_MS = 5_000;

export interface DriverContext {
  x509: X509Source;
  jwt: JwtSource;
  serverId: string;
  audience: string;
  /** The address the apps listen on (127.0.0.1, or another host's address). */
  host: string;
  /** Called with every JWT-SVID used (to count signing keys). */
  onToken?: (token: string) => void;
}

export interface Driver {
  readonly name: string;
  /** Makes one request; resolves on the expected answer, rejects otherwise. */
  once(): Promise<void>;
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function echoDriver(ctx: DriverContext, port: number): Driver {
  const authorizer = authorizeId(SpiffeId.fromString(ctx.serverId));
  return {
    name: 'mtls-echo (dial)',
    async once() {
      const conn: TLSSocket = await dial({
        mode: 'mtls',
        host: ctx.host,
        port,
        svidSource: ctx.x509,
        bundleSource: ctx.x509,
        authorizer,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      try {
        const reply = await withTimeout(
          new Promise<string>((resolve, reject) => {
            let data = '';
            conn.setEncoding('utf8');
            conn.on('data', (c: string) => (data += c));
            conn.once('end', () => resolve(data));
            conn.once('error', reject);
            conn.write('Hello server\n');
          }),
          REQUEST_TIMEOUT_MS,
          'mtls-echo',
        );
        if (reply.trim() !== 'Hello client') throw new Error(`unexpected answer ${JSON.stringify(reply)}`);
      } finally {
        conn.destroy();
      }
    },
    async close() {},
  };
}

export function httpsDriver(ctx: DriverContext, port: number): Driver {
  const dispatcher: Dispatcher = createSpiffeDispatcher({
    svidSource: ctx.x509,
    bundleSource: ctx.x509,
    authorizer: authorizeId(SpiffeId.fromString(ctx.serverId)),
    agentOptions: { keepAliveTimeout: 2_000, keepAliveMaxTimeout: 2_000, connections: 2 },
    connectTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const url = `https://${ctx.host}:${port}/`;
  return {
    name: 'https-mtls (undici dispatcher)',
    async once() {
      const res = await fetch(url, { dispatcher, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const body = await res.text();
      if (res.status !== 200 || body !== 'Success!!!') throw new Error(`HTTP ${res.status} ${JSON.stringify(body.slice(0, 80))}`);
    },
    async close() {
      await dispatcher.close();
    },
  };
}

export function jwtDriver(ctx: DriverContext, proxyPort: number): Driver {
  const agent = createSpiffeHttpsAgent({
    bundleSource: ctx.x509,
    authorizer: authorizeId(SpiffeId.fromString(ctx.serverId)),
    agentOptions: { keepAlive: false },
  });
  return {
    name: 'jwt-proxy (JwtSource + https agent)',
    async once() {
      const svid = await ctx.jwt.fetchJwtSvid({ audience: ctx.audience });
      ctx.onToken?.(svid.token);
      const { status, body } = await withTimeout(
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: ctx.host,
              port: proxyPort,
              path: '/',
              method: 'GET',
              agent,
              headers: { authorization: `Bearer ${svid.token}` },
              timeout: REQUEST_TIMEOUT_MS,
            },
            (res) => {
              let data = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (data += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
              res.on('error', reject);
            },
          );
          req.on('timeout', () => req.destroy(new Error('request timed out')));
          req.on('error', reject);
          req.end();
        }),
        REQUEST_TIMEOUT_MS,
        'jwt-proxy',
      );
      if (status !== 200 || body !== 'Success!!!') throw new Error(`HTTP ${status} ${JSON.stringify(body.slice(0, 80))}`);
    },
    async close() {
      agent.destroy();
    },
  };
}

/** The outcomes of one driver's requests, kept compact (memory use is measured while it runs). */
export class DriverRecorder {
  readonly name: string;
  readonly #latencies: Float64Array;
  #ok = 0;
  requests = 0;
  readonly failures: Array<{ startedAt: number; endedAt: number; error: string }> = [];

  constructor(name: string, capacity: number) {
    this.name = name;
    this.#latencies = new Float64Array(capacity);
  }

  ok(ms: number): void {
    this.requests++;
    if (this.#ok < this.#latencies.length) this.#latencies[this.#ok++] = ms;
  }

  fail(startedAt: number, endedAt: number, error: string): void {
    this.requests++;
    if (this.failures.length < 10_000) this.failures.push({ startedAt, endedAt, error });
  }

  latencies(): number[] {
    return Array.from(this.#latencies.subarray(0, this.#ok));
  }
}

/**
 * Runs `driver` until `until` (ms since the epoch) or `maxRequests`, one request every
 * `intervalMs` (the next starts at once when a request took longer), recording each.
 */
export async function runDriver(
  driver: Driver,
  until: number,
  intervalMs: number,
  maxRequests: number,
  out: DriverRecorder,
): Promise<void> {
  for (let n = 0; n < maxRequests && Date.now() < until; n++) {
    const startedAt = Date.now();
    try {
      await driver.once();
      out.ok(Date.now() - startedAt);
    } catch (err) {
      const e = err as Error & { cause?: Error; code?: string };
      const message = `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}${e?.cause?.message ? ` (${e.cause.message})` : ''}`;
      out.fail(startedAt, Date.now(), message);
    }
    const wait = startedAt + intervalMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
}
