/**
 * File-system helpers for the agent's state: directories with an exact mode that only the agent's
 * user owns, files written atomically with mode 0600, and socket paths freed only when they hold
 * a stale socket.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { DevAgentError } from '../errors.js';

const euid = (): number => process.geteuid?.() ?? 0;

/**
 * Creates `dir` with exactly `mode` (its missing parents with 0755), or checks and fixes an
 * existing one. Refuses a directory that is a symlink, is owned by another user, or whose parent
 * another user could replace it in (a group/world-writable parent without the sticky bit).
 *
 * @throws {@link DevAgentError} `ERR_AGENT_STATE`.
 * @example
 * ```ts
 * await ensurePrivateDir('/tmp/spiffe-dev-agent/private', 0o700);
 * ```
 */
export async function ensurePrivateDir(dir: string, mode: number): Promise<void> {
  await refuseUntrustedSymlinks(dir);
  const parent = dirname(dir);
  await fs.mkdir(parent, { recursive: true, mode: 0o755 });
  await checkParent(parent, dir);
  try {
    await fs.mkdir(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Opened without following a symlink, then checked and fixed through the descriptor: the
  // directory checked is the one whose mode is set.
  let handle;
  try {
    handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw new DevAgentError('ERR_AGENT_STATE', `${dir} exists and is not a directory (or is a symlink); remove it or pick another path`);
    }
    throw err;
  }
  try {
    const st = await handle.stat();
    if (st.uid !== euid()) {
      throw new DevAgentError(
        'ERR_AGENT_STATE',
        `${dir} is owned by uid ${st.uid}, not by this agent's uid ${euid()}; remove it or pick another path`,
      );
    }
    if ((st.mode & 0o7777) !== mode) await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * Why the way to `path` is not the agent's to trust, or undefined if it is: a symlink on it owned
 * by a user other than root and the agent's, followed wherever it leads (a user may plant one
 * where the agent's directories go, e.g. in /tmp before the agent first starts, and have a root
 * agent create, chmod and serve in a directory of the user's choosing). The kernel refuses such
 * links only in sticky directories, and only where `fs.protected_symlinks` is on. Components that
 * do not exist yet end the walk: the agent creates them.
 *
 * @example
 * ```ts
 * const reason = await untrustedSymlinkOnPath('/tmp/spiffe-dev-agent/private');
 * if (reason) throw new Error(reason);
 * ```
 */
export async function untrustedSymlinkOnPath(path: string): Promise<string | undefined> {
  // Walked as the kernel resolves it: a `..` after a symlink leaves the link's target, so nothing
  // is normalised before the links are followed.
  const components = (p: string, base: string): string[] =>
    (p.startsWith('/') ? p : `${base}/${p}`).split('/').filter((part) => part !== '' && part !== '.');
  const pending = components(path, process.cwd());
  let resolved = '/';
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved = dirname(resolved);
      continue;
    }
    const next = join(resolved, part);
    let st;
    try {
      st = await fs.lstat(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Missing from here on (the agent creates it), or not a directory (the agent says so later).
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    if (!st.isSymbolicLink()) {
      resolved = next;
      continue;
    }
    if (st.uid !== 0 && st.uid !== euid()) {
      return `${next} is a symlink owned by uid ${st.uid}, who chooses where it leads; only root's or this agent's (uid ${euid()}) are followed`;
    }
    if ((links += 1) > 40) return `${path} has too many levels of symlinks`;
    // Its target is walked as well, from the directory the link is in.
    pending.unshift(...components(await fs.readlink(next), resolved));
    resolved = '/';
  }
  return undefined;
}

/** Throws if the way to `path` goes through another user's symlink ({@link untrustedSymlinkOnPath}). */
async function refuseUntrustedSymlinks(path: string): Promise<void> {
  const reason = await untrustedSymlinkOnPath(path);
  if (reason !== undefined) throw new DevAgentError('ERR_AGENT_STATE', `cannot use ${path}: ${reason}; pick another path`);
}

async function checkParent(parent: string, child: string): Promise<void> {
  const st = await fs.stat(parent);
  const ownerTrusted = st.uid === euid() || st.uid === 0;
  const writableByOthers = (st.mode & 0o022) !== 0;
  const sticky = (st.mode & 0o1000) !== 0;
  if (!ownerTrusted || (writableByOthers && !sticky)) {
    throw new DevAgentError(
      'ERR_AGENT_STATE',
      `${parent} (parent of ${child}) is owned by uid ${st.uid} or writable by other users, so another user could replace ${child}; pick another path`,
    );
  }
}

/**
 * Writes `data` to `path` atomically (a new 0600 file, then rename), so a crash never leaves a
 * half-written state file and no other user can read it at any point.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/tmp/spiffe-dev-agent/data/entries.json', JSON.stringify(entries));
 * ```
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Reads a state file, or returns `undefined` if it does not exist. A file readable by other users
 * is tightened to 0600 first.
 *
 * @example
 * ```ts
 * const text = await readStateFile('/tmp/spiffe-dev-agent/data/entries.json');
 * ```
 */
export async function readStateFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new DevAgentError('ERR_AGENT_STATE', `${path} is a symlink, not a regular file; remove it`);
    throw err;
  }
  try {
    // Checked, tightened and read through one descriptor: the file checked is the file read.
    const st = await handle.stat();
    if (!st.isFile()) {
      throw new DevAgentError('ERR_AGENT_STATE', `${path} is not a regular file; remove it`);
    }
    if (st.uid !== euid()) {
      throw new DevAgentError('ERR_AGENT_STATE', `${path} is owned by uid ${st.uid}, not by this agent's uid ${euid()}`);
    }
    if ((st.mode & 0o077) !== 0) await handle.chmod(0o600);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Makes `path` free for a new listening socket: nothing there, or a stale socket that no process
 * accepts on (removed). Refuses a path that holds anything but a socket, or a live socket.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_STATE`.
 * @example
 * ```ts
 * await freeSocketPath('/tmp/spiffe-dev-agent/public/api.sock');
 * ```
 */
export async function freeSocketPath(path: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new DevAgentError('ERR_AGENT_STATE', `${path} exists and is not a socket; remove it or pick another path`);
  }
  if (await socketAccepts(path)) {
    throw new DevAgentError('ERR_AGENT_STATE', `another process is listening on ${path}; stop it or pick another socket path`);
  }
  await fs.rm(path, { force: true });
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Removes the socket at `path` if it is one (used on shutdown).
 *
 * @example
 * ```ts
 * await removeSocket('/tmp/spiffe-dev-agent/public/api.sock');
 * ```
 */
export async function removeSocket(path: string): Promise<void> {
  try {
    const st = await fs.lstat(path);
    if (st.isSocket()) await fs.rm(path, { force: true });
  } catch {
    // Already gone.
  }
}
