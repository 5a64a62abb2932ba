/**
 * The Unix workload attestor: turns the peer credentials of a caller into SPIRE's `unix`
 * selectors. `uid`, `gid` (and their names) come from the kernel's record of the connection;
 * supplementary groups and the executable path from `/proc/<pid>`, used only while the process
 * is still the one that connected (same start time), so a recycled PID cannot lend its selectors.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, readFileSync } from 'node:fs';
import type { PeerCredentialReader, PeerCredentials } from './peercred.js';

/** Options of the Unix attestor. */
export interface UnixAttestorOptions {
  /** Also derive `unix:sha256:<hex>` by hashing the caller's executable (cached per file). */
  sha256: boolean;
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

async function executableSha256(pid: number): Promise<string | undefined> {
  const link = `/proc/${pid}/exe`;
  try {
    const st = await fs.stat(link);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = hashCache.get(key);
    if (cached) return cached;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(link)) hash.update(chunk as Buffer);
    const hex = hash.digest('hex');
    if (hashCache.size > 256) hashCache.clear();
    hashCache.set(key, hex);
    return hex;
  } catch {
    return undefined;
  }
}

/**
 * Derives the `unix` selectors of a caller: `unix:uid:N`, `unix:user:name`, `unix:gid:N`,
 * `unix:group:name`, `unix:supplementary_gid:N`, `unix:supplementary_group:name`,
 * `unix:path:/path/to/exe` and, if asked, `unix:sha256:hex`.
 *
 * @param startTime - the process start time seen when the caller connected; `/proc`-derived
 *   selectors are dropped if the PID now names another process.
 * @example
 * ```ts
 * const selectors = await attestUnix({ pid, uid, gid }, startTime, reader, { sha256: false });
 * // ['unix:uid:0', 'unix:user:root', 'unix:gid:0', 'unix:group:root', 'unix:path:/usr/bin/node', ...]
 * ```
 */
export async function attestUnix(
  cred: PeerCredentials,
  startTime: string | undefined,
  reader: PeerCredentialReader,
  options: UnixAttestorOptions,
): Promise<string[]> {
  const selectors = [`unix:uid:${cred.uid}`];
  const user = reader.userName(cred.uid);
  if (user !== undefined) selectors.push(`unix:user:${user}`);
  selectors.push(`unix:gid:${cred.gid}`);
  const group = reader.groupName(cred.gid);
  if (group !== undefined) selectors.push(`unix:group:${group}`);
  if (cred.pid <= 0 || startTime === undefined) return selectors;

  const fromProc: string[] = [];
  for (const gid of await supplementaryGids(cred.pid)) {
    fromProc.push(`unix:supplementary_gid:${gid}`);
    const name = reader.groupName(gid);
    if (name !== undefined) fromProc.push(`unix:supplementary_group:${name}`);
  }
  try {
    fromProc.push(`unix:path:${await fs.readlink(`/proc/${cred.pid}/exe`)}`);
  } catch {
    // Not readable (another user's process while the agent is not root): no path selector.
  }
  if (options.sha256) {
    const hex = await executableSha256(cred.pid);
    if (hex !== undefined) fromProc.push(`unix:sha256:${hex}`);
  }
  // The PID must still name the process that connected, or the /proc data is someone else's.
  if (processStartTime(cred.pid) !== startTime) return selectors;
  return [...selectors, ...fromProc];
}
