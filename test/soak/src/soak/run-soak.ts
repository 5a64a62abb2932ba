/**
 * The soak: the three seed apps (mTLS echo, HTTPS over mTLS, client → proxy → server with
 * JWT-SVIDs) as real processes, under a steady stream of requests from drivers that use the
 * library (in a process of their own, driver-process.ts), against an agent handing out X509-SVIDs
 * of a few seconds and rotating its JWT keys, while the agent is killed and restarted twice and a
 * federated trust domain is added and removed. Loopback only; bounded in time and in requests; it
 * stops by itself.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorkload, type Workload } from '@spiffe-node/harness';
import { freePorts } from '@spiffe-node/test-kit';
import { FEDERATED_TRUST_DOMAIN, SERVER_ID, type SoakBackend } from './backend.js';
import type { DriverConfig, DriverMessage, DriverSummaryMessage } from './driver-process.js';
import {
  ExpiryTimeline,
  formatReport,
  machine,
  overlaps,
  percentile,
  reconnectStats,
  type DriverSummary,
  type Interval,
  type MemoryFigure,
  type SoakReport,
} from './metrics.js';
import { findDescendant, rssOf } from './proc.js';
import { findSecrets } from '../secrets.js';

export interface SoakOptions {
  backend: SoakBackend;
  /** How long the request stream runs. */
  durationMs: number;
  /** One request per driver every this many ms. */
  requestIntervalMs?: number;
  /** Progress lines (events as they happen). */
  onProgress?: (line: string) => void;
}

/** The initial backoff of the drivers' Workload API client (the library default). */
const INITIAL_BACKOFF_MS = 1_000;
const here = dirname(fileURLToPath(import.meta.url));

interface App {
  name: string;
  workload: Workload;
  port: number;
  script: string;
  pid?: number;
}

/** One outage as a client saw it: the agent down, then the client still reconnecting. */
interface Outage {
  n: number;
  killedAt: number;
  healthyAt: number;
  /** When each stream of the drivers delivered an update again. */
  clientBackAt: number;
  jwtBackAt: number;
  serverBackAt: number;
}

/** Runs the soak and returns its report. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { backend, durationMs } = options;
  const intervalMs = options.requestIntervalMs ?? 50;
  const progress = options.onProgress ?? (() => {});
  const events: Array<{ at: number; what: string }> = [];
  const event = (what: string): void => {
    events.push({ at: Date.now(), what });
    progress(what);
  };

  const apps: App[] = [];
  const appLines = new Map<string, string[]>();
  const clientSvids = new ExpiryTimeline();
  const serverSvids = new ExpiryTimeline();
  const jwtSvids = new ExpiryTimeline();
  const jwtBundleUpdates: number[] = [];
  const kids = new Set<string>();
  const outages: Outage[] = [];
  const driverMemory: Array<{ at: number; rss: number; heap: number; gc: boolean }> = [];
  const appMemory: Array<{ at: number; rss: Record<string, number | undefined> }> = [];
  let clientHasPartner = false;
  let serverSawPartner = false;
  const federation: SoakReport['federation'] = { added: false };
  let summary: DriverSummaryMessage | undefined;
  let driverExit: { code: number | null; ms: number } | undefined;
  let start = 0;
  let agentLog: string[] = [];
  let child: ReturnType<typeof fork> | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await backend.start();
    event(`agent started (${backend.kind})`);
    // --- the apps, as real processes with the server identity
    const [echoPort, httpsPort, jwtPort, proxyPort] = (await freePorts(4)) as [number, number, number, number];
    const launch = backend.serverLaunch();
    const startApp = (app: string, role: string, port: number, extra: string[] = []): void => {
      const name = `${app}/${role}`;
      const script = join(launch.root, 'apps', app, 'dist', `${role}.js`);
      const lines: string[] = [];
      appLines.set(name, lines);
      const workload = startWorkload({
        name,
        command: process.execPath,
        args: [script, '--host', launch.host, '--port', String(port), ...extra],
        user: launch.user,
        netns: launch.netns,
        env: { ...launch.env, SPIFFE_STARTUP_TIMEOUT: '60' },
        cwd: join(launch.root, 'apps', app),
        onLine: (line) => lines.push(line),
      });
      apps.push({ name, workload, port, script });
    };
    startApp('mtls-echo', 'server', echoPort);
    startApp('https-mtls', 'server', httpsPort);
    startApp('jwt-proxy', 'server', jwtPort);
    startApp('jwt-proxy', 'proxy', proxyPort, ['--upstream', `https://${launch.host}:${jwtPort}`]);
    await Promise.all(apps.map((a) => a.workload.waitForLine(/listening/i, 60_000)));
    for (const a of apps) a.pid = findDescendant([a.script, String(a.port)]);
    event('apps listening');

    // --- the drivers, in their own process
    const config: DriverConfig = {
      clientAddress: backend.clientAddress,
      serverAddress: backend.serverAddress,
      serverId: SERVER_ID,
      partnerTrustDomain: FEDERATED_TRUST_DOMAIN,
      host: launch.host,
      ports: { echo: echoPort, https: httpsPort, proxy: proxyPort },
      durationMs,
      intervalMs,
      initialBackoffMs: INITIAL_BACKOFF_MS,
    };
    // On another host (a network namespace), the driver process is started through `ip netns exec`,
    // which execs node in place: the pid, the IPC channel and the memory figures stay node's.
    const nodeArgs = ['--import', 'tsx', '--expose-gc'];
    const netns = backend.driverNetns;
    const c = fork(join(here, 'driver-process.ts'), [], {
      ...(netns ? { execPath: 'ip', execArgv: ['netns', 'exec', netns, process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = c;
    const exited = new Promise<{ code: number | null }>((resolve) => c.once('exit', (code) => resolve({ code })));
    let failedWith: string | undefined;
    let readyResolve!: () => void;
    const ready = new Promise<void>((resolve) => (readyResolve = resolve));
    let startedResolve!: () => void;
    const started = new Promise<void>((resolve) => (startedResolve = resolve));
    c.on('message', (m: DriverMessage) => {
      switch (m.type) {
        case 'ready':
          readyResolve();
          break;
        case 'started':
          start = m.at;
          startedResolve();
          break;
        case 'svid':
          (m.who === 'client' ? clientSvids : serverSvids).record(m.at, m.expiresAt);
          if (m.who === 'server' && m.partner) serverSawPartner = true;
          if (m.who === 'client' && m.partner !== clientHasPartner) {
            clientHasPartner = m.partner;
            event(m.partner ? 'client sees the partner.org bundle' : 'client no longer trusts partner.org');
          }
          for (const o of outages) {
            if (m.at < o.killedAt) continue;
            if (m.who === 'client' && o.clientBackAt === 0) o.clientBackAt = m.at;
            if (m.who === 'server' && o.serverBackAt === 0) o.serverBackAt = m.at;
          }
          break;
        case 'jwt-bundles':
          jwtBundleUpdates.push(m.at);
          for (const o of outages) if (m.at >= o.killedAt && o.jwtBackAt === 0) o.jwtBackAt = m.at;
          break;
        case 'jwt':
          jwtSvids.record(m.at, m.expiresAt);
          if (m.kid) kids.add(m.kid);
          break;
        case 'memory':
          driverMemory.push({ at: m.at, rss: m.rss, heap: m.heap, gc: m.gc });
          break;
        case 'done':
          summary = m.summary;
          break;
        case 'error':
          failedWith = m.message;
          readyResolve();
          startedResolve();
          break;
      }
    });
    c.send(config);
    await Promise.race([ready, exited]);
    if (failedWith) throw new Error(`the driver process failed: ${failedWith}`);
    event('drivers connected');
    sampler = setInterval(
      () =>
        appMemory.push({
          at: Date.now(),
          rss: Object.fromEntries(apps.map((a) => [a.name, a.pid === undefined ? undefined : rssOf(a.pid)])),
        }),
      1_000,
    );
    await Promise.race([started, exited]);
    event(`traffic started for ${Math.round(durationMs / 1000)} s`);

    // --- the scenario
    const until = async (fraction: number): Promise<void> => {
      const at = start + durationMs * fraction;
      if (at > Date.now()) await sleep(at - Date.now());
    };
    const restart = async (n: number, signal: NodeJS.Signals): Promise<void> => {
      const outage: Outage = { n, killedAt: Date.now(), healthyAt: Infinity, clientBackAt: 0, jwtBackAt: 0, serverBackAt: 0 };
      outages.push(outage);
      event(`agent killed (${signal}), restart ${n}`);
      await backend.killAgent(signal);
      await backend.startAgent();
      outage.healthyAt = Date.now();
      event(`agent healthy again after ${outage.healthyAt - outage.killedAt} ms`);
    };
    await until(0.25);
    await restart(1, 'SIGKILL');
    if (backend.canFederate) {
      await until(0.4);
      await backend.addFederation();
      federation.added = true;
      const addedAt = Date.now();
      event('federation with partner.org added');
      while (!clientHasPartner && Date.now() < addedAt + 15_000) await sleep(20);
      if (clientHasPartner) federation.seenByClientAfterMs = Date.now() - addedAt;
    }
    await until(0.6);
    await restart(2, 'SIGTERM');
    if (backend.canFederate) {
      await until(0.8);
      await backend.removeFederation();
      const removedAt = Date.now();
      event('federation with partner.org removed');
      while (clientHasPartner && Date.now() < removedAt + 15_000) await sleep(20);
      if (!clientHasPartner) federation.removedSeenAfterMs = Date.now() - removedAt;
    }
    federation.seenByServer = serverSawPartner;

    // --- the end: the driver process reports and must exit by itself
    const doneBy = Date.now() + Math.max(0, start + durationMs - Date.now()) + 30_000;
    const giveUp = new AbortController();
    const exit = await Promise.race([
      exited,
      sleep(Math.max(0, doneBy - Date.now()), undefined, { signal: giveUp.signal }).then(
        () => undefined,
        () => undefined,
      ),
    ]);
    giveUp.abort();
    driverExit = { code: exit?.code ?? null, ms: Date.now() - (start + durationMs) };
    if (exit === undefined) event('the driver process did not exit by itself');
    else event('traffic stopped; the driver process exited');
    if (failedWith) throw new Error(`the driver process failed: ${failedWith}`);
    if (!summary) throw new Error('the driver process ended without a summary');
  } finally {
    if (sampler) clearInterval(sampler);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.workload.stop()));
    agentLog = backend.logLines();
    await backend.stop();
  }
  const s = summary;

  // --- failures and their explanation: issued while no agent answered this client (down, or
  // still in reconnect backoff after it came back) and no unexpired SVID existed
  const failures: SoakReport['failures'] = [];
  const explain = (window: Interval, needsJwt: boolean): string => {
    for (const o of outages) {
      const parts: Array<[string, ExpiryTimeline, number]> = [
        ['client X509-SVID', clientSvids, o.clientBackAt || Infinity],
        ['server X509-SVID', serverSvids, o.serverBackAt || Infinity],
      ];
      if (needsJwt) parts.push(['JWT-SVID', jwtSvids, Math.max(o.clientBackAt, o.jwtBackAt) || Infinity]);
      for (const [what, timeline, backAt] of parts) {
        if (timeline.count === 0) continue;
        const down: Interval = { from: o.killedAt, to: Math.min(backAt, o.killedAt + 120_000) };
        if (!overlaps(window, down)) continue;
        const gap = timeline.gaps(down).find((g) => overlaps(g, window));
        if (!gap) continue;
        const phase =
          window.from < o.healthyAt
            ? 'the agent was down'
            : `the agent was back (+${o.healthyAt - start} ms) but this client was still in reconnect backoff (back at +${backAt - start} ms)`;
        return `restart ${o.n}: ${phase}, and the last ${what} had expired at +${gap.from - start} ms`;
      }
    }
    return '';
  };
  for (const d of s.drivers) {
    for (const f of d.failures) {
      const reason = explain({ from: f.startedAt, to: f.endedAt }, /jwt/i.test(d.name));
      failures.push({
        driver: d.name,
        at: new Date(f.startedAt).toISOString(),
        offsetMs: f.startedAt - start,
        error: f.error,
        explained: reason !== '',
        reason,
      });
    }
  }
  failures.sort((a, b) => a.offsetMs - b.offsetMs);
  const summarize = (name: string, requests: number, lat: number[]): DriverSummary => {
    const failed = failures.filter((f) => name === 'all' || f.driver === name);
    let max = 0;
    for (const v of lat) if (v > max) max = v;
    return {
      name,
      requests,
      ok: lat.length,
      failures: failed.length,
      explained: failed.filter((f) => f.explained).length,
      unexplained: failed.filter((f) => !f.explained).length,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      maxMs: max,
    };
  };

  // --- logs: reconnects, lines per fault, secrets
  const appLogLines: Record<string, number> = {};
  for (const [name, lines] of appLines) appLogLines[name] = lines.filter((l) => /^workloadapi: /.test(l)).length;
  const driverStats: SoakReport['reconnects']['driver'] = {};
  for (const [method, st] of Object.entries(reconnectStats(s.clientLog))) {
    driverStats[method] = {
      ...st,
      minDelayMs: st.delays.length ? Math.min(...st.delays) : 0,
      maxDelayMs: st.delays.length ? Math.max(...st.delays) : 0,
    };
  }
  const logs: Array<[string, string[]]> = [
    [`${backend.kind} agent`, agentLog],
    ...[...appLines].map(([n, l]) => [n, l] as [string, string[]]),
    ['drivers: Workload API client', s.clientLog.map((l) => l.message)],
    ['drivers: server observer', s.observerLog.map((l) => l.message)],
  ];
  const secrets = logs.flatMap(([name, lines]) => findSecrets(name, lines));

  // --- memory: the median over a window after warm-up (15-30 % of the run) against the median
  // over the last 15 %, so that a garbage collector's sawtooth does not pass for growth or for
  // flatness; for the drivers also the heap in use after a full GC (sampled every 10 s).
  const median = (values: number[]): number => {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const early = { from: start + durationMs * 0.15, to: start + durationMs * 0.3 };
  const late = { from: start + durationMs * 0.85, to: start + durationMs + 1_000 };
  const within = <T extends { at: number }>(list: T[], w: { from: number; to: number }): T[] =>
    list.filter((x) => x.at >= w.from && x.at <= w.to);
  const gcSamples = driverMemory.filter((m) => m.gc);
  const earlyGc = within(gcSamples, { from: early.from, to: Math.max(early.to, (gcSamples[0]?.at ?? 0) + 1) });
  const driverStartHeap = median((earlyGc.length ? earlyGc : gcSamples.slice(0, 1)).map((m) => m.heap));
  const driverEndHeap = gcSamples[gcSamples.length - 1]?.heap ?? 0;
  const driverStartRss = median(within(driverMemory, early).map((m) => m.rss));
  const driverEndRss = median(within(driverMemory, late).map((m) => m.rss));
  const appRss = (name: string, w: { from: number; to: number }): number =>
    median(
      within(appMemory, w)
        .map((m) => m.rss[name] ?? 0)
        .filter((v) => v > 0),
    );
  const memory: MemoryFigure[] = [
    {
      process: 'drivers',
      startRss: driverStartRss,
      endRss: driverEndRss,
      changePct: driverStartRss ? ((driverEndRss - driverStartRss) / driverStartRss) * 100 : 0,
      startHeap: driverStartHeap,
      endHeap: driverEndHeap,
    },
    ...apps.map((a) => {
      const from = appRss(a.name, early);
      const to = appRss(a.name, late);
      return { process: a.name, startRss: from, endRss: to, changePct: from ? ((to - from) / from) * 100 : 0 };
    }),
  ];
  const heapSeries = gcSamples.map((m) => ({ offsetMs: m.at - start, heapMiB: Math.round((m.heap / 1024 / 1024) * 10) / 10 }));
  const series: SoakReport['memorySeries'] = [];
  const step = Math.max(1, Math.floor(appMemory.length / 12));
  appMemory.forEach((m, i) => {
    if (i % step !== 0 && i !== appMemory.length - 1) return;
    const d = driverMemory.reduce((best, x) => (Math.abs(x.at - m.at) < Math.abs(best.at - m.at) ? x : best), driverMemory[0]!);
    series.push({
      offsetMs: m.at - start,
      rssMiB: Object.fromEntries(
        [['drivers', d.rss], ...Object.entries(m.rss)].map(([k, v]) => [k, Math.round(((Number(v) || 0) / 1024 / 1024) * 10) / 10]),
      ),
    });
  });

  const appErrors: Record<string, string[]> = {};
  for (const [name, lines] of appLines) {
    const notable = lines.filter((l) => !/^(Client says|Request received|GET \/$|Server listening|Proxy listening)/.test(l));
    if (notable.length > 0) appErrors[name] = notable.slice(0, 8);
  }

  const report: SoakReport = {
    machine: machine(),
    backend: backend.describe(),
    startedAt: new Date(start).toISOString(),
    durationMs,
    requestIntervalMs: intervalMs,
    drivers: s.drivers.map((d) => summarize(d.name, d.requests, d.latencies)),
    total: summarize(
      'all',
      s.drivers.reduce((n, d) => n + d.requests, 0),
      s.drivers.flatMap((d) => d.latencies),
    ),
    failures,
    memory,
    memorySeries: series,
    driverHeapSeries: heapSeries,
    handles: s.handles,
    driverProcessExit: driverExit,
    reconnects: { floorMs: INITIAL_BACKOFF_MS / 2, driver: driverStats, appLogLines },
    appNotableLines: appErrors,
    events: events.map((e) => ({ offsetMs: e.at - start, what: e.what })),
    outages: outages.map((o) => ({
      n: o.n,
      downMs: o.healthyAt - o.killedAt,
      clientBackAfterMs: o.clientBackAt ? o.clientBackAt - o.killedAt : undefined,
      jwtBundlesBackAfterMs: o.jwtBackAt ? o.jwtBackAt - o.killedAt : undefined,
      serverBackAfterMs: o.serverBackAt ? o.serverBackAt - o.killedAt : undefined,
    })),
    rotations: {
      clientX509: Math.max(0, clientSvids.count - 1),
      serverX509: Math.max(0, serverSvids.count - 1),
      jwtSigningKeys: kids.size,
      jwtBundleUpdates: jwtBundleUpdates.length,
    },
    federation,
    agentDowntimeMs: outages.map((o) => o.healthyAt - o.killedAt),
    secretsInLogs: secrets.map((x) => `${x.kind} at ${x.where}: ${x.excerpt}`),
    logLinesScanned: logs.reduce((n, [, l]) => n + l.length, 0),
  };
  return report;
}

export { formatReport };
