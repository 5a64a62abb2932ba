/**
 * Starting and stopping the harness as the suite does (harness contract v1 §2): the executable
 * `harness/run`, no arguments, an environment holding nothing but `SPIFFE_ENDPOINT_SOCKET`
 * (plus what a process needs to run: `PATH`, `HOME`, `TMPDIR`), `/` as working directory, its
 * own process group, readiness read from stdout, `SIGTERM` to the group then `SIGKILL` after
 * 5 s.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The harness start script. */
const HARNESS_RUN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'harness', 'run');

/** Lines of stderr kept for failure messages. */
const STDERR_TAIL_LINES = 40;

/**
 * Why a harness did not become ready.
 *
 * @example
 * ```ts
 * try { await harness.ready; } catch (err) { if (err instanceof HarnessNotReady) console.log(err.reason); }
 * ```
 */
export class HarnessNotReady extends Error {
  override readonly name = 'HarnessNotReady';
  constructor(
    readonly reason: 'timeout' | 'exited' | 'protocol',
    message: string,
  ) {
    super(message);
  }
}

/**
 * What the harness announced on stdout.
 *
 * @example
 * ```ts
 * const { x509Port, controlPort } = await harness.ready;
 * ```
 */
export interface Readiness {
  version: string;
  x509Port: number;
  controlPort: number;
}

/**
 * One running harness process.
 *
 * @example
 * ```ts
 * const harness = HarnessProcess.start('unix:///tmp/x/agent.sock', 10_000);
 * const { x509Port } = await harness.ready;
 * await harness.stop();
 * ```
 */
export class HarnessProcess {
  /** Resolves on `READY` (after the three port/version lines); rejects with {@link HarnessNotReady}. */
  readonly ready: Promise<Readiness>;
  readonly #child: ChildProcess;
  readonly #stdoutLines: string[] = [];
  readonly #stderrTail: string[] = [];
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exited: Promise<void>;

  private constructor(endpoint: string, readyTimeoutMs: number) {
    this.#child = spawn(HARNESS_RUN, [], {
      env: {
        SPIFFE_ENDPOINT_SOCKET: endpoint,
        PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        TMPDIR: process.env['TMPDIR'] ?? '/tmp',
      },
      // Anywhere but the repository: the run script must find its own directory.
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve();
      });
      this.#child.once('error', (err) => {
        this.#stderrTail.push(`spawn failed: ${err.message}`);
        this.#exit ??= { code: null, signal: null };
        resolve();
      });
    });
    let pendingErr = '';
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      pendingErr += chunk.toString('utf8');
      const lines = pendingErr.split('\n');
      pendingErr = lines.pop() ?? '';
      this.#stderrTail.push(...lines);
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.splice(0, this.#stderrTail.length - STDERR_TAIL_LINES);
    });
    this.ready = new Promise<Readiness>((resolve, reject) => {
      const fields = new Map<string, string>();
      let pending = '';
      const timer = setTimeout(() => {
        reject(new HarnessNotReady('timeout', `the harness printed no READY within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      this.#child.stdout?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const raw of lines) {
          const line = raw.trim();
          this.#stdoutLines.push(line);
          const eq = /^(SPIFFE_[A-Z0-9_]+)=(.*)$/.exec(line);
          if (eq) fields.set(eq[1] as string, eq[2] as string);
          if (line !== 'READY') continue;
          clearTimeout(timer);
          const version = fields.get('SPIFFE_HARNESS_VERSION');
          const x509Port = Number(fields.get('SPIFFE_X509_PORT'));
          const controlPort = Number(fields.get('SPIFFE_CONTROL_PORT'));
          if (version !== '1' || !Number.isInteger(x509Port) || x509Port <= 0 || !Number.isInteger(controlPort) || controlPort <= 0) {
            reject(
              new HarnessNotReady(
                'protocol',
                `READY came without the v1 lines (SPIFFE_HARNESS_VERSION=1, SPIFFE_X509_PORT, SPIFFE_CONTROL_PORT): ${JSON.stringify(this.#stdoutLines)}`,
              ),
            );
          } else {
            resolve({ version, x509Port, controlPort });
          }
        }
      });
      void this.#exited.then(() => {
        clearTimeout(timer);
        reject(new HarnessNotReady('exited', `the harness exited (${this.describeExit()}) without printing READY`));
      });
    });
    this.ready.catch(() => undefined);
  }

  /**
   * Starts the harness with `SPIFFE_ENDPOINT_SOCKET=endpoint`.
   *
   * @example
   * ```ts
   * const harness = HarnessProcess.start(agent.address, 10_000);
   * ```
   */
  static start(endpoint: string, readyTimeoutMs: number): HarnessProcess {
    return new HarnessProcess(endpoint, readyTimeoutMs);
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** The stdout lines seen so far. */
  get stdoutLines(): readonly string[] {
    return this.#stdoutLines;
  }

  /** The last lines of stderr, for failure messages. */
  stderrTail(lines = 15): string {
    return this.#stderrTail.slice(-lines).join('\n');
  }

  /** How the process ended (`code 1`, `signal SIGKILL`), or `running`. */
  describeExit(): string {
    if (this.#exit === undefined) return 'running';
    return this.#exit.signal !== null ? `signal ${this.#exit.signal}` : `code ${this.#exit.code}`;
  }

  /**
   * Sends `SIGTERM` to the process group, waits up to `graceMs` (default 5 s) and then sends
   * `SIGKILL`. Resolves with the milliseconds the process took to exit after `SIGTERM` and
   * whether it had to be killed.
   */
  async stop(graceMs = 5000): Promise<{ exitMs: number; killed: boolean }> {
    const started = Date.now();
    if (this.#exit !== undefined || this.#child.pid === undefined) return { exitMs: 0, killed: false };
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-(this.#child.pid as number), signal);
      } catch {
        // The group is gone already.
      }
    };
    signalGroup('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (killed) {
      signalGroup('SIGKILL');
      await this.#exited;
    }
    return { exitMs: Date.now() - started, killed };
  }
}
