// The real SPIRE binaries (deploy/spire/install.sh puts them in .spire/bin): where they are, whether
// the suites that need them run, and HCL configs read the way the binaries read them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { envFlag, read, repoRoot, run } from './repo.js';

const spireBinDir = process.env.SPIRE_BIN_DIR ?? join(repoRoot, '.spire', 'bin');
export const spireServerBin = join(spireBinDir, 'spire-server');
export const spireAgentBin = join(spireBinDir, 'spire-agent');
const haveSpire = existsSync(spireServerBin) && existsSync(spireAgentBin);

/** false (run) or the reason to skip: without the binaries, unless SPIFFE_REQUIRE_SPIRE is set (CI). */
export const spireSkip: false | string =
  haveSpire || envFlag('SPIFFE_REQUIRE_SPIRE')
    ? false
    : `SPIRE binaries not found in ${spireBinDir}: run deploy/spire/install.sh ` +
      '(with SPIFFE_REQUIRE_SPIRE=1 their absence fails this suite instead)';

/** The SPIRE version every part of the repository pins (deploy/spire/install.sh). */
export function pinnedSpireVersion(): string {
  const m = /^readonly SPIRE_VERSION=(\S+)$/m.exec(read(join(repoRoot, 'deploy', 'spire', 'install.sh')));
  if (!m || !m[1]) throw new Error('deploy/spire/install.sh pins no SPIRE_VERSION');
  return m[1];
}

export type SpireConfigKind = 'server' | 'agent';

/** Which binary reads this HCL: the one whose top-level block (`server {` / `agent {`) it has. */
export function configKind(text: string): SpireConfigKind | undefined {
  const withoutComments = text.replace(/^\s*#.*$/gm, '');
  const server = /^server\s*\{/m.test(withoutComments);
  const agent = /^agent\s*\{/m.test(withoutComments);
  if (server === agent) return undefined;
  return server ? 'server' : 'agent';
}

/** The ${VAR} names an HCL file uses (SPIRE's -expandEnv replaces them, unset ones with ''). */
export function envReferences(text: string): string[] {
  const withoutComments = text.replace(/^\s*#.*$/gm, '');
  return [
    ...new Set([...withoutComments.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? m[2] ?? '')),
  ].sort();
}

/**
 * The environment deploy/spire/start.sh gives the binaries: lib.sh's defaults, exported, on top of
 * the settings `given` (as a caller of start.sh would set them). Read by sourcing lib.sh in bash,
 * so the test sees exactly what the scripts set.
 */
export async function deploySpireEnv(given: Record<string, string> = {}): Promise<Record<string, string>> {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...given };
  const result = await run('bash', ['-c', 'set -euo pipefail; . deploy/spire/lib.sh; env -0'], { env: clean });
  if (result.code !== 0) throw new Error(`sourcing deploy/spire/lib.sh failed: ${result.stderr}`);
  const env: Record<string, string> = {};
  for (const entry of result.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0 && entry.startsWith('SPIRE_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The value of a `key = "value"` (or unquoted) setting, first occurrence; undefined when absent. */
export function hclSetting(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*=\\s*(?:"([^"]*)"|(\\S+))`, 'm').exec(text.replace(/^\s*#.*$/gm, ''));
  return m ? (m[1] ?? m[2]) : undefined;
}
