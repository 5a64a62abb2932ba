/**
 * What the CI soaks (soak.test.ts on the dev agent, soak-multihost.test.ts across hosts) check of a
 * report: every target of the long soak except RSS flatness (a short run is mostly warm-up), with
 * a coarse bound on the drivers' heap growth instead.
 */
import assert from 'node:assert/strict';
import type { SoakReport } from './metrics.js';

export interface CiChecks {
  /** The X509-SVID TTL of the run (rotations are expected at half of it). */
  x509SvidTtlSeconds: number;
  /** The share of one request per interval per driver each driver must reach. */
  minRequestShare: number;
  /** Whether the run added and removed a federated trust domain (and rotated JWT keys). */
  federationSwitched: boolean;
}

/** Asserts the CI targets on `report`. */
export function assertCiTargets(report: SoakReport, options: CiChecks): void {
  const seconds = report.durationMs / 1000;
  const expected = report.durationMs / report.requestIntervalMs;
  for (const d of report.drivers) {
    assert.ok(d.requests >= expected * options.minRequestShare, `${d.name}: ${d.requests} requests, expected about ${expected}`);
    assert.equal(
      d.unexplained,
      0,
      `${d.name}: failures not explained by an outage without a valid SVID:\n${report.failures
        .filter((f) => !f.explained && f.driver === d.name)
        .slice(0, 10)
        .map((f) => `+${f.offsetMs} ms ${f.error}`)
        .join('\n')}`,
    );
  }
  // Every failure that happened is counted and has its explanation.
  assert.equal(report.failures.length, report.total.failures);
  for (const f of report.failures) assert.ok(f.explained && f.reason !== '', JSON.stringify(f));

  // The outages happened, were seen, and were recovered from without a tight loop.
  assert.equal(report.outages.length, 2, 'two agent restarts');
  const x509 = report.reconnects.driver['FetchX509SVID'];
  assert.ok(x509 && x509.reconnects >= 2, `the drivers' X509 stream reconnected after each restart: ${JSON.stringify(x509)}`);
  for (const [method, s] of Object.entries(report.reconnects.driver)) {
    assert.ok(
      s.delays.every((d) => d >= report.reconnects.floorMs),
      `${method}: every backoff delay at least ${report.reconnects.floorMs} ms: ${s.delays.join(', ')}`,
    );
    assert.ok(
      s.failures <= 6 * report.outages.length,
      `${method}: ${s.failures} failed attempts for ${report.outages.length} outages (no tight loop)`,
    );
    assert.ok(s.loudLines <= report.outages.length, `${method}: one warning per outage, not per retry (${s.loudLines})`);
  }
  for (const [app, lines] of Object.entries(report.reconnects.appLogLines)) {
    const sources = app === 'jwt-proxy/server' ? 2 : 1;
    assert.ok(
      lines <= sources * report.outages.length,
      `${app}: ${lines} Workload API log lines for ${report.outages.length} outages and ${sources} source(s)`,
    );
  }

  // Rotations and federation under traffic.
  assert.ok(
    report.rotations.clientX509 >= Math.floor(seconds / (options.x509SvidTtlSeconds / 2)) - 2,
    `client X509-SVID rotations: ${report.rotations.clientX509}`,
  );
  if (options.federationSwitched) {
    if (seconds >= 40)
      assert.ok(report.rotations.jwtSigningKeys >= 2, `JWT-SVIDs signed by ${report.rotations.jwtSigningKeys} keys: the key set rotated`);
    assert.ok(
      report.federation.added && report.federation.seenByClientAfterMs !== undefined && report.federation.removedSeenAfterMs !== undefined,
      `federation: ${JSON.stringify(report.federation)}`,
    );
    assert.ok(report.federation.seenByServer, 'the servers got the federated bundle too');
  }

  // Memory: RSS flatness is judged on the long soak (pnpm soak), past warm-up; here, a coarse
  // leak guard on the drivers' heap in use after GC over the second half of the run.
  const heap = report.driverHeapSeries;
  const mid = heap.find((x) => x.offsetMs >= report.durationMs / 2) ?? heap[0]!;
  const last = heap[heap.length - 1]!;
  assert.ok(last.heapMiB <= mid.heapMiB * 1.25, `drivers' heap after GC: ${mid.heapMiB} MiB at half-time, ${last.heapMiB} MiB at the end`);

  // Nothing leaked, nothing secret in any log.
  assert.ok(report.driverProcessExit, 'the driver process exited by itself once it had closed everything');
  assert.deepEqual(report.handles.leaked, {}, `open handles left: ${JSON.stringify(report.handles)}`);
  assert.deepEqual(report.secretsInLogs, [], 'no key material or JWT-SVID in any log');
  assert.ok(report.logLinesScanned > 100, `logs were scanned (${report.logLinesScanned} lines)`);
}
