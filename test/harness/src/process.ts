/**
 * A workload as a real process: started directly or as a Unix user (`runuser -u <user> --`), its
 * output captured line by line, with waits on lines and on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface StartOptions {
  /** A label for logs, e.g. `mtls-echo/server`. */
  name: string;
  command: string;
  args?: string[];
  /** Run as this Unix user (needs root). */
  user?: string | undefined;
  /**
   * Run inside this network namespace (`ip netns exec <netns>`, needs root): a "host" of the
   * multi-host topology. `ip netns exec` replaces itself with the command, so signals and the
   * runuser child lookup work as without it.
   */
  netns?: string | undefined;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each output line as it arrives (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running (or finished) process with its captured output. */
export class Workload {
  readonly name: string;
  readonly lines: Array<{ stream: 'stdout' | 'stderr'; line: string }> = [];
  readonly exited: Promise<ExitInfo>;
  readonly #child: ChildProcess;
  readonly #viaRunuser: boolean;
  #waiters: Array<() => void> = [];
  #exit: ExitInfo | undefined;

  constructor(options: StartOptions) {
    this.name = options.name;
    const args = options.args ?? [];
    const env = { ...process.env, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    this.#viaRunuser = options.user !== undefined;
    const [userCmd, userArgv] = options.user ? ['runuser', ['-u', options.user, '--', options.command, ...args]] : [options.command, args];
    const [cmd, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, userCmd, ...userArgv]] : [userCmd, userArgv];
    this.#child = spawn(cmd, argv, { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      this.#child[stream]!.setEncoding('utf8');
      this.#child[stream]!.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) this.#push(stream, line, options.onLine);
      });
      this.#child[stream]!.on('end', () => {
        if (pending) this.#push(stream, pending, options.onLine);
        pending = '';
      });
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.#child.on('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#notify();
      });
      this.#child.on('error', (err) => {
        this.#push('stderr', `spawn failed: ${err.message}`, options.onLine);
        this.#exit = { code: -1, signal: null };
        resolve(this.#exit);
        this.#notify();
      });
    });
  }

  #push(stream: 'stdout' | 'stderr', line: string, onLine: StartOptions['onLine']): void {
    this.lines.push({ stream, line });
    onLine?.(line, stream);
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** All output so far, one string. */
  output(): string {
    return this.lines.map((l) => l.line).join('\n');
  }

  /** stdout lines only. */
  stdout(): string[] {
    return this.lines.filter((l) => l.stream === 'stdout').map((l) => l.line);
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Resolves with the first line matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${this.output()}`));
      }, timeoutMs);
      const check = (): void => {
        for (; seen < this.lines.length; seen++) {
          const line = this.lines[seen]!.line;
          if (pattern.test(line)) {
            clearTimeout(timer);
            resolve(line);
            return;
          }
        }
        if (this.#exit) {
          clearTimeout(timer);
          reject(
            new Error(`${this.name}: exited (${JSON.stringify(this.#exit)}) before a line matching ${pattern}; output:\n${this.output()}`),
          );
          return;
        }
        this.#waiters.push(check);
      };
      check();
    });
  }

  /** Resolves with the exit info; kills the process and rejects after `timeoutMs`. */
  async waitForExit(timeoutMs = 60_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void this.stop();
        reject(new Error(`${this.name}: still running after ${timeoutMs} ms; output:\n${this.output()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the process with SIGTERM (SIGKILL after `graceMs`). Under runuser the workload is
   * runuser's child: the signal goes to the child so that it can exit cleanly.
   */
  async stop(graceMs = 5_000): Promise<ExitInfo> {
    if (this.#exit) return this.#exit;
    const pid = this.#child.pid;
    if (pid !== undefined) {
      // runuser exits by itself once its child has; signalling runuser too would make it print
      // "Session terminated, killing shell...". It is signalled only when it has no child.
      const children = this.#viaRunuser ? childPids(pid) : [];
      const targets = children.length > 0 ? children : [pid];
      for (const target of targets) signal(target, 'SIGTERM');
      const timer = setTimeout(() => {
        for (const target of [...childPids(pid), pid]) signal(target, 'SIGKILL');
      }, graceMs);
      const info = await this.exited;
      clearTimeout(timer);
      return info;
    }
    return this.exited;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts a workload process. */
export function startWorkload(options: StartOptions): Workload {
  return new Workload(options);
}

/** Runs a command to completion and returns its output and exit code. */
export async function runToExit(
  options: StartOptions,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string; stdout: string[]; workload: Workload }> {
  const workload = new Workload(options);
  const info = await workload.waitForExit(timeoutMs);
  return { code: info.code, output: workload.output(), stdout: workload.stdout(), workload };
}
