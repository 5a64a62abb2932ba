// What the SPIRE suites share: where the pinned binaries are, whether the suite runs, and running
// a program to completion.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { freePort } from '@spiffe-node/test-kit';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binDir = process.env.SPIRE_BIN_DIR ?? join(repoRoot, '.spire', 'bin');
export const serverBin = join(binDir, 'spire-server');
export const agentBin = join(binDir, 'spire-agent');
const haveSpire = existsSync(serverBin) && existsSync(agentBin);
const requireSpire = !['', '0', 'false'].includes(process.env.SPIFFE_REQUIRE_SPIRE ?? '');
/** `false` when the suite runs; otherwise the reason it is skipped. */
export const skip: false | string =
  haveSpire || requireSpire
    ? false
    : `SPIRE binaries not found in ${binDir}: run deploy/spire/install.sh ` +
      '(with SPIFFE_REQUIRE_SPIRE=1 their absence fails this suite instead)';

/** Throws when SPIFFE_REQUIRE_SPIRE is set and the binaries are missing. */
export function assertSpireInstalled(): void {
  if (!haveSpire) {
    throw new Error(`SPIFFE_REQUIRE_SPIRE is set but the SPIRE binaries are missing in ${binDir}: run deploy/spire/install.sh`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws for a non-zero exit (the caller asserts on it). */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 45_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

export function describeRun(what: string, result: RunResult): string {
  return `${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}
