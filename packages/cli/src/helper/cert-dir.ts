/**
 * Keeping a set of files in a directory current so that, at every instant, the files on disk
 * belong together (a certificate never sits next to the key of another one).
 *
 * Layout (the one Kubernetes uses for secret and config map volumes):
 *
 * ```text
 * cert_dir/
 *   svid.pem        -> ..data/svid.pem        (one symlink per file, made once)
 *   svid_key.pem    -> ..data/svid_key.pem
 *   ..data          -> ..2026_01_02_03_04_05.123456789.1a2b3c   (swapped by one rename)
 *   ..2026_01_02_03_04_05.123456789.1a2b3c/   (a generation: every file, with its mode)
 * ```
 *
 * Each update writes a complete new generation (files created with their final mode and
 * flushed), then renames a new `..data` link over the old one: one atomic step switches every
 * file at once. Old generations are removed afterwards. Regular files left by an earlier run
 * (or another tool) are first moved into a generation unchanged, so that replacing them by
 * symlinks never changes what any name reads.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { close, fchmod, fsync, open, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syncDirectory } from '../files/atomic.js';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);
const fchmodAsync = promisify(fchmod);

/**
 * The link every file name points through (`svid.pem -> ..data/svid.pem`).
 *
 * @example
 * ```ts
 * readlinkSync(join(certDir, DATA_LINK)); // '..2026_01_02_03_04_05.123456789.1a2b3c'
 * ```
 */
export const DATA_LINK = '..data';
const GENERATION = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}\.[0-9a-f]{6}$/;

/**
 * One file of the set: its name inside the directory, contents and mode.
 *
 * @example
 * ```ts
 * const file: CertDirFile = { name: 'svid_key.pem', data: keyPem, mode: 0o600 };
 * ```
 */
export interface CertDirFile {
  name: string;
  data: string | Uint8Array;
  mode: number;
}

function generationName(now = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  const nanos = `${p(now.getUTCMilliseconds(), 3)}${String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0')}`;
  return `..${stamp}.${nanos}.${randomBytes(3).toString('hex')}`;
}

async function writeNew(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = await openAsync(path, 'wx', mode);
  try {
    await fchmodAsync(fd, mode);
    let offset = 0;
    while (offset < bytes.length) offset += (await writeAsync(fd, bytes, offset, bytes.length - offset)).bytesWritten;
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Replaces (or creates) `path` with a symlink to `target`, atomically. */
async function placeSymlink(path: string, target: string): Promise<void> {
  const tmp = `${path}.link-${randomBytes(4).toString('hex')}`;
  await symlink(target, tmp);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Writes sets of files into one directory so that every name switches to its new contents at
 * the same instant (see the module description). Calls are serialised.
 *
 * @example
 * ```ts
 * const dir = new CertDir('/run/certs');
 * await dir.write([
 *   { name: 'svid.pem', data: chainPem, mode: 0o644 },
 *   { name: 'svid_key.pem', data: keyPem, mode: 0o600 },
 *   { name: 'svid_bundle.pem', data: bundlePem, mode: 0o644 },
 * ]);
 * ```
 */
export class CertDir {
  /** The directory. */
  readonly path: string;
  #queue: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Makes `files` the directory's current set (one generation holding all of them).
   *
   * @throws the file system error; the previous generation stays in place.
   * @example
   * ```ts
   * await dir.write([{ name: 'jwt.token', data: token, mode: 0o600 }]);
   * ```
   */
  write(files: readonly CertDirFile[]): Promise<void> {
    const run = this.#queue.then(() => this.#write(files));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(files: readonly CertDirFile[]): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o755 });
    const names = files.map((f) => f.name);
    await this.#adoptRegularFiles(names);
    const generation = await this.#writeGeneration(files);
    await placeSymlink(join(this.path, DATA_LINK), generation);
    await syncDirectory(this.path);
    for (const name of names) {
      const path = join(this.path, name);
      const target = join(DATA_LINK, name);
      const st = await lstatOrUndefined(path);
      if (st?.isSymbolicLink() && (await readlink(path)) === target) continue;
      if (st?.isDirectory()) throw new Error(`${path} is a directory; it cannot be replaced by the file of that name`);
      await placeSymlink(path, target);
    }
    await syncDirectory(this.path);
    await this.#removeOldGenerations(generation);
  }

  async #writeGeneration(files: readonly CertDirFile[], contentsOf?: Map<string, { data: Buffer; mode: number }>): Promise<string> {
    const name = generationName();
    const dir = join(this.path, name);
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    try {
      for (const file of files) {
        const given = contentsOf?.get(file.name);
        await writeNew(join(dir, file.name), given?.data ?? file.data, given?.mode ?? file.mode);
      }
      await syncDirectory(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return name;
  }

  /**
   * Regular files of our names (from an earlier run of another tool) are moved into a
   * generation unchanged and replaced by symlinks to it, so that no name ever reads contents
   * that differ from what it read before, until the real switch.
   */
  async #adoptRegularFiles(names: readonly string[]): Promise<void> {
    // Only before the first generation: later, every name of the set already reads through ..data.
    if ((await lstatOrUndefined(join(this.path, DATA_LINK))) !== undefined) return;
    const regular = new Map<string, { data: Buffer; mode: number }>();
    for (const name of names) {
      const path = join(this.path, name);
      const st = await lstatOrUndefined(path);
      if (st?.isFile()) regular.set(name, { data: await readFile(path), mode: Number(st.mode) & 0o777 });
    }
    if (regular.size === 0) return;
    const files = [...regular.keys()].map((name) => ({ name, data: '', mode: 0o600 }));
    const generation = await this.#writeGeneration(files, regular);
    await placeSymlink(join(this.path, DATA_LINK), generation);
    for (const name of regular.keys()) await placeSymlink(join(this.path, name), join(DATA_LINK, name));
    await syncDirectory(this.path);
  }

  async #removeOldGenerations(current: string): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.path);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry === current || !GENERATION.test(entry)) continue;
      const st = await stat(join(this.path, entry)).catch(() => undefined);
      if (st?.isDirectory()) await rm(join(this.path, entry), { recursive: true, force: true });
    }
  }
}
