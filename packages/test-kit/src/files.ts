/**
 * Replacing files as a well-behaved writer does, for tests of the readers that watch them.
 *
 * @module
 */
import { renameSync, writeFileSync } from 'node:fs';

/**
 * Replaces `path` atomically: writes a temporary file next to it (mode `mode`, default 0600),
 * then renames it over `path`, so a reader sees the old content or the new, never a mix.
 *
 * @example
 * ```ts
 * replaceFileAtomic(join(dir, 'bundle.pem'), ca.pem);
 * ```
 */
export function replaceFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.hrtime.bigint()}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}
