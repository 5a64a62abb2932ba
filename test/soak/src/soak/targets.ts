/**
 * The targets of the soak, checked on its report (by the CI test and by `pnpm soak`).
 */
import type { SoakReport } from './metrics.js';

export interface TargetOptions {
  /** Allowed RSS growth of each process between warm-up and the end, in percent. */
  maxRssGrowthPct?: number;
  /** Allowed growth of the drivers' heap in use after a full GC over the second half of the run, in percent. */
  maxHeapGrowthPct?: number;
}

/** Every target the report misses, as sentences (empty when all are met). */
export function checkTargets(r: SoakReport, options: TargetOptions = {}): string[] {
  const missed: string[] = [];
  const maxRss = options.maxRssGrowthPct ?? 10;
  const maxHeap = options.maxHeapGrowthPct ?? 10;
  for (const d of r.drivers) {
    if (d.requests === 0) missed.push(`${d.name}: no request was made`);
    if (d.unexplained > 0) missed.push(`${d.name}: ${d.unexplained} failure(s) not explained by an agent outage without a valid SVID`);
  }
  for (const m of r.memory) {
    if (m.changePct > maxRss) missed.push(`${m.process}: RSS grew ${m.changePct.toFixed(1)} % (target ${maxRss} %)`);
  }
  // Caches fill during the first minutes (bounded by design); a leak keeps growing: compare the
  // heap after GC at half-time with the end.
  const series = r.driverHeapSeries;
  if (series.length >= 2) {
    const mid = series.find((x) => x.offsetMs >= r.durationMs / 2) ?? series[0]!;
    const end = series[series.length - 1]!;
    const pct = ((end.heapMiB - mid.heapMiB) / mid.heapMiB) * 100;
    if (pct > maxHeap)
      missed.push(`drivers: heap in use after GC grew ${pct.toFixed(1)} % over the second half of the run (target ${maxHeap} %)`);
  }
  if (!r.driverProcessExit) missed.push('the driver process did not exit by itself after closing everything');
  if (Object.keys(r.handles.leaked).length > 0) missed.push(`open handles leaked: ${JSON.stringify(r.handles.leaked)}`);
  for (const [method, s] of Object.entries(r.reconnects.driver)) {
    if (s.delays.some((d) => d < r.reconnects.floorMs))
      missed.push(`${method}: a backoff delay below the floor (${s.minDelayMs} ms < ${r.reconnects.floorMs} ms)`);
  }
  if (r.agentDowntimeMs.length < 2) missed.push(`the agent was restarted ${r.agentDowntimeMs.length} times, not 2`);
  if (r.federation.added && (r.federation.seenByClientAfterMs === undefined || r.federation.removedSeenAfterMs === undefined)) {
    missed.push('the federated trust domain was not seen both added and removed by the client');
  }
  if (r.secretsInLogs.length > 0) missed.push(`key material or tokens in logs: ${r.secretsInLogs.slice(0, 3).join('; ')}`);
  return missed;
}
