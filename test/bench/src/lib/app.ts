/**
 * An example app (apps/<name>/dist/<script>.js) as a real process: started with flags, ready once
 * it prints its "listening" line; its per-request log lines are read and dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { connect } from 'node:net';

const require = createRequire(import.meta.url);

export function appDir(pkg: string): string {
  return dirname(require.resolve(`${pkg}/package.json`));
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class AppProcess {
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /**
   * Starts `<node> <script> <args>` (`node`: the binary, by default the running one) and resolves once `port` on 127.0.0.1 accepts connections.
   * The app's stdout (a log line per request) goes to /dev/null, so that reading it costs
   * nothing; stderr is kept for error messages.
   */
  static async start(
    name: string,
    script: string,
    args: string[],
    port: number,
    node = process.execPath,
    timeoutMs = 30_000,
  ): Promise<AppProcess> {
    const child = spawn(node, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const app = new AppProcess(child);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      app.#tail.push(chunk);
      if (app.#tail.length > 50) app.#tail.splice(0, app.#tail.length - 50);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited (code ${child.exitCode}) before it was ready:\n${app.tail()}`);
      if (await accepts(port)) return app;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not listen on port ${port} within ${timeoutMs} ms:\n${app.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  tail(): string {
    return this.#tail.join('').slice(-2000);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
