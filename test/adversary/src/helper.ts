/**
 * The CLI's helper daemon (`spiffe helper`, packages/cli) as a defending target: it takes its
 * SVID from a Workload API endpoint and writes it into `cert_dir`. Its attackers are whoever can
 * plant files in `cert_dir` before it runs, a hostile umask, and a hostile Workload API.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Fixtures } from './fixtures.js';
import { AppProcess } from './processes.js';
import { FixtureWorkloadApi, type ServedIdentity } from './workload-api.js';

const require = createRequire(import.meta.url);

export const HELPER_TARGET = 'spiffe helper (packages/cli)';

/** A helper run's folder: `certs/` (its cert_dir) and room for the attacker's files beside it. */
export class HelperRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'spiffe-adversary-helper-'));
  readonly certDir = join(this.dir, 'certs');
  readonly attackerDir = join(this.dir, 'attacker');

  constructor() {
    mkdirSync(this.certDir);
    mkdirSync(this.attackerDir, { mode: 0o777 });
  }

  /**
   * Runs `spiffe helper` once (`daemon_mode = false`) against a Workload API serving `identity`,
   * under `umask`. Resolves with its exit code and output.
   */
  async run(identity: ServedIdentity, umask = 0o022): Promise<{ code: number | null; output: string }> {
    const api = await FixtureWorkloadApi.start(identity);
    try {
      const config = join(this.dir, 'helper.conf');
      writeFileSync(
        config,
        [
          `agent_address = "${api.socketPath}"`,
          `cert_dir = "${this.certDir}"`,
          'svid_file_name = "svid.pem"',
          'svid_key_file_name = "svid_key.pem"',
          'svid_bundle_file_name = "svid_bundle.pem"',
          'daemon_mode = false',
          '',
        ].join('\n'),
      );
      const bin = join(dirname(require.resolve('@spiffe-node/cli/package.json')), 'bin', 'spiffe.js');
      // The umask is the process's own; a shell sets it for the helper.
      const app = new AppProcess(
        '/bin/sh',
        ['-c', `umask ${umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, process.execPath, bin, 'helper', '-config', config],
        {},
        { script: false },
      );
      const code = await app.exitCode();
      return { code, output: app.lines.join('\n') };
    } finally {
      api.stop();
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The identity an honest agent serves the helper. */
export function honestIdentity(fx: Fixtures): ServedIdentity {
  return { spiffeId: 'spiffe://example.org/client', svid: fx.pair('client'), bundle: fx.root('example'), federated: {} };
}
