/**
 * Listening Unix sockets that get their mode from bind() itself. A `chmod` after `listen` goes by
 * path and follows a symlink: whoever can write to the socket's directory could swap the socket
 * for a link to any file between the two calls, and an agent running as root would then change
 * that file's mode. Here the process umask is set for the synchronous bind() only, so the socket
 * is born with its final mode and its path is never chmod'ed; directories another user could
 * replace the socket in are refused.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { DevAgentError } from '../errors.js';
import { freeSocketPath } from './secure-fs.js';

const euid = (): number => process.geteuid?.() ?? 0;
const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/**
 * Why `dir` is not a safe place for a socket, or undefined if it is: a directory that users other
 * than its owner may write to lets them remove or replace the socket, unless it is sticky (only
 * an entry's owner may then remove it) and owned by root or by the agent's user (the owner of a
 * sticky directory can still remove anything in it).
 *
 * @example
 * ```ts
 * const reason = await unsafeSocketDirectory('/run/spiffe/server');
 * if (reason) throw new Error(reason);
 * ```
 */
export async function unsafeSocketDirectory(dir: string): Promise<string | undefined> {
  const st = await fs.stat(dir);
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const writableByOthers = (st.mode & 0o022) !== 0;
  if (!writableByOthers) return undefined;
  const sticky = (st.mode & 0o1000) !== 0;
  const trustedOwner = st.uid === 0 || st.uid === euid();
  if (sticky && trustedOwner) return undefined;
  return sticky
    ? `${dir} (mode ${octal(st.mode)}) is writable by other users and owned by uid ${st.uid}, which may remove or replace any socket in it; use a directory owned by root or by this agent's uid ${euid()}`
    : `${dir} (mode ${octal(st.mode)}) is writable by other users without the sticky bit, so any of them could remove or replace the socket; remove the group/other write bits (e.g. chmod 0755, or 0700 owned by the workload's user) or pick another directory`;
}

/**
 * Creates a missing socket directory (and its missing parents, 0755) with mode 0700, so that a
 * socket in it is reachable only by the agent's user (and root) until the operator opens it up,
 * for example by handing the directory to a workload's user. An existing directory is left as it is.
 *
 * @returns whether the directory was created.
 * @example
 * ```ts
 * await ensureSocketDirectory('/run/spiffe/server');
 * ```
 */
export async function ensureSocketDirectory(dir: string): Promise<boolean> {
  await fs.mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Sets the process umask, saying what to do where that is not allowed (a worker thread). */
function setUmask(mask: number): number {
  try {
    return process.umask(mask);
  } catch (err) {
    throw new DevAgentError(
      'ERR_AGENT_STATE',
      `cannot set the process umask to create a Unix socket with its final mode (${(err as Error).message}); start the agent on the main thread`,
      { cause: err },
    );
  }
}

/**
 * Makes `server` listen on `path` with the socket file created by bind() with exactly `mode`,
 * then checks the path still names a socket of this user with that mode (a default ACL on the
 * directory, or another user who replaced the socket, is refused). A stale socket at `path` is
 * removed first; anything else there is refused.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_STATE`.
 * @example
 * ```ts
 * await listenUnixSocket(net.createServer(onConnection), '/tmp/spiffe-dev-agent/private/admin.sock', 0o600);
 * ```
 */
export async function listenUnixSocket(server: Server, path: string, mode: number): Promise<void> {
  await freeSocketPath(path);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // For a path, net.Server binds synchronously inside listen(): the umask applies to that bind
  // alone. Every file the agent creates elsewhere passes an explicit mode.
  const previous = setUmask(~mode & 0o777);
  try {
    server.listen(path);
  } finally {
    process.umask(previous);
  }
  await listening;
  const st = await fs.lstat(path).catch(() => undefined);
  if (st === undefined || !st.isSocket() || st.uid !== euid() || (st.mode & 0o7777) !== mode) {
    server.close();
    const found =
      st === undefined
        ? 'nothing'
        : `${st.isSocket() ? 'a socket' : st.isSymbolicLink() ? 'a symlink' : 'a file'} of uid ${st.uid} with mode ${octal(st.mode)}`;
    throw new DevAgentError(
      'ERR_AGENT_STATE',
      `${path} is not the socket the agent just created (mode ${octal(mode)}, uid ${euid()}): found ${found}; another user who can write to ${dirname(path)} replaced it, or a default ACL there changed its mode`,
    );
  }
}
