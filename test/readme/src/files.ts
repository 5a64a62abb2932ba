/** The Markdown files whose shell blocks the test reads: every tracked README and doc page. */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's folder (this file is test/readme/src/files.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The tracked Markdown files, repository-relative: READMEs, SECURITY.md, RELEASING.md. Not the
 * generated ones (changelogs, the API reports of api-extractor) nor pending changesets.
 */
export function markdownFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && !/(^|\/)CHANGELOG\.md$/.test(f) && !/\.api\.md$/.test(f) && !f.startsWith('.changeset/'))
    .sort();
}

/** Whether this process may make a private /tmp and run workloads as other users. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Whether `user` exists. */
function userExists(user: string): boolean {
  return spawnSync('id', ['-u', user], { stdio: 'ignore' }).status === 0;
}

/** Creates a system user without a home or a login shell, unless it exists (root only). */
export function ensureUser(user: string): void {
  if (!userExists(user))
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'inherit' });
}

/** Whether `user` can read `file` (and every folder above it). */
export function canRead(user: string, file: string): boolean {
  return spawnSync('runuser', ['-u', user, '--', 'test', '-r', file], { stdio: 'ignore' }).status === 0;
}
