/**
 * The Unix workload attestor: turns a caller into SPIRE's `unix` selectors. `uid`, `gid` (and
 * their names) come from the kernel's record of the connection; supplementary groups, the
 * executable path and its hash from `/proc/<pid>`, and only while the process is still the one
 * recorded when its connection was accepted (same start time, same executable, same uid and
 * gid), checked before and after they are read: a recycled PID cannot lend its selectors, nor
 * can a binary the caller exec'd after connecting.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { callerProcessChange, sameExecutable, type CallerProcess } from './caller-process.js';
import type { PeerCredentialReader, PeerCredentials } from './peercred.js';

/** Options of the Unix attestor. */
export interface UnixAttestorOptions {
  /** Also derive `unix:sha256:<hex>` by hashing the caller's executable (cached per file). */
  sha256: boolean;
}

/** The outcome of attesting a caller: its selectors, or why it is refused. */
export type UnixAttestation =
  { readonly selectors: string[]; readonly refused?: undefined } | { readonly selectors?: undefined; readonly refused: string };

async function supplementaryGids(pid: number): Promise<number[]> {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('Groups:'));
    if (!line) return [];
    return line
      .slice('Groups:'.length)
      .trim()
      .split(/\s+/)
      .filter((g) => g !== '')
      .map(Number)
      .filter(Number.isInteger);
  } catch {
    return [];
  }
}

const hashCache = new Map<string, string>();

/**
 * The SHA-256 of the executable the caller ran when it was accepted: the file is opened through
 * `/proc/<pid>/exe` and hashed only if that descriptor is the same file (device and inode).
 */
async function executableSha256(caller: CallerProcess): Promise<string | undefined> {
  if (caller.exe === undefined) return undefined;
  let handle;
  try {
    handle = await fs.open(`/proc/${caller.cred.pid}/exe`, constants.O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!sameExecutable(st, caller.exe)) return undefined;
    // Keyed by the change time too: the file's owner can rewrite it (while nothing runs it) and
    // put back any size and modification time, but the kernel sets the change time on every
    // write and on `utimensat` itself, and nobody can set it back.
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const cached = hashCache.get(key);
    if (cached) return cached;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    const hex = hash.digest('hex');
    if (hashCache.size > 256) hashCache.clear();
    hashCache.set(key, hex);
    return hex;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/** The selectors the kernel's record of the connection gives: uid, gid and their names. */
function kernelSelectors(cred: PeerCredentials, reader: PeerCredentialReader): string[] {
  const selectors = [`unix:uid:${cred.uid}`];
  const user = reader.userName(cred.uid);
  if (user !== undefined) selectors.push(`unix:user:${user}`);
  selectors.push(`unix:gid:${cred.gid}`);
  const group = reader.groupName(cred.gid);
  if (group !== undefined) selectors.push(`unix:group:${group}`);
  return selectors;
}

/**
 * Derives the `unix` selectors of a caller: `unix:uid:N`, `unix:user:name`, `unix:gid:N`,
 * `unix:group:name`, `unix:supplementary_gid:N`, `unix:supplementary_group:name`,
 * `unix:path:/path/to/exe` and, if asked, `unix:sha256:hex`. A caller whose process changed
 * since its connection was accepted (exited, PID reused, another executable, another uid or gid)
 * is refused, with what changed.
 *
 * @param caller - the process recorded when the connection was accepted
 *   ({@link captureCallerProcess}); without it (a PID the agent cannot see, e.g. from another
 *   PID namespace) only the kernel's uid and gid selectors are derived.
 * @example
 * ```ts
 * const result = await attestUnix(cred, captureCallerProcess(cred, acceptedAt), reader, { sha256: false });
 * if (result.refused) console.warn(result.refused);
 * else result.selectors; // ['unix:uid:0', 'unix:user:root', 'unix:gid:0', 'unix:group:root', 'unix:path:/usr/bin/node', ...]
 * ```
 */
export async function attestUnix(
  cred: PeerCredentials,
  caller: CallerProcess | undefined,
  reader: PeerCredentialReader,
  options: UnixAttestorOptions,
): Promise<UnixAttestation> {
  const selectors = kernelSelectors(cred, reader);
  if (caller === undefined) return { selectors };
  const before = callerProcessChange(caller);
  if (before !== undefined) return { refused: before };

  const { pid } = caller.cred;
  for (const gid of await supplementaryGids(pid)) {
    selectors.push(`unix:supplementary_gid:${gid}`);
    const name = reader.groupName(gid);
    if (name !== undefined) selectors.push(`unix:supplementary_group:${name}`);
  }
  if (caller.exe !== undefined) {
    try {
      selectors.push(`unix:path:${await fs.readlink(`/proc/${pid}/exe`)}`);
    } catch {
      // Gone meanwhile: the check below refuses the caller.
    }
  }
  if (options.sha256) {
    const hex = await executableSha256(caller);
    if (hex !== undefined) selectors.push(`unix:sha256:${hex}`);
  }
  // Everything above must describe the process that connected: check again after reading it.
  const after = callerProcessChange(caller);
  if (after !== undefined) return { refused: after };
  return { selectors };
}
