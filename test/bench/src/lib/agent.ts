/**
 * Development agents for the benchmarks: `spiffe-dev-agent run` as a child process, in a
 * private temporary folder, with one identity socket per seed identity (server, client) and the
 * registration entries created through the admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '@spiffe-node/dev-agent';
import { devAgentDir } from '@spiffe-node/harness';
import { sleep } from './proc.js';

export const SERVER_ID = 'spiffe://example.org/server';
export const CLIENT_ID = 'spiffe://example.org/client';
/** Registered for `unix:uid:<our uid>` on the public socket (the scale and SPIRE comparisons). */
export const BENCH_ID = 'spiffe://example.org/bench';

export interface AgentOptions {
  /** Log level of the agent (default `warn`: the agent logs every attestation at `info`). */
  logLevel?: string;
  /** Reuse this state folder (a restart); a new temporary one by default. */
  dir?: string;
  /** Create the server and client entries (default true). */
  entries?: boolean;
  x509SvidTtl?: string;
  /** The Node.js binary that runs the agent (default: the one running the benchmark). */
  node?: string;
}

/** A running dev agent. */
export class BenchAgent {
  readonly dir: string;
  readonly socketPath: string;
  readonly adminSocketPath: string;
  readonly serverSocket: string;
  readonly clientSocket: string;
  readonly admin: AdminClient;
  readonly #child: ChildProcess;
  readonly #ownsDir: boolean;
  readonly #output: string[] = [];

  private constructor(dir: string, ownsDir: boolean, child: ChildProcess) {
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#child = child;
    this.socketPath = join(dir, 'public', 'api.sock');
    this.adminSocketPath = join(dir, 'private', 'admin.sock');
    this.serverSocket = join(dir, 'public', 'server.sock');
    this.clientSocket = join(dir, 'public', 'client.sock');
    this.admin = new AdminClient(this.adminSocketPath);
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.#output.push(chunk);
        if (this.#output.length > 100) this.#output.splice(0, this.#output.length - 100);
      });
    }
  }

  /** The command line of `spiffe-dev-agent run` for a state folder. */
  static args(dir: string, options: AgentOptions = {}): string[] {
    const args = [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      join(dir, 'public', 'api.sock'),
      '-adminSocketPath',
      join(dir, 'private', 'admin.sock'),
      '-dataDir',
      join(dir, 'data'),
      '-trustDomain',
      'example.org',
      '-logLevel',
      options.logLevel ?? 'warn',
      '-identitySocket',
      `${SERVER_ID}=${join(dir, 'public', 'server.sock')}`,
      '-identitySocket',
      `${CLIENT_ID}=${join(dir, 'public', 'client.sock')}`,
    ];
    if (options.x509SvidTtl !== undefined) args.push('-x509SVIDTTL', options.x509SvidTtl);
    return args;
  }

  static async start(options: AgentOptions = {}): Promise<BenchAgent> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'spiffe-bench-agent-'));
    const child = spawn(options.node ?? process.execPath, BenchAgent.args(dir, options), { stdio: ['ignore', 'pipe', 'pipe'] });
    const agent = new BenchAgent(dir, options.dir === undefined, child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the dev agent exited at start-up:\n${agent.output()}`);
      if (existsSync(agent.adminSocketPath)) {
        try {
          await agent.admin.health();
          break;
        } catch {
          // not yet
        }
      }
      if (Date.now() > deadline) throw new Error(`the dev agent did not become healthy within 30 s:\n${agent.output()}`);
      await sleep(20);
    }
    if (options.entries !== false) {
      const existing = new Set((await agent.admin.listEntries()).map((e) => e.spiffeId));
      for (const [id, user] of [
        [SERVER_ID, 'server-workload'],
        [CLIENT_ID, 'client-workload'],
      ] as const) {
        if (!existing.has(id)) await agent.admin.createEntry({ spiffeId: id, selectors: [`unix:user:${user}`] });
      }
    }
    return agent;
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** `unix://` address of a socket. */
  static address(socket: string): string {
    return `unix://${socket}`;
  }

  output(): string {
    return this.#output.join('');
  }

  /** Stops the agent; the folder is removed unless it was given. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
