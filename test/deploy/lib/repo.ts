// Where things are in the repository, and the file walks the checks share.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const deployDir = join(repoRoot, 'deploy');

/** Path relative to the repository root, for messages. */
export function rel(path: string): string {
  return relative(repoRoot, path);
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}

const skippedDirs = new Set(['node_modules', 'dist', '.git', '.turbo', 'coverage']);

/** Every file below `dir` (recursively, without node_modules/dist/.git), sorted. */
export function walk(dir: string, keep: (path: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (skippedDirs.has(name)) continue;
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) visit(path);
      else if (st.isFile() && keep(path)) out.push(path);
    }
  };
  if (existsSync(dir)) visit(dir);
  return out;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; a non-zero exit is returned, not thrown. */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, cwd: options.cwd ?? repoRoot, timeout: options.timeoutMs ?? 30_000, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${file} ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export function describeRun(what: string, result: RunResult): string {
  return `${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** True when the environment variable is set to something other than '', '0' or 'false'. */
export function envFlag(name: string): boolean {
  return !['', '0', 'false'].includes(process.env[name] ?? '');
}

/** The absolute path of an executable found on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * A kubectl that runs offline. Google Cloud SDK installs a `kubectl` dispatcher that first asks a
 * cluster for its version (with no kubeconfig: http://127.0.0.1:8080, seconds of waiting, or an
 * answer from whatever listens there); its versioned binaries next to it (`kubectl.1.33`, …) do
 * not. Returns the newest of those when present, else kubectl from PATH, else undefined.
 */
export function kubectlBinary(): string | undefined {
  const found = which('kubectl');
  if (!found) return undefined;
  const dir = dirname(realpathSync(found));
  const versioned = readdirSync(dir)
    .map((name) => /^kubectl\.1\.(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  return versioned[0] ? join(dir, versioned[0][0]) : found;
}
