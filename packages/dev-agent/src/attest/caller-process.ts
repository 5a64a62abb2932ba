/**
 * The process at the other end of a Workload API connection, as the agent sees it when it accepts
 * the connection, and the check that it is still that process, running that executable, when its
 * selectors are read. `execve` keeps the PID, the start time and every open descriptor: without
 * this check a caller could connect, exec a trusted binary (or have its parent do so while a
 * child holds the socket) and be attested as that binary.
 *
 * What the kernel records at connect time is only the PID, uid and gid (`SO_PEERCRED`); the
 * rest is read from `/proc/<pid>` in the accept callback, the earliest user space can. The PID
 * alone does not say whose `/proc/<pid>` that is: the caller may have exited and its PID been
 * given to another process before the agent accepted. Where the kernel has `SO_PEERPIDFD`
 * (Linux 6.5+), every read of `/proc/<pid>` is followed by asking the kernel whether the process
 * that connected still has that PID.
 *
 * @module
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { PeerCredentials } from './peercred.js';

/**
 * Clock ticks per second of `/proc/<pid>/stat` start times: Linux's `USER_HZ`, 100 on every
 * architecture Node supports.
 */
const TICKS_PER_SECOND = 100;

/** The identity of an executable file: device and inode (what `/proc/<pid>/exe` resolves to). */
export interface ExecutableId {
  readonly dev: bigint;
  readonly ino: bigint;
  /** Its path when seen (for log lines). */
  readonly path: string | undefined;
}

/** A caller's process, as seen when the agent accepted its connection. */
export interface CallerProcess {
  /** What the kernel recorded when the caller connected. */
  readonly cred: PeerCredentials;
  /** Field 22 of `/proc/<pid>/stat` (clock ticks since boot); with the PID it names one process. */
  readonly startTime: string;
  /**
   * The executable the process ran at accept time; undefined where `/proc/<pid>/exe` cannot be
   * read (another user's process while the agent is not root): no path or hash selectors then.
   */
  readonly exe: ExecutableId | undefined;
  /**
   * Asks the kernel which PID the process that connected has now (-1 once it has exited);
   * undefined where the kernel cannot say, and then only the start time guards against reuse.
   */
  readonly currentPid: (() => number | undefined) | undefined;
}

/**
 * The start time of a process (field 22 of `/proc/<pid>/stat`, clock ticks since boot), or
 * undefined if the process is gone. Together with the PID it names one process for good.
 *
 * @example
 * ```ts
 * processStartTime(process.pid); // '123456'
 * ```
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Now, in the clock of process start times (clock ticks since boot, from `/proc/uptime`).
 *
 * @example
 * ```ts
 * const acceptedAt = bootTicks();
 * ```
 */
export function bootTicks(): bigint {
  const seconds = readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '';
  const [whole = '0', fraction = ''] = seconds.split('.');
  return BigInt(whole) * BigInt(TICKS_PER_SECOND) + BigInt((fraction + '00').slice(0, 2));
}

/** The executable `/proc/<pid>/exe` names now, or undefined if it cannot be read. */
function executableOf(pid: number): ExecutableId | undefined {
  try {
    const st = statSync(`/proc/${pid}/exe`, { bigint: true });
    let path: string | undefined;
    try {
      path = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      path = undefined;
    }
    return { dev: st.dev, ino: st.ino, path };
  } catch {
    return undefined;
  }
}

/** Whether two executables are the same file. */
export function sameExecutable(a: { dev: bigint; ino: bigint }, b: { dev: bigint; ino: bigint }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** A caller that cannot be attested: the reason says which PID and what is wrong. */
export class CallerProcessError extends Error {
  override name = 'CallerProcessError';
}

/**
 * Records the caller's process when its connection is accepted: start time and executable. The
 * process must have started no later than `acceptedAt` (else its PID was reused by a process
 * that cannot be the one that connected) and, where `currentPid` can tell, still be the process
 * that connected once they are read.
 *
 * @param acceptedAt - {@link bootTicks} taken when the connection was accepted, before reading
 *   the peer credentials.
 * @param currentPid - the PID the process that connected has now, from the kernel
 *   (`PeerCredentialReader.currentPeerPid` on the connection), or undefined where it cannot say.
 * @throws CallerProcessError if the process is gone, started after `acceptedAt`, or is not the
 *   process that connected.
 * @example
 * ```ts
 * const acceptedAt = bootTicks();
 * const caller = captureCallerProcess(reader.read(socket), acceptedAt, () => reader.currentPeerPid(socket));
 * ```
 */
export function captureCallerProcess(cred: PeerCredentials, acceptedAt: bigint, currentPid?: () => number | undefined): CallerProcess {
  const startTime = processStartTime(cred.pid);
  if (startTime === undefined) throw new CallerProcessError(`process ${cred.pid} exited before its connection could be attested`);
  if (BigInt(startTime) > acceptedAt) {
    throw new CallerProcessError(
      `pid ${cred.pid} was reused: the process now using it started at tick ${startTime}, after the connection was accepted at tick ${acceptedAt}`,
    );
  }
  const caller: CallerProcess = { cred, startTime, exe: executableOf(cred.pid), currentPid };
  // After the reads: what they saw was the process that connected only if it still has the PID.
  const moved = connectedProcessMoved(caller);
  if (moved !== undefined) throw new CallerProcessError(moved);
  return caller;
}

/**
 * Why the PID recorded at connect time no longer names the process that connected, or undefined
 * if it still does (or the kernel cannot say). A process keeps its PID until it has exited and
 * been reaped, so whatever was read from `/proc/<pid>` before a check that passes was read from
 * the process that connected.
 */
function connectedProcessMoved(caller: CallerProcess): string | undefined {
  const { pid } = caller.cred;
  let now: number | undefined;
  try {
    now = caller.currentPid?.();
  } catch (err) {
    return `the kernel cannot say whether process ${pid} is the one that connected: ${(err as Error).message}`;
  }
  if (now === undefined || now === pid) return undefined;
  if (now === -1) return `the process that connected (pid ${pid}) has exited; its connection is held by another process`;
  return `the process that connected is pid ${now} here, not ${pid}`;
}

/** The effective id on a `Uid:` or `Gid:` line of `/proc/<pid>/status` (real, effective, saved, fs). */
function effectiveId(status: string, key: 'Uid' | 'Gid'): number | undefined {
  const line = status.split('\n').find((l) => l.startsWith(`${key}:`));
  const value = line
    ?.slice(key.length + 1)
    .trim()
    .split(/\s+/)[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * What changed in the caller's process since its connection was accepted, or undefined if it is
 * still the same process (same PID and start time, and where the kernel can say, the process
 * that connected), running the same executable (same device and inode) with the uid and gid the
 * kernel recorded at connect time. The kernel is asked last, so a caller that passes was the
 * process that connected while everything read before was read.
 *
 * @example
 * ```ts
 * const change = callerProcessChange(caller);
 * if (change) logger.log('warn', 'Refused a workload whose process changed since it connected', { pid: caller.cred.pid, change });
 * ```
 */
export function callerProcessChange(caller: CallerProcess): string | undefined {
  const { pid, uid, gid } = caller.cred;
  const startTime = processStartTime(pid);
  if (startTime === undefined) return `process ${pid} has exited; its connection is held by another process`;
  if (startTime !== caller.startTime) return `pid ${pid} now names another process (started at tick ${startTime}, not ${caller.startTime})`;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return `process ${pid} has exited; its connection is held by another process`;
  }
  const euid = effectiveId(status, 'Uid');
  const egid = effectiveId(status, 'Gid');
  if (euid !== uid) return `effective uid changed from ${uid} to ${euid}`;
  if (egid !== gid) return `effective gid changed from ${gid} to ${egid}`;
  if (caller.exe !== undefined) {
    const now = executableOf(pid);
    if (now === undefined) return `executable of process ${pid} can no longer be read (it was ${caller.exe.path ?? 'unknown'})`;
    if (!sameExecutable(now, caller.exe)) {
      return `executable changed from ${caller.exe.path ?? 'unknown'} to ${now.path ?? 'unknown'}`;
    }
  }
  return connectedProcessMoved(caller);
}
