/**
 * The CI soak across hosts: the same scenario as soak.test.ts for SOAK_CI_SECONDS (default 45) on
 * test/multihost's topology (network namespaces, real SPIRE): the apps on a-host1, the drivers on
 * a-host2, 20 s X509-SVIDs, the drivers' agent killed (SIGKILL, then SIGTERM) and restarted. The
 * long one is `pnpm soak -- --agent multihost`. The report is printed as diagnostics and written to
 * $TMPDIR/spiffe-soak-multihost-ci.json.
 *
 * Needs root and SPIRE (bash deploy/spire/install.sh); without them it is skipped with the reason,
 * unless SPIFFE_REQUIRE_SPIRE=1 (CI), where that is a failure.
 */
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cannotRun } from '@spiffe-node/test-multihost';
import { assertCiTargets } from './soak/ci-checks.js';
import { MultihostSoakBackend } from './soak/multihost-backend.js';
import { formatReport, runSoak } from './soak/run-soak.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seconds = Number(process.env.SOAK_CI_SECONDS ?? '45');
const reason = cannotRun(root);
const required = !['', '0', 'false'].includes(process.env.SPIFFE_REQUIRE_SPIRE ?? '');
const skip = reason && !required ? `${reason} (SPIFFE_REQUIRE_SPIRE=1 makes this a failure)` : false;

describe('soak across hosts (CI length, network namespaces, SPIRE)', { skip }, () => {
  it(
    `${seconds} s of traffic from a-host2 to a-host1 through two restarts of the drivers' agent: every target met`,
    { timeout: (seconds + 240) * 1000 },
    async (t) => {
      if (reason) throw new Error(reason);
      const report = await runSoak({
        backend: new MultihostSoakBackend({ root, x509SvidTtlSeconds: 20 }),
        durationMs: seconds * 1000,
        requestIntervalMs: 50,
        onProgress: (line) => t.diagnostic(line),
      });
      for (const line of formatReport(report).split('\n')) t.diagnostic(line);
      writeFileSync(join(tmpdir(), 'spiffe-soak-multihost-ci.json'), `${JSON.stringify(report, null, 2)}\n`);
      // Every request crosses hosts and the machine is shared: a lower request floor than on loopback.
      assertCiTargets(report, { x509SvidTtlSeconds: 20, minRequestShare: 0.25, federationSwitched: false });
    },
  );
});
