/**
 * The CI soak (`pnpm test`): the three seed apps under steady traffic for SOAK_CI_SECONDS
 * (default 45) against the dev agent, with 12 s X509-SVIDs, rotating JWT keys, two agent kills
 * (SIGKILL, then SIGTERM) and a federated trust domain added and removed. The long one is
 * `pnpm soak` (src/soak-cli.ts). The report is printed as diagnostics and written to
 * $TMPDIR/spiffe-soak-ci.json.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevSoakBackend } from './soak/backend.js';
import { formatReport, runSoak } from './soak/run-soak.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seconds = Number(process.env.SOAK_CI_SECONDS ?? '45');

describe('soak (CI length)', () => {
  it(`${seconds} s of traffic through two agent restarts and a federation change: every target met`, { timeout: (seconds + 120) * 1000 }, async (t) => {
    const report = await runSoak({
      backend: new DevSoakBackend({ root, x509SvidTtlSeconds: 12, jwtSvidTtlSeconds: 20, jwtKeyTtlSeconds: 40 }),
      durationMs: seconds * 1000,
      requestIntervalMs: 50,
      onProgress: (line) => t.diagnostic(line),
    });
    for (const line of formatReport(report).split('\n')) t.diagnostic(line);
    writeFileSync(join(tmpdir(), 'spiffe-soak-ci.json'), `${JSON.stringify(report, null, 2)}\n`);

    const expected = (seconds * 1000) / 50;
    for (const d of report.drivers) {
      assert.ok(d.requests >= expected * 0.5, `${d.name}: ${d.requests} requests, expected about ${expected}`);
      assert.equal(d.unexplained, 0, `${d.name}: failures not explained by an outage without a valid SVID:\n${report.failures.filter((f) => !f.explained && f.driver === d.name).slice(0, 10).map((f) => `+${f.offsetMs} ms ${f.error}`).join('\n')}`);
    }
    // Every failure that happened is counted and has its explanation.
    assert.equal(report.failures.length, report.total.failures);
    for (const f of report.failures) assert.ok(f.explained && f.reason !== '', JSON.stringify(f));

    // The outages happened, were seen, and were recovered from without a tight loop.
    assert.equal(report.outages.length, 2, 'two agent restarts');
    const x509 = report.reconnects.driver['FetchX509SVID'];
    assert.ok(x509 && x509.reconnects >= 2, `the drivers' X509 stream reconnected after each restart: ${JSON.stringify(x509)}`);
    for (const [method, s] of Object.entries(report.reconnects.driver)) {
      assert.ok(s.delays.every((d) => d >= report.reconnects.floorMs), `${method}: every backoff delay at least ${report.reconnects.floorMs} ms: ${s.delays.join(', ')}`);
      assert.ok(s.failures <= 6 * report.outages.length, `${method}: ${s.failures} failed attempts for ${report.outages.length} outages (no tight loop)`);
      assert.ok(s.loudLines <= report.outages.length, `${method}: one warning per outage, not per retry (${s.loudLines})`);
    }
    for (const [app, lines] of Object.entries(report.reconnects.appLogLines)) {
      const sources = app === 'jwt-proxy/server' ? 2 : 1;
      assert.ok(lines <= sources * report.outages.length, `${app}: ${lines} Workload API log lines for ${report.outages.length} outages and ${sources} source(s)`);
    }

    // Rotations and federation under traffic.
    assert.ok(report.rotations.clientX509 >= Math.floor(seconds / 6) - 2, `client X509-SVID rotations: ${report.rotations.clientX509}`);
    if (seconds >= 40) assert.ok(report.rotations.jwtSigningKeys >= 2, `JWT-SVIDs signed by ${report.rotations.jwtSigningKeys} keys: the key set rotated`);
    assert.ok(report.federation.added && report.federation.seenByClientAfterMs !== undefined && report.federation.removedSeenAfterMs !== undefined, `federation: ${JSON.stringify(report.federation)}`);
    assert.ok(report.federation.seenByServer, 'the servers got the federated bundle too');

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
  });
});
