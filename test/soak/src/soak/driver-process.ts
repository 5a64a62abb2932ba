/**
 * The soak's request drivers, in a process of their own so that its memory and its open handles
 * are the library's and the drivers' alone (the orchestrator keeps every log line). Started by
 * run-soak.ts with `fork`; talks over IPC: it receives the configuration, reports SVID updates,
 * JWT-SVIDs and memory samples as they happen, and a summary at the end, then exits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { JwtSource, TrustDomain, WorkloadApiClient, X509Source, type WorkloadApiLogger } from '@spiffe-node/spiffe';
import { echoDriver, httpsDriver, jwtDriver, runDriver, DriverRecorder, type Driver } from './drivers.js';
import type { TimedLine } from './metrics.js';

export interface DriverConfig {
  clientAddress: string;
  serverAddress: string | undefined;
  serverId: string;
  partnerTrustDomain: string;
  /** The address the apps listen on. */
  host: string;
  ports: { echo: number; https: number; proxy: number };
  durationMs: number;
  intervalMs: number;
  initialBackoffMs: number;
}

/** Messages from the driver process. */
export type DriverMessage =
  | { type: 'ready'; at: number }
  | { type: 'started'; at: number }
  | { type: 'svid'; who: 'client' | 'server'; at: number; expiresAt: number; partner: boolean }
  | { type: 'jwt-bundles'; at: number }
  | { type: 'jwt'; at: number; expiresAt: number; kid: string }
  | { type: 'memory'; at: number; rss: number; heap: number; gc: boolean }
  | { type: 'done'; summary: DriverSummaryMessage }
  | { type: 'error'; message: string };

export interface DriverSummaryMessage {
  drivers: Array<{
    name: string;
    requests: number;
    latencies: number[];
    failures: Array<{ startedAt: number; endedAt: number; error: string }>;
  }>;
  clientLog: TimedLine[];
  observerLog: TimedLine[];
  handles: { baseline: Record<string, number>; end: Record<string, number>; leaked: Record<string, number> };
}

function send(message: DriverMessage): void {
  process.send?.(message);
}

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function leaked(baseline: Record<string, number>, end: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(end)) if (v > (baseline[k] ?? 0)) out[k] = v - (baseline[k] ?? 0);
  return out;
}

function timedLogger(lines: TimedLine[]): WorkloadApiLogger {
  const at = (level: string) => (message: string) => {
    if (lines.length < 5_000) lines.push({ at: Date.now(), level, message });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const gc = (globalThis as { gc?: () => void }).gc;

async function run(config: DriverConfig): Promise<void> {
  // The process's own resources (the IPC channel) before the soak opens anything.
  const baseline = resourceCounts();
  const clientLog: TimedLine[] = [];
  const observerLog: TimedLine[] = [];
  const partner = TrustDomain.fromString(config.partnerTrustDomain);
  const hasPartner = (s: X509Source): boolean => {
    try {
      s.getX509BundleForTrustDomain(partner);
      return true;
    } catch {
      return false;
    }
  };
  const client = new WorkloadApiClient({
    address: config.clientAddress,
    logger: timedLogger(clientLog),
    initialBackoffMs: config.initialBackoffMs,
  });
  const x509 = await X509Source.create({ client, timeoutMs: 60_000 });
  const jwt = await JwtSource.create({ client, timeoutMs: 60_000 });
  const reportSvid = (who: 'client' | 'server', s: X509Source): void =>
    send({ type: 'svid', who, at: Date.now(), expiresAt: s.getX509Svid().expiresAt.getTime(), partner: hasPartner(s) });
  reportSvid('client', x509);
  x509.on('update', () => reportSvid('client', x509));
  jwt.on('update', () => send({ type: 'jwt-bundles', at: Date.now() }));
  let observerClient: WorkloadApiClient | undefined;
  let observer: X509Source | undefined;
  if (config.serverAddress !== undefined) {
    observerClient = new WorkloadApiClient({
      address: config.serverAddress,
      logger: timedLogger(observerLog),
      initialBackoffMs: config.initialBackoffMs,
    });
    observer = await X509Source.create({ client: observerClient, timeoutMs: 60_000 });
    const o = observer;
    reportSvid('server', o);
    o.on('update', () => reportSvid('server', o));
  }
  let lastToken = '';
  const ctx = {
    x509,
    jwt,
    serverId: config.serverId,
    audience: config.serverId,
    host: config.host,
    onToken: (token: string) => {
      if (token === lastToken) return;
      lastToken = token;
      try {
        const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid?: string };
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp?: number };
        send({ type: 'jwt', at: Date.now(), expiresAt: (claims.exp ?? 0) * 1000, kid: header.kid ?? '' });
      } catch {
        // a token the drivers could not read is reported by the request failing
      }
    },
  };
  const drivers: Driver[] = [echoDriver(ctx, config.ports.echo), httpsDriver(ctx, config.ports.https), jwtDriver(ctx, config.ports.proxy)];
  const maxRequests = Math.ceil(config.durationMs / config.intervalMs) + 10;
  const recorders = drivers.map((d) => new DriverRecorder(d.name, maxRequests));
  send({ type: 'ready', at: Date.now() });

  const memory = (withGc: boolean): void => {
    if (withGc) gc?.();
    const m = process.memoryUsage();
    send({ type: 'memory', at: Date.now(), rss: m.rss, heap: m.heapUsed, gc: withGc });
  };
  const start = Date.now();
  const end = start + config.durationMs;
  send({ type: 'started', at: start });
  let ticks = 0;
  // RSS every second; every tenth sample after a full GC, for the heap in use.
  const sampler = setInterval(() => memory(++ticks % 10 === 0), 1_000);
  await Promise.all(drivers.map((d, i) => runDriver(d, end, config.intervalMs, maxRequests, recorders[i]!)));
  clearInterval(sampler);
  memory(true);

  for (const d of drivers) await d.close();
  await jwt.close();
  await x509.close();
  client.close();
  await observer?.close();
  observerClient?.close();
  let endHandles = resourceCounts();
  const deadline = Date.now() + 5_000;
  while (Object.keys(leaked(baseline, endHandles)).length > 0 && Date.now() < deadline) {
    await sleep(100);
    endHandles = resourceCounts();
  }
  send({
    type: 'done',
    summary: {
      drivers: recorders.map((r) => ({ name: r.name, requests: r.requests, latencies: r.latencies(), failures: r.failures })),
      clientLog,
      observerLog,
      handles: { baseline, end: endHandles, leaked: leaked(baseline, endHandles) },
    },
  });
}

process.once('message', (config: DriverConfig) => {
  run(config).then(
    () => process.disconnect?.(),
    (err: unknown) => {
      send({ type: 'error', message: (err as Error)?.stack ?? String(err) });
      process.disconnect?.();
    },
  );
});
