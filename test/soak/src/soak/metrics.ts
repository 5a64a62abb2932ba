/**
 * What the soak measures and how it reports it: request outcomes with latency, failures with
 * their explanation, memory samples, Workload API reconnects and backoff delays, and the final
 * report as JSON and as a Markdown table.
 */
import { cpus } from 'node:os';

/** The p-th percentile (0..100) of `values` (nearest rank), or 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** A time interval, in ms since the epoch. */
export interface Interval {
  from: number;
  to: number;
}

/** Whether two intervals overlap. */
export function overlaps(a: Interval, b: Interval): boolean {
  return a.from <= b.to && b.from <= a.to;
}

/** The times at which an SVID was received and when it expired. */
export class ExpiryTimeline {
  readonly #points: Array<{ at: number; expiresAt: number }> = [];

  record(at: number, expiresAt: number): void {
    this.#points.push({ at, expiresAt });
  }

  get count(): number {
    return this.#points.length;
  }

  /** The latest expiry known at `t` (of SVIDs received before `t`). */
  expiryAt(t: number): number {
    let latest = 0;
    for (const p of this.#points) if (p.at <= t && p.expiresAt > latest) latest = p.expiresAt;
    return latest;
  }

  /** The intervals within `window` during which no SVID known at the time was unexpired. */
  gaps(window: Interval): Interval[] {
    const out: Interval[] = [];
    // Candidate instants: the window's start, and each expiry within it.
    const instants = [window.from, ...this.#points.map((p) => p.expiresAt).filter((e) => e >= window.from && e <= window.to)].sort(
      (a, b) => a - b,
    );
    for (const t of instants) {
      if (this.expiryAt(t) > t) continue;
      const next =
        this.#points
          .map((p) => p.at)
          .filter((a) => a > t)
          .sort((a, b) => a - b)[0] ?? Infinity;
      out.push({ from: t, to: Math.min(window.to, next) });
    }
    return out;
  }
}

/** A timestamped log line. */
export interface TimedLine {
  at: number;
  level: string;
  message: string;
}

/** Reconnect figures of one Workload API stream, read from the client's log. */
export interface ReconnectStats {
  /** Streams that failed or ended (each followed by a backoff delay). */
  failures: number;
  /** Times the stream delivered updates again after a failure. */
  reconnects: number;
  /** The backoff delays chosen, in ms. */
  delays: number[];
  /** Warning/error lines logged about it. */
  loudLines: number;
}

/** Reads the reconnect figures per method from a WorkloadApiClient's log. */
export function reconnectStats(lines: readonly TimedLine[]): Record<string, ReconnectStats> {
  const out: Record<string, ReconnectStats> = {};
  const of = (method: string): ReconnectStats => (out[method] ??= { failures: 0, reconnects: 0, delays: [], loudLines: 0 });
  for (const l of lines) {
    const retry = /^workloadapi: (\w+): retrying in (\d+) ms$/.exec(l.message);
    if (retry) {
      of(retry[1]!).failures++;
      of(retry[1]!).delays.push(Number(retry[2]));
      continue;
    }
    const again = /^workloadapi: (\w+): receiving updates again/.exec(l.message);
    if (again) {
      of(again[1]!).reconnects++;
      continue;
    }
    const loud = /^workloadapi: (Fetch\w+)/.exec(l.message);
    if (loud && (l.level === 'warn' || l.level === 'error')) of(loud[1]!).loudLines++;
  }
  return out;
}

/** The machine the figures come from. */
export function machine(): { nproc: number; cpu: string; node: string; platform: string } {
  const list = cpus();
  return { nproc: list.length, cpu: list[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` };
}

export interface DriverSummary {
  name: string;
  requests: number;
  ok: number;
  failures: number;
  explained: number;
  unexplained: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface MemoryFigure {
  process: string;
  /** RSS after warm-up, bytes. */
  startRss: number;
  endRss: number;
  changePct: number;
  /** Only for the driver process: V8 heap in use after a full GC. */
  startHeap?: number;
  endHeap?: number;
}

export interface SoakReport {
  machine: ReturnType<typeof machine>;
  backend: Record<string, string | number>;
  startedAt: string;
  durationMs: number;
  requestIntervalMs: number;
  drivers: DriverSummary[];
  total: DriverSummary;
  failures: Array<{ driver: string; at: string; offsetMs: number; error: string; explained: boolean; reason: string }>;
  memory: MemoryFigure[];
  /** RSS of every process (MiB) at about a dozen points of the run, to see a trend. */
  memorySeries: Array<{ offsetMs: number; rssMiB: Record<string, number> }>;
  /** The drivers' heap in use after a full GC, every 10 s (MiB). */
  driverHeapSeries: Array<{ offsetMs: number; heapMiB: number }>;
  handles: { baseline: Record<string, number>; end: Record<string, number>; leaked: Record<string, number> };
  /** When the driver process exited, ms after the traffic's end (undefined: it did not, and was killed). */
  driverProcessExit: { code: number | null; ms: number } | undefined;
  /** Lines of the apps other than their per-request lines (errors, warnings), the first few of each. */
  appNotableLines: Record<string, string[]>;
  /** Each agent restart: how long it was down, and when each stream of the drivers was back. */
  outages: Array<{
    n: number;
    downMs: number;
    clientBackAfterMs?: number | undefined;
    jwtBundlesBackAfterMs?: number | undefined;
    serverBackAfterMs?: number | undefined;
  }>;
  reconnects: {
    floorMs: number;
    driver: Record<string, ReconnectStats & { minDelayMs: number; maxDelayMs: number }>;
    /** Warning/error lines each app logged about the Workload API, and how many faults there were. */
    appLogLines: Record<string, number>;
  };
  events: Array<{ offsetMs: number; what: string }>;
  rotations: { clientX509: number; serverX509: number; jwtSigningKeys: number; jwtBundleUpdates: number };
  federation: { added: boolean; seenByClientAfterMs?: number; removedSeenAfterMs?: number; seenByServer?: boolean };
  agentDowntimeMs: number[];
  secretsInLogs: string[];
  logLinesScanned: number;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The report as Markdown tables (for the terminal and the README). */
export function formatReport(r: SoakReport): string {
  const lines: string[] = [];
  lines.push(
    `Soak against ${r.backend['agent']}, ${Math.round(r.durationMs / 1000)} s, one request per ${r.requestIntervalMs} ms per driver`,
  );
  lines.push(`Machine: ${r.machine.nproc} CPUs (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.platform}; started ${r.startedAt}`);
  lines.push('');
  lines.push('| driver | requests | failures | explained | p50 | p99 | max |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const d of [...r.drivers, r.total]) {
    lines.push(
      `| ${d.name} | ${d.requests} | ${d.failures} | ${d.explained} | ${d.p50Ms.toFixed(1)} ms | ${d.p99Ms.toFixed(1)} ms | ${d.maxMs.toFixed(1)} ms |`,
    );
  }
  lines.push('');
  lines.push('| process (median RSS over 15–30 % of the run, then over the last 15 %) | RSS after warm-up | RSS at end | change |');
  lines.push('| --- | ---: | ---: | ---: |');
  for (const m of r.memory) {
    const heap = m.startHeap !== undefined ? ` (heap in use after GC ${mb(m.startHeap)} → ${mb(m.endHeap ?? 0)})` : '';
    lines.push(`| ${m.process}${heap} | ${mb(m.startRss)} | ${mb(m.endRss)} | ${m.changePct >= 0 ? '+' : ''}${m.changePct.toFixed(1)} % |`);
  }
  if (r.driverHeapSeries.length >= 2) {
    const mid = r.driverHeapSeries.find((x) => x.offsetMs >= r.durationMs / 2) ?? r.driverHeapSeries[0]!;
    const end = r.driverHeapSeries[r.driverHeapSeries.length - 1]!;
    lines.push('');
    lines.push(
      `Drivers' heap in use after GC: ${r.driverHeapSeries[0]!.heapMiB} MiB at +${Math.round(r.driverHeapSeries[0]!.offsetMs / 1000)} s, ${mid.heapMiB} MiB at half-time, ${end.heapMiB} MiB at the end (${(((end.heapMiB - mid.heapMiB) / mid.heapMiB) * 100).toFixed(1)} % over the second half)`,
    );
  }
  lines.push('');
  lines.push(
    `| Workload API stream (drivers) | failures | reconnects | backoff delays (floor ${r.reconnects.floorMs} ms) | warning lines |`,
  );
  lines.push('| --- | ---: | ---: | --- | ---: |');
  for (const [method, s] of Object.entries(r.reconnects.driver)) {
    lines.push(
      `| ${method} | ${s.failures} | ${s.reconnects} | ${s.delays.length ? `${s.minDelayMs}–${s.maxDelayMs} ms` : '–'} | ${s.loudLines} |`,
    );
  }
  lines.push('');
  const leaked = Object.entries(r.handles.leaked);
  lines.push(
    `Open handles at the end: ${leaked.length === 0 ? 'none leaked' : leaked.map(([k, v]) => `${k} ×${v}`).join(', ')} (baseline ${JSON.stringify(r.handles.baseline)})`,
  );
  lines.push(
    `Rotations seen: client X509-SVID ${r.rotations.clientX509}, server X509-SVID ${r.rotations.serverX509}, JWT signing keys ${r.rotations.jwtSigningKeys}, JWT bundle updates ${r.rotations.jwtBundleUpdates}`,
  );
  lines.push(
    `Agent restarts: ${r.outages.length}: ${r.outages.map((o) => `down ${o.downMs} ms, drivers' X509 stream back after ${o.clientBackAfterMs ?? '–'} ms, JWT bundles after ${o.jwtBundlesBackAfterMs ?? '–'} ms, servers' SVID after ${o.serverBackAfterMs ?? '–'} ms`).join('; ') || '–'}`,
  );
  lines.push(
    `Driver process: ${r.driverProcessExit ? `exited by itself (code ${r.driverProcessExit.code}) ${r.driverProcessExit.ms} ms after the traffic ended` : 'did NOT exit by itself'}`,
  );
  if (r.federation.added) {
    lines.push(
      `Federation: partner.org bundle seen by the client ${r.federation.seenByClientAfterMs ?? '–'} ms after it was added, gone ${r.federation.removedSeenAfterMs ?? '–'} ms after removal${r.federation.seenByServer ? ' (the servers got it too)' : ''}`,
    );
  }
  lines.push(
    `App log lines about the Workload API: ${Object.entries(r.reconnects.appLogLines)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(`Logs scanned for key material and JWTs: ${r.logLinesScanned} lines, ${r.secretsInLogs.length} findings`);
  if (r.failures.length > 0) {
    lines.push('');
    lines.push('Failures:');
    for (const f of r.failures.slice(0, 20))
      lines.push(`- +${f.offsetMs} ms ${f.driver}: ${f.error} — ${f.explained ? `explained: ${f.reason}` : 'UNEXPLAINED'}`);
  }
  return lines.join('\n');
}
