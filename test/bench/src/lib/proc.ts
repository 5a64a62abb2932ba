/**
 * The benchmark's helper processes: each reads one JSON command per line on stdin and answers
 * each with one JSON line on stdout (the Go baselines and the Node workers alike), after a first
 * `{"event":"ready"}` line. Also: CPU time and RSS of any process by pid, from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/bench/src */
export const SRC_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** test/bench */
export const BENCH_DIR = dirname(SRC_DIR);

export type Reply = Record<string, any>;

type Pending = Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }>;

export interface CommandProcessOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** How long to wait for the ready line. */
  readyTimeoutMs?: number;
  /** Extra arguments for node before the script (Node workers only). */
  nodeArgs?: string[];
  /** The Node.js binary of a Node worker (default: the one running the benchmark). */
  node?: string;
}

/** A running helper process that answers JSON commands. */
export class CommandProcess {
  readonly name: string;
  readonly ready: Reply;
  readonly #child: ChildProcess;
  readonly #pending: Pending;
  readonly #stderr: string[];
  #exit: string | undefined;

  private constructor(name: string, child: ChildProcess, ready: Reply, pending: Pending, stderr: string[]) {
    this.name = name;
    this.#child = child;
    this.ready = ready;
    this.#pending = pending;
    this.#stderr = stderr;
    child.once('exit', (code, signal) => {
      this.#exit = `exited (code ${code}, signal ${signal})`;
      for (const p of this.#pending.splice(0)) p.reject(new Error(`${name} ${this.#exit}: ${this.stderrTail()}`));
    });
  }

  /** A Node worker script of this package (run through tsx). */
  static node(name: string, script: string, args: string[], options: CommandProcessOptions = {}): Promise<CommandProcess> {
    return CommandProcess.start(
      name,
      options.node ?? process.execPath,
      [...(options.nodeArgs ?? []), '--import', 'tsx', join(SRC_DIR, 'workers', script), ...args],
      {
        ...options,
        cwd: options.cwd ?? BENCH_DIR,
      },
    );
  }

  /** Starts `command` and waits for its ready line. */
  static start(name: string, command: string, args: string[], options: CommandProcessOptions = {}): Promise<CommandProcess> {
    const env = { ...process.env, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(command, args, { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const pending: Pending = [];
    const stderr: string[] = [];
    return new Promise((resolve, reject) => {
      let ready: Reply | undefined;
      let buffer = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms: ${stderr.join('\n').slice(-2000)}`));
      }, options.readyTimeoutMs ?? 60_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr.push(chunk);
        if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
      });
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let message: Reply;
          try {
            message = JSON.parse(line) as Reply;
          } catch {
            stderr.push(`(stdout) ${line}\n`);
            continue;
          }
          if (ready === undefined) {
            ready = message;
            clearTimeout(timer);
            resolve(new CommandProcess(name, child, message, pending, stderr));
            continue;
          }
          pending.shift()?.resolve(message);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${name}: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        if (ready === undefined) {
          clearTimeout(timer);
          reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal}): ${stderr.join('').slice(-2000)}`));
        }
      });
    });
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** Sends a command and waits for its reply; a reply with `error` rejects. */
  async send(command: Reply, timeoutMs = 120_000): Promise<Reply> {
    if (this.#exit !== undefined) throw new Error(`${this.name} ${this.#exit}: ${this.stderrTail()}`);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no reply to ${JSON.stringify(command).slice(0, 200)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#pending.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
    if (typeof reply.error === 'string') throw new Error(`${this.name}: ${reply.error}`);
    return reply;
  }

  /** CPU time of the process in µs, as the process itself reports it (process.cpuUsage / getrusage). */
  async cpuMicros(): Promise<number> {
    const r = await this.send({ cmd: 'cpu' });
    return Number(r.user) + Number(r.system);
  }

  stderrTail(): string {
    return this.#stderr.join('').slice(-2000);
  }

  /** Closes stdin (the process then exits by itself), then SIGTERM, then SIGKILL. */
  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin!.end();
    const t1 = setTimeout(() => this.#child.kill('SIGTERM'), 2000);
    const t2 = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t1);
    clearTimeout(t2);
  }
}

const CLOCK_TICKS = 100;

/** CPU time (user + system) of a process from /proc, in µs (10 ms resolution). */
export function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}

/** Resident set size of a process, in bytes. */
export function procRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Wall-clock time now in ns since the epoch (comparable with Go's time.Now().UnixNano()). */
export function nowNs(): number {
  return (performance.timeOrigin + performance.now()) * 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
