/**
 * What the release checks share: the repository's folder, running a command to completion, the
 * packed library, and the Node.js binaries to run the consumer checks on.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's folder (this file is test/release/src/tools.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The library's folder. */
const LIBRARY_DIR = join(REPO_ROOT, 'packages', 'spiffe');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, for failure messages. */
  output: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its exit code and output. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env })) {
      if (v !== undefined) env[k] = v;
    }
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    const done = (code: number | null): void => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `$ ${command} ${args.join(' ')}\n${stdout}${stderr}` });
    };
    child.on('error', (err) => {
      stderr += `spawn failed: ${err.message}\n`;
      done(-1);
    });
    child.on('close', (code) => done(code));
  });
}

/**
 * Packs @spiffe-node/spiffe as it would be published (`pnpm pack`: `files`, and `workspace:`
 * ranges rewritten) into a new temporary folder, and returns the tarball's path. Needs the built
 * library (`pnpm build`).
 */
export async function packLibrary(): Promise<string> {
  if (!existsSync(join(LIBRARY_DIR, 'dist', 'index.js'))) {
    throw new Error(`${join(LIBRARY_DIR, 'dist')} is missing: run \`pnpm build\` at the repository root first`);
  }
  const dest = mkdtempSync(join(tmpdir(), 'spiffe-node-pack-'));
  const r = await run('pnpm', ['pack', '--pack-destination', dest], { cwd: LIBRARY_DIR });
  const tarballs = readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  if (r.code !== 0 || tarballs.length !== 1) throw new Error(`pnpm pack failed (exit ${r.code}):\n${r.output}`);
  return join(dest, tarballs[0]!);
}

/** The library's package.json subpaths that have typings (`.`, `./tls`, ...). */
export function typedSubpaths(): string[] {
  const pkg = JSON.parse(readFileSync(join(LIBRARY_DIR, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  return Object.entries(pkg.exports)
    .filter(([, target]) => typeof target === 'object' && target !== null && 'types' in target)
    .map(([subpath]) => subpath);
}

/** The specifier that imports `subpath` of the library: `@spiffe-node/spiffe/tls`. */
export function specifier(subpath: string): string {
  return subpath === '.' ? '@spiffe-node/spiffe' : `@spiffe-node/spiffe/${subpath.slice(2)}`;
}

/**
 * The Node.js binaries to run consumers with: the one running this test, and every other line
 * scripts/node-lines.sh installed (starting a process per line is cheap).
 */
export function nodeBinaries(): Array<{ version: string; node: string }> {
  const found = [{ version: process.versions.node, node: process.execPath }];
  const out = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'node-lines.sh'), '--print'], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const [version, bin] = line.trim().split(' ');
    if (version && bin && version !== process.versions.node) found.push({ version, node: join(bin, 'node') });
  }
  return found;
}
