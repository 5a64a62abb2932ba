/**
 * Peer credentials of a Unix socket caller, read with `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)`
 * through koffi (an FFI package with prebuilt binaries), since Node has no API for it. The
 * kernel records the credentials when the caller connects, so they cannot be forged by the
 * caller. User and group names come from `getpwuid_r`/`getgrgid_r` (NSS, like `id`).
 *
 * `SO_PEERCRED`'s PID is a number, kept after the caller exits: by the time the agent reads
 * `/proc/<pid>` the number may name another process. `SO_PEERPIDFD` (Linux 6.5+) answers with a
 * pidfd for the process that connected itself, which says whether that process still has the PID
 * (its `/proc/self/fdinfo` line `Pid:` is -1 once it has exited).
 *
 * @module
 */
import { closeSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** The credentials the kernel recorded for the process at the other end of a Unix socket. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * Reads peer credentials and resolves user and group names.
 *
 * @example
 * ```ts
 * const loaded = loadPeerCredentialReader();
 * if (loaded.reader) server.on('connection', (s) => console.log(loaded.reader.read(s)));
 * ```
 */
export interface PeerCredentialReader {
  /** The credentials of the peer of an accepted Unix socket. */
  read(socket: Socket): PeerCredentials;
  /**
   * The PID that the process which connected has now, in this process's PID namespace: -1 once
   * it has exited (its PID may then name another process), 0 if it is not visible from here;
   * undefined where the kernel cannot say (no `SO_PEERPIDFD` before Linux 6.5).
   *
   * @throws Error if the socket has no descriptor or the kernel refuses for another reason.
   */
  currentPeerPid(socket: Socket): number | undefined;
  /** The name of a user, or undefined if it has none. */
  userName(uid: number): string | undefined;
  /** The name of a group, or undefined if it has none. */
  groupName(gid: number): string | undefined;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77;
const ENOPROTOOPT = 92;
const ESRCH = 3;
const EINVAL = 22;
const SUPPORTED_ARCHS = new Set(['x64', 'arm64', 'ia32', 'arm', 'riscv64', 's390x']);
const LIBC_NAMES = [
  'libc.so.6',
  `libc.musl-${process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch}.so.1`,
];

/** The PID a pidfd's process has now (-1 once it has exited), from `/proc/self/fdinfo/<pidfd>`. */
function pidOfPidfd(pidfd: number): number {
  const match = /^Pid:\s*(-?\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${pidfd}`, 'utf8'));
  if (match === null) throw new Error(`/proc/self/fdinfo/${pidfd} has no Pid line: not a pidfd`);
  return Number(match[1]);
}

/** The socket's file descriptor (a Unix socket's libuv handle exposes it). */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the socket has no file descriptor');
  return fd;
}

/**
 * Loads the reader, or says why it cannot work here (not Linux, an unsupported CPU, koffi or libc
 * not loadable). The agent then serves only the per-identity sockets.
 *
 * @example
 * ```ts
 * const { reader, error } = loadPeerCredentialReader();
 * if (!reader) console.warn(`no workload attestation: ${error}`);
 * ```
 */
export function loadPeerCredentialReader(): LoadedReader {
  // koffi's named types are process-wide: a second agent in the process shares the first's reader.
  loaded ??= loadOnce();
  return loaded;
}

type LoadedReader = { reader: PeerCredentialReader; error?: undefined } | { reader?: undefined; error: string };
let loaded: LoadedReader | undefined;

function loadOnce(): LoadedReader {
  if (process.platform !== 'linux') return { error: `SO_PEERCRED is Linux-only (this is ${process.platform})` };
  if (!SUPPORTED_ARCHS.has(process.arch)) return { error: `SO_PEERCRED constants are not known for ${process.arch}` };
  let koffi: typeof import('koffi').default;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof koffi;
  } catch (err) {
    return { error: `koffi cannot be loaded: ${(err as Error).message}` };
  }
  let lib: ReturnType<typeof koffi.load> | undefined;
  const failures: string[] = [];
  for (const name of LIBC_NAMES) {
    try {
      lib = koffi.load(name);
      break;
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (lib === undefined) return { error: `libc cannot be loaded (${failures.join('; ')})` };
  try {
    // Named types, referred to by name in the prototypes below.
    koffi.struct('spiffe_dev_agent_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
    koffi.struct('spiffe_dev_agent_passwd', {
      pw_name: 'str',
      pw_passwd: 'str',
      pw_uid: 'uint32',
      pw_gid: 'uint32',
      pw_gecos: 'str',
      pw_dir: 'str',
      pw_shell: 'str',
    });
    koffi.struct('spiffe_dev_agent_group', {
      gr_name: 'str',
      gr_passwd: 'str',
      gr_gid: 'uint32',
      gr_mem: 'void *',
    });
    const getsockopt = lib.func('int getsockopt(int, int, int, _Out_ spiffe_dev_agent_ucred *, _Inout_ uint32_t *)');
    // The same function, with an int as the option's value (koffi binds one prototype per wrapper).
    const getsockoptInt = lib.func('int getsockopt(int, int, int, _Out_ int *, _Inout_ uint32_t *)');
    const getpwuid = lib.func('int getpwuid_r(uint32_t, _Out_ spiffe_dev_agent_passwd *, uint8_t *, size_t, _Out_ void **)');
    const getgrgid = lib.func('int getgrgid_r(uint32_t, _Out_ spiffe_dev_agent_group *, uint8_t *, size_t, _Out_ void **)');

    const lookup = (fn: typeof getpwuid, id: number, field: string): string | undefined => {
      for (let size = 16384; size <= 1 << 20; size *= 4) {
        const out: Record<string, unknown> = {};
        const result: [unknown] = [null];
        const rc = fn(id, out, Buffer.alloc(size), size, result) as number;
        if (rc === 34 /* ERANGE */) continue;
        if (rc !== 0 || result[0] === null) return undefined;
        const name = out[field];
        return typeof name === 'string' && name !== '' ? name : undefined;
      }
      return undefined;
    };

    const reader: PeerCredentialReader = {
      read(socket) {
        const out: Record<string, number> = {};
        const len = [12];
        const rc = getsockopt(socketFd(socket), SOL_SOCKET, SO_PEERCRED, out, len) as number;
        if (rc !== 0) throw new Error(`getsockopt(SO_PEERCRED) failed with errno ${koffi.errno()}`);
        const { pid, uid, gid } = out as { pid: number; uid: number; gid: number };
        return { pid, uid, gid };
      },
      currentPeerPid(socket) {
        const out: [number] = [-1];
        const rc = getsockoptInt(socketFd(socket), SOL_SOCKET, SO_PEERPIDFD, out, [4]) as number;
        if (rc !== 0) {
          const errno = koffi.errno();
          if (errno === ENOPROTOOPT) return undefined;
          // Kernels before 6.16 give no pidfd for a peer that has been reaped.
          if (errno === ESRCH || errno === EINVAL) return -1;
          throw new Error(`getsockopt(SO_PEERPIDFD) failed with errno ${errno}`);
        }
        const pidfd = out[0];
        try {
          return pidOfPidfd(pidfd);
        } finally {
          closeSync(pidfd);
        }
      },
      userName: (uid) => lookup(getpwuid, uid, 'pw_name'),
      groupName: (gid) => lookup(getgrgid, gid, 'gr_name'),
    };
    return { reader };
  } catch (err) {
    return { error: `libc functions cannot be bound: ${(err as Error).message}` };
  }
}
