/**
 * The Workload API providers the apps run against: the embedded development agent (the default)
 * or a real SPIRE server + agent started by deploy/spire/start.sh. Both are real processes; the
 * apps get nothing but SPIFFE_ENDPOINT_SOCKET.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorkload, type Workload } from './process.js';
import { CLIENT_USER, SERVER_USER } from './users.js';

/** The two identities of the seeds. */
export type Identity = 'server' | 'client';

/** How to start a process so that it gets an identity. */
export interface WorkloadEnv {
  user?: string | undefined;
  env: Record<string, string>;
}

export interface AgentHandle {
  readonly kind: 'dev' | 'spire';
  /** The public Workload API socket. */
  readonly socketPath: string;
  /** What register.sh takes as SPIRE_SERVER and SPIRE_SERVER_SOCKET. */
  readonly registration: { command: string; socket: string };
  /** Process options giving `identity` to a workload. */
  as(identity: Identity): WorkloadEnv;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The dev agent package's folder. */
export function devAgentDir(): string {
  return dirname(require.resolve('@spiffe-node/dev-agent/package.json'));
}

async function waitFor(what: string, test: () => boolean, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${detail()}`);
    await sleep(50);
  }
}

export interface DevAgentOptions {
  /** Run workloads as the seeds' Unix users (root), or give each identity its own socket. */
  mode: 'users' | 'sockets';
  /** X509-SVID TTL in seconds (rotation at half of it). */
  x509SvidTtl?: number;
  /** A state folder to reuse (restarts keep the CA); a temporary one by default. */
  dir?: string;
  /**
   * In `sockets` mode, the identities that get a socket of their own, name to SPIFFE ID: the
   * seeds' `server` and `client` by default. `identitySocket(name)` is the socket's path.
   */
  identities?: Record<string, string>;
  onLine?: (line: string) => void;
}

/**
 * The development agent as a child process, in a private folder (sockets, data). In `sockets`
 * mode (no root, so no workload users) every identity gets its own public socket.
 */
export class DevAgent implements AgentHandle {
  readonly kind = 'dev' as const;
  readonly dir: string;
  readonly socketPath: string;
  readonly adminSocketPath: string;
  readonly registration: { command: string; socket: string };
  readonly mode: 'users' | 'sockets';
  #process: Workload | undefined;
  readonly #ownsDir: boolean;
  readonly #options: DevAgentOptions;

  constructor(options: DevAgentOptions) {
    this.#options = options;
    this.mode = options.mode;
    this.#ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'spiffe-dev-agent-'));
    execFileSync('chmod', ['0755', this.dir]);
    this.socketPath = join(this.dir, 'public', 'api.sock');
    this.adminSocketPath = join(this.dir, 'private', 'admin.sock');
    this.registration = { command: join(devAgentDir(), 'bin', 'spire-server'), socket: this.adminSocketPath };
  }

  /** The socket of an identity of `sockets` mode (`server`, `client`, or one of `identities`). */
  identitySocket(identity: string): string {
    return join(this.dir, 'public', `${identity}.sock`);
  }

  /** Starts the agent and waits until its CLI says it is healthy. */
  async start(): Promise<void> {
    const args = [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      this.socketPath,
      '-adminSocketPath',
      this.adminSocketPath,
      '-dataDir',
      join(this.dir, 'data'),
      '-trustDomain',
      'example.org',
    ];
    if (this.#options.x509SvidTtl !== undefined) args.push('-x509SVIDTTL', `${this.#options.x509SvidTtl}s`);
    if (this.mode === 'sockets') {
      const identities = this.#options.identities ?? { server: 'spiffe://example.org/server', client: 'spiffe://example.org/client' };
      for (const [name, id] of Object.entries(identities)) args.push('-identitySocket', `${id}=${this.identitySocket(name)}`);
    }
    this.#process = startWorkload({
      name: 'dev-agent',
      command: process.execPath,
      args,
      onLine: this.#options.onLine,
    });
    const proc = this.#process;
    await waitFor(
      'the dev agent did not become healthy',
      () => proc.exitInfo === undefined && existsSync(this.socketPath) && this.healthy(),
      20_000,
      () => proc.output(),
    );
  }

  healthy(): boolean {
    const r = spawnSync(this.registration.command, ['healthcheck', '-socketPath', this.adminSocketPath], { encoding: 'utf8' });
    return r.status === 0;
  }

  /** The agent's output so far. */
  output(): string {
    return this.#process?.output() ?? '';
  }

  as(identity: Identity): WorkloadEnv {
    if (this.mode === 'sockets') {
      return { env: { SPIFFE_ENDPOINT_SOCKET: `unix://${this.identitySocket(identity)}` } };
    }
    return {
      user: identity === 'server' ? SERVER_USER : CLIENT_USER,
      env: { SPIFFE_ENDPOINT_SOCKET: `unix://${this.socketPath}` },
    };
  }

  /** Stops the agent (SIGTERM); the state folder stays for a restart. */
  async halt(): Promise<void> {
    await this.#process?.stop();
    this.#process = undefined;
  }

  async stop(): Promise<void> {
    await this.halt();
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs an app's register.sh against the agent's registration CLI. */
export function register(root: string, appName: string, agent: AgentHandle, extraEnv: Record<string, string> = {}): string {
  const r = spawnSync('bash', [join(root, 'apps', appName, 'register.sh')], {
    encoding: 'utf8',
    env: { ...process.env, SPIRE_SERVER: agent.registration.command, SPIRE_SERVER_SOCKET: agent.registration.socket, ...extraEnv },
  });
  if (r.status !== 0) {
    throw new Error(`apps/${appName}/register.sh failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return r.stdout + r.stderr;
}

/** The folder of the repository (this file is test/harness/{src,dist}/agents.*). */
export function repoRoot(): string {
  return join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
}
