/**
 * The example apps as real processes: started from their package's `dist/`, their output kept
 * line by line (it is the defending side's log), stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);

/** The `dist/<file>` of an example app package. */
export function appScript(pkg: string, file: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', file);
}

export class AppProcess {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;

  /** Runs `node script args`, or `script args` itself with `{ script: false }`. */
  constructor(script: string, args: string[], env: Record<string, string>, how: { script: boolean } = { script: true }) {
    const [command, argv] = how.script ? [process.execPath, [script, ...args]] : [script, args];
    this.#child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = once(this.#child, 'exit');
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.lines.push(line));
    }
  }

  /** Waits for an output line matching `re` (the app's "listening" line). */
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.lines.some((l) => re.test(l))) {
      if (this.#child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the app did not print ${re} (exit ${this.#child.exitCode}):\n${this.lines.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs to its end; resolves with the exit code. */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
    return this.#child.exitCode;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      await this.#exited;
    }
  }
}
