/**
 * The workload users of the seeds (`server-workload`, `client-workload`), and making the built
 * repository readable to them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVER_USER = 'server-workload';
export const CLIENT_USER = 'client-workload';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function userExists(name: string): boolean {
  return spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0;
}

/** Creates a system user without a home directory or login shell, unless it exists. Root only. */
export function ensureUser(name: string): void {
  if (userExists(name)) return;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'inherit' });
}

/** Whether `user` can read `file` (and traverse every directory above it). */
export function canRead(user: string, file: string): boolean {
  return spawnSync('runuser', ['-u', user, '--', 'test', '-r', file], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns a root from which `users` can run the built apps: the repository itself when they can
 * read it, otherwise a world-readable copy of what the apps need at run time (package manifests,
 * `dist/`, the proto, and `node_modules` with pnpm's relative links intact) in a temporary folder.
 * A checkout under /root (0700) is the usual reason for the copy. `extraPackages` (folders relative
 * to the repository, e.g. `test/multihost`) are staged the same way, for workloads of their own.
 */
export function runnableRootFor(repoRoot: string, users: string[], extraPackages: string[] = []): { root: string; cleanup: () => void } {
  const probe = join(repoRoot, 'packages', 'spiffe', 'package.json');
  if (users.every((u) => canRead(u, probe))) return { root: repoRoot, cleanup: () => {} };

  const stage = mkdtempSync(join(tmpdir(), 'spiffe-node-stage-'));
  const copy = (rel: string): void => {
    const from = join(repoRoot, rel);
    if (existsSync(from)) cpSync(from, join(stage, rel), { recursive: true, verbatimSymlinks: true });
  };
  copy('package.json');
  copy('node_modules');
  for (const group of ['packages', 'apps']) {
    const dir = join(repoRoot, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      mkdirSync(join(stage, group, name), { recursive: true });
      for (const part of ['package.json', 'dist', 'bin', 'proto', 'node_modules', 'register.sh']) copy(join(group, name, part));
    }
  }
  for (const dir of extraPackages) {
    for (const part of ['package.json', 'dist', 'node_modules']) copy(join(dir, part));
  }
  execFileSync('chmod', ['-R', 'a+rX', stage]);
  return { root: stage, cleanup: () => rmSync(stage, { recursive: true, force: true }) };
}
