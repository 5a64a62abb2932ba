/**
 * Writing a file so that no reader ever sees it half-written: the data goes to a temporary file
 * in the same directory, created with its final mode, flushed to disk, then renamed over the
 * target (an atomic replacement on POSIX file systems).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { close, fsync, open, rename, unlink, write, fchmod } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);
const fchmodAsync = promisify(fchmod);
const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

/**
 * Flushes a directory entry change (a rename) to disk. Best effort: some file systems refuse to
 * open directories for syncing.
 *
 * @example
 * ```ts
 * await syncDirectory('/run/svids');
 * ```
 */
export async function syncDirectory(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await openAsync(dir, 'r');
    await fsyncAsync(fd);
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) await closeAsync(fd).catch(() => {});
  }
}

/**
 * Writes `data` to `path` atomically with file mode `mode` (exactly, whatever the umask):
 * a temporary file `.<name>.tmp-<random>` in the same directory, then a rename.
 *
 * @throws the file system error (the temporary file is removed).
 * @example
 * ```ts
 * await writeFileAtomic('/run/svids/svid.0.key', keyPem, 0o600);
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  options: { sync?: boolean } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // 'wx': never follow or reuse an existing file; the mode applies from creation on.
  const fd = await openAsync(tmp, 'wx', mode);
  try {
    try {
      await fchmodAsync(fd, mode);
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await writeAsync(fd, bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
      if (options.sync !== false) await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
    await renameAsync(tmp, path);
  } catch (err) {
    await unlinkAsync(tmp).catch(() => {});
    throw err;
  }
  if (options.sync !== false) await syncDirectory(dir);
}
