/**
 * What the soak reads about processes from /proc: descendants of this process (to find the pid of
 * an app or agent started through the harness) and their resident memory.
 */
import { readFileSync } from 'node:fs';

function children(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) {
      if (task) out.push(Number(task));
    }
    return out;
  } catch {
    return [];
  }
}

function argv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The pid of a descendant of this process whose command line contains every one of `parts`
 * (e.g. the app's script and its `--port` value), or undefined.
 */
export function findDescendant(parts: readonly string[], root = process.pid): number | undefined {
  const queue = children(root);
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const args = argv(pid);
    // A node process itself (not runuser, sh or strace running it), with every part in its arguments.
    if (/(^|\/)node$/.test(args[0] ?? '') && parts.every((p) => args.some((a) => a.includes(p)))) return pid;
    queue.push(...children(pid));
  }
  return undefined;
}

/** The resident set size of `pid` in bytes (VmRSS), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
