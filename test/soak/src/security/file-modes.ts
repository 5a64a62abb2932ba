/**
 * Proof that a program never lets another user read a file it writes, not even for an instant:
 * it runs under `strace` with umask 000 (so the mode it asks for is the mode the file gets), and
 * every file it creates, and every chmod it makes, in the watched folder is checked. Where strace
 * is missing, a watcher inspects each file as it appears (weaker: it can miss a short window).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));

/** One file-system operation on a path below the watched folder, with the mode it set. */
export interface ModeEvent {
  op: string;
  path: string;
  mode: number;
}

export interface TracedRun {
  child: ChildProcess;
  /** The file creations and mode changes below `watched` so far. */
  events(): ModeEvent[];
  /** How they were observed. */
  readonly method: 'strace' | 'watcher';
  stop(): void;
}

/**
 * Starts `command args` with umask 000, observing file creations and mode changes below
 * `watched`.
 */
export function traceFileModes(
  command: string,
  args: string[],
  watched: string,
  traceFile: string,
  env: NodeJS.ProcessEnv = process.env,
): TracedRun {
  if (STRACE && straceWorks()) {
    const child = spawn(
      'sh',
      [
        '-c',
        'umask 000; exec "$@"',
        'sh',
        STRACE,
        '-f',
        '-y',
        '-qq',
        '-s',
        '512',
        '-e',
        'trace=open,openat,creat,chmod,fchmod,fchmodat,mkdir,mkdirat',
        '-o',
        traceFile,
        command,
        ...args,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return {
      child,
      method: 'strace',
      events: () => parseStrace(existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '', watched),
      stop: () => undefined,
    };
  }
  const child = spawn('sh', ['-c', 'umask 000; exec "$@"', 'sh', command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen: ModeEvent[] = [];
  const watchers: FSWatcher[] = [];
  const look = (dir: string): void => {
    try {
      watchers.push(
        watch(dir, (_, name) => {
          if (!name) return;
          const path = join(dir, name.toString());
          try {
            const st = lstatSync(path);
            seen.push({ op: 'seen', path, mode: st.mode & 0o7777 });
            if (st.isDirectory() && !watchers.some((w) => (w as unknown as { path?: string }).path === path)) look(path);
          } catch {
            // gone already
          }
        }),
      );
    } catch {
      // not there yet
    }
  };
  const poll = setInterval(() => {
    if (existsSync(watched) && watchers.length === 0) look(watched);
  }, 5);
  return {
    child,
    method: 'watcher',
    events: () => seen,
    stop: () => {
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}

function unquote(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The creations (O_CREAT, with their mode) and chmods below `watched` in an strace log. */
function parseStrace(text: string, watched: string): ModeEvent[] {
  const out: ModeEvent[] = [];
  const under = (p: string): boolean => p === watched || p.startsWith(`${watched}/`);
  for (const line of text.split('\n')) {
    let m = /\b(open|openat)\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", ([A-Z_|0-9]+), (0[0-7]+)\)/.exec(line);
    if (m && m[3]!.includes('O_CREAT') && under(unquote(m[2]!))) {
      out.push({ op: `${m[1]} O_CREAT`, path: unquote(m[2]!), mode: parseInt(m[4]!, 8) });
      continue;
    }
    m = /\bcreat\("([^"]+)", (0[0-7]+)\)/.exec(line);
    if (m && under(unquote(m[1]!))) {
      out.push({ op: 'creat', path: unquote(m[1]!), mode: parseInt(m[2]!, 8) });
      continue;
    }
    m =
      /\b(chmod|mkdir)\("([^"]+)", (0[0-7]+)\)/.exec(line) ?? /\b(fchmodat|mkdirat)\(AT_FDCWD(?:<[^>]*>)?, "([^"]+)", (0[0-7]+)/.exec(line);
    if (m && under(unquote(m[2]!))) {
      out.push({ op: m[1]!, path: unquote(m[2]!), mode: parseInt(m[3]!, 8) });
      continue;
    }
    m = /\bfchmod\(\d+<([^>]+)>, (0[0-7]+)\)/.exec(line);
    if (m && under(unquote(m[1]!))) out.push({ op: 'fchmod', path: unquote(m[1]!), mode: parseInt(m[2]!, 8) });
  }
  return out;
}

/** Every file and folder below `dir` with its mode. */
export function modesBelow(dir: string): Array<{ path: string; mode: number; isDir: boolean }> {
  const out: Array<{ path: string; mode: number; isDir: boolean }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out.push({ path, mode: st.mode & 0o7777, isDir: st.isDirectory() });
    if (st.isDirectory()) out.push(...modesBelow(path));
  }
  return out;
}

let straceChecked: boolean | undefined;
/** Whether strace can trace here (it needs ptrace, which some containers forbid). */
function straceWorks(): boolean {
  if (!STRACE) return false;
  straceChecked ??= spawnSync(STRACE, ['-qq', '-o', '/dev/null', 'true']).status === 0;
  return straceChecked;
}
