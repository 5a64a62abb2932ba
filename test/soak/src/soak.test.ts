/**
 * The CI soak (`pnpm test`): the three seed apps under steady traffic for SOAK_CI_SECONDS
 * (default 45) against the dev agent, with 12 s X509-SVIDs, rotating JWT keys, two agent kills
 * (SIGKILL, then SIGTERM) and a federated trust domain added and removed. The long one is
 * `pnpm soak` (src/soak-cli.ts). The report is printed as diagnostics and written to
 * $TMPDIR/spiffe-soak-ci.json.
 */
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevSoakBackend } from './soak/backend.js';
import { assertCiTargets } from './soak/ci-checks.js';
import { formatReport, runSoak } from './soak/run-soak.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seconds = Number(process.env.SOAK_CI_SECONDS ?? '45');

describe('soak (CI length)', () => {
  it(
    `${seconds} s of traffic through two agent restarts and a federation change: every target met`,
    { timeout: (seconds + 120) * 1000 },
    async (t) => {
      const report = await runSoak({
        backend: new DevSoakBackend({ root, x509SvidTtlSeconds: 12, jwtSvidTtlSeconds: 20, jwtKeyTtlSeconds: 40 }),
        durationMs: seconds * 1000,
        requestIntervalMs: 50,
        onProgress: (line) => t.diagnostic(line),
      });
      for (const line of formatReport(report).split('\n')) t.diagnostic(line);
      writeFileSync(join(tmpdir(), 'spiffe-soak-ci.json'), `${JSON.stringify(report, null, 2)}\n`);

      assertCiTargets(report, { x509SvidTtlSeconds: 12, minRequestShare: 0.5, federationSwitched: true });
    },
  );
});
