/**
 * The process the helper runs (`cmd`) and the process it signals through `pid_file_name`.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { HelperLog } from './log.js';

/**
 * `cmd` with its arguments: started once the files are first written, sent `renew_signal`
 * after each rotation, started again at the next rotation if it exited, and stopped with the
 * helper.
 *
 * @example
 * ```ts
 * const child = new ManagedCommand('nginx', ['-g', 'daemon off;'], log);
 * child.start();
 * child.signal('SIGHUP');
 * await child.stop();
 * ```
 */
export class ManagedCommand {
  readonly #cmd: string;
  readonly #args: readonly string[];
  readonly #log: HelperLog;
  #child: ChildProcess | undefined;

  constructor(cmd: string, args: readonly string[], log: HelperLog) {
    this.#cmd = cmd;
    this.#args = args;
    this.#log = log;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Its pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Starts the process (its stdio is the helper's). With `detached`, it is left running
   * when the helper exits (`exit_when_ready`).
   *
   * @example
   * ```ts
   * child.start();
   * ```
   */
  start(options: { detached?: boolean } = {}): void {
    if (this.#child !== undefined) return;
    const child = spawn(this.#cmd, [...this.#args], { stdio: 'inherit', detached: options.detached === true });
    this.#child = child;
    child.once('error', (err) => {
      this.#log.error(`Unable to start cmd "${this.#cmd}": ${err.message}`);
      if (this.#child === child) this.#child = undefined;
    });
    child.once('exit', (code, signal) => {
      this.#log.info(
        `cmd "${this.#cmd}" exited (${signal === null ? `code ${code}` : `signal ${signal}`}); it starts again at the next update`,
      );
      if (this.#child === child) this.#child = undefined;
    });
    if (options.detached === true) child.unref();
    if (child.pid !== undefined) this.#log.info(`Started cmd "${this.#cmd}" (pid ${child.pid})`);
  }

  /**
   * Sends `signal` to the running process. Returns false when none runs.
   *
   * @example
   * ```ts
   * child.signal('SIGUSR1');
   * ```
   */
  signal(signal: NodeJS.Signals): boolean {
    const child = this.#child;
    if (child === undefined || child.pid === undefined) return false;
    try {
      return child.kill(signal);
    } catch (err) {
      this.#log.error(`Unable to signal cmd (pid ${child.pid}): ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited.
   *
   * @example
   * ```ts
   * await child.stop(5000);
   * ```
   */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Sends `signal` to the process whose pid `pidFile` holds.
 *
 * @returns the pid signalled.
 * @throws Error saying what went wrong (no file, not a pid, no such process).
 * @example
 * ```ts
 * await signalPidFile('/run/nginx.pid', 'SIGHUP');
 * ```
 */
export async function signalPidFile(pidFile: string, signal: NodeJS.Signals): Promise<number> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (err) {
    throw new Error(`failed to read pid file "${pidFile}": ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed) || Number(trimmed) <= 0)
    throw new Error(`failed to parse pid file "${pidFile}": ${JSON.stringify(trimmed.slice(0, 20))} is not a pid`);
  const pid = Number(trimmed);
  try {
    process.kill(pid, signal);
  } catch (err) {
    throw new Error(`failed to signal process ${pid} from "${pidFile}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return pid;
}
