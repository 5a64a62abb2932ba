/**
 * Running programs as real processes and waiting on what they print, for the tests of the
 * packages and apps that run each other (the CLI, the examples), and temporary directories.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory under the system's temporary directory (keep `prefix` short: Unix socket
 * paths are limited to 107 bytes), removed by the returned `remove()`.
 *
 * @example
 * ```ts
 * const dir = tempDir('sda-');
 * after(() => dir.remove());
 * ```
 */
export function tempDir(prefix = 'spiffe-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** What a finished process printed and its exit code. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running process whose output is collected. */
export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  exited: Promise<RunResult>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/** Collects the output of `child` (named `what` in errors) and returns a handle on it. */
export function trackProcess(child: ChildProcess, what: string): RunningProcess {
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    wake();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    wake();
  });
  const exited = new Promise<RunResult>((resolve) => {
    child.once('exit', (code, signal) => {
      // Let the stdio streams drain before reporting.
      setImmediate(() => {
        resolve({ code, signal, stdout: out, stderr: err });
        wake();
      });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 10_000, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = (stream === 'stdout' ? out : err).match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`${what} exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} from ${what}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
