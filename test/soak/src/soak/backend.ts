/**
 * The Workload API providers the soak runs against, behind one interface: the development agent
 * (a child process with one socket per identity, short SVID TTLs, rotating JWT keys and a second
 * trust domain for federation) and, where installed, a real SPIRE server and agent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLIENT_USER,
  SERVER_USER,
  SpireAgent,
  devAgentDir,
  ensureUser,
  runnableRootFor,
  startWorkload,
  type Workload,
} from '@spiffe-node/harness';
import { findDescendant } from './proc.js';

const TRUST_DOMAIN = 'example.org';
export const FEDERATED_TRUST_DOMAIN = 'partner.org';
export const SERVER_ID = 'spiffe://example.org/server';
export const CLIENT_ID = 'spiffe://example.org/client';
const AGENT_ID = 'spiffe://example.org/host';

/** How to start a workload process with the server identity. */
export interface ServerLaunch {
  user?: string | undefined;
  env: Record<string, string>;
  /** The root the app processes run from (a readable copy when they run as another user). */
  root: string;
  /** The address the apps listen on and the drivers call. */
  host: string;
  /** The network namespace (host of the multi-host topology) the apps run in, if not this one. */
  netns?: string | undefined;
}

export interface SoakBackend {
  readonly kind: 'dev' | 'spire' | 'multihost';
  /** Starts the provider and registers the server and client identities. */
  start(): Promise<void>;
  /** How to start the apps (server identity). */
  serverLaunch(): ServerLaunch;
  /** The Workload API address of the in-process drivers (client identity). */
  readonly clientAddress: string;
  /** The network namespace the driver process runs in, if not this one (multi-host). */
  readonly driverNetns?: string | undefined;
  /** The address whose SVID is the servers' (to watch its expiry), when the soak can use it. */
  readonly serverAddress: string | undefined;
  /** Kills the agent (only the agent: a SPIRE server keeps running) and waits until it is gone. */
  killAgent(signal: NodeJS.Signals): Promise<void>;
  /** Starts the agent again and waits until it is healthy. */
  startAgent(): Promise<void>;
  /** Whether federation can be switched during the soak. */
  readonly canFederate: boolean;
  addFederation(): Promise<void>;
  removeFederation(): Promise<void>;
  /** Every line the agent (and server) logged so far. */
  logLines(): string[];
  /** The agent's pid, when running. */
  agentPid(): number | undefined;
  /** What the backend was configured with, for the report. */
  describe(): Record<string, string | number>;
  stop(): Promise<void>;
}

export interface DevBackendOptions {
  x509SvidTtlSeconds: number;
  jwtSvidTtlSeconds: number;
  jwtKeyTtlSeconds: number;
  /** The repository root (packages/, apps/). */
  root: string;
}

/** The development agent, run from its built CLI, with identity sockets and a federated domain. */
export class DevSoakBackend implements SoakBackend {
  readonly kind = 'dev' as const;
  readonly canFederate = true;
  readonly clientAddress: string;
  readonly serverAddress: string;
  readonly #dir: string;
  readonly #options: DevBackendOptions;
  readonly #adminSocket: string;
  readonly #lines: string[] = [];
  #agent: Workload | undefined;
  #federationEntries: string[] = [];

  constructor(options: DevBackendOptions) {
    this.#options = options;
    this.#dir = mkdtempSync(join(tmpdir(), 'spiffe-soak-dev-'));
    spawnSync('chmod', ['0755', this.#dir]);
    this.#adminSocket = join(this.#dir, 'private', 'admin.sock');
    this.serverAddress = `unix://${join(this.#dir, 'public', 'server.sock')}`;
    this.clientAddress = `unix://${join(this.#dir, 'public', 'client.sock')}`;
  }

  describe(): Record<string, string | number> {
    return {
      agent: 'development agent (packages/dev-agent), one socket per identity',
      x509SvidTtlSeconds: this.#options.x509SvidTtlSeconds,
      jwtSvidTtlSeconds: this.#options.jwtSvidTtlSeconds,
      jwtKeyTtlSeconds: this.#options.jwtKeyTtlSeconds,
    };
  }

  async start(): Promise<void> {
    await this.startAgent();
    this.#cli([
      'entry',
      'create',
      '-spiffeID',
      SERVER_ID,
      '-parentID',
      AGENT_ID,
      '-selector',
      `unix:user:${SERVER_USER}`,
      '-x509SVIDTTL',
      String(this.#options.x509SvidTtlSeconds),
    ]);
    this.#cli([
      'entry',
      'create',
      '-spiffeID',
      CLIENT_ID,
      '-parentID',
      AGENT_ID,
      '-selector',
      `unix:user:${CLIENT_USER}`,
      '-x509SVIDTTL',
      String(this.#options.x509SvidTtlSeconds),
    ]);
  }

  serverLaunch(): ServerLaunch {
    return { env: { SPIFFE_ENDPOINT_SOCKET: this.serverAddress }, root: this.#options.root, host: '127.0.0.1' };
  }

  #cli(args: string[]): string {
    const r = spawnSync(join(devAgentDir(), 'bin', 'spire-server'), [...args, '-socketPath', this.#adminSocket], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`spire-server ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  async startAgent(): Promise<void> {
    const socket = (address: string): string => address.slice('unix://'.length);
    const args = [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      join(this.#dir, 'public', 'api.sock'),
      '-adminSocketPath',
      this.#adminSocket,
      '-dataDir',
      join(this.#dir, 'data'),
      '-trustDomain',
      TRUST_DOMAIN,
      '-federatedTrustDomain',
      FEDERATED_TRUST_DOMAIN,
      '-x509SVIDTTL',
      `${this.#options.x509SvidTtlSeconds}s`,
      '-jwtSVIDTTL',
      `${this.#options.jwtSvidTtlSeconds}s`,
      '-jwtKeyTTL',
      `${this.#options.jwtKeyTtlSeconds}s`,
      '-identitySocket',
      `${SERVER_ID}=${socket(this.serverAddress)}`,
      '-identitySocket',
      `${CLIENT_ID}=${socket(this.clientAddress)}`,
    ];
    const agent = startWorkload({
      name: 'dev-agent',
      command: process.execPath,
      args,
      onLine: (line) => this.#lines.push(line),
    });
    this.#agent = agent;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (agent.exitInfo) throw new Error(`the dev agent exited at start:\n${agent.output()}`);
      if (
        existsSync(socket(this.clientAddress)) &&
        spawnSync(join(devAgentDir(), 'bin', 'spire-server'), ['healthcheck', '-socketPath', this.#adminSocket]).status === 0
      )
        return;
      if (Date.now() > deadline) throw new Error(`the dev agent did not become healthy:\n${agent.output()}`);
      await sleep(50);
    }
  }

  async killAgent(signal: NodeJS.Signals): Promise<void> {
    const agent = this.#agent;
    if (!agent) return;
    const pid = this.agentPid();
    if (pid !== undefined) process.kill(pid, signal);
    await agent.exited;
    this.#agent = undefined;
  }

  agentPid(): number | undefined {
    return this.#agent && !this.#agent.exitInfo ? findDescendant(['spiffe-dev-agent.js', this.#dir]) : undefined;
  }

  async addFederation(): Promise<void> {
    for (const [id, uid] of [
      [SERVER_ID, 4242],
      [CLIENT_ID, 4243],
    ] as const) {
      const out = this.#cli([
        'entry',
        'create',
        '-spiffeID',
        id,
        '-parentID',
        AGENT_ID,
        '-selector',
        `unix:uid:${uid}`,
        '-federatesWith',
        `spiffe://${FEDERATED_TRUST_DOMAIN}`,
        '-x509SVIDTTL',
        String(this.#options.x509SvidTtlSeconds),
      ]);
      const m = /Entry ID\s*:\s*(\S+)/.exec(out);
      if (!m) throw new Error(`no entry ID in:\n${out}`);
      this.#federationEntries.push(m[1]!);
    }
  }

  async removeFederation(): Promise<void> {
    for (const id of this.#federationEntries.splice(0)) this.#cli(['entry', 'delete', '-entryID', id]);
  }

  logLines(): string[] {
    return [...this.#lines];
  }

  async stop(): Promise<void> {
    await this.#agent?.stop();
    this.#agent = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export interface SpireBackendOptions {
  x509SvidTtlSeconds: number;
  root: string;
}

/**
 * A real SPIRE server and agent (deploy/spire, `.spire/bin`), isolated in a temporary state
 * folder. The apps run as the seeds' server user; the in-process drivers run as this process's
 * user (root), registered by uid. SPIRE's JWT keys rotate on its own schedule and federation
 * needs a bundle endpoint, so neither is switched during the soak.
 */
export class SpireSoakBackend implements SoakBackend {
  readonly kind = 'spire' as const;
  readonly canFederate = false;
  readonly serverAddress = undefined;
  #spire: SpireAgent | undefined;
  #launch: ServerLaunch | undefined;
  #cleanup: () => void = () => {};
  readonly #options: SpireBackendOptions;

  constructor(options: SpireBackendOptions) {
    this.#options = options;
  }

  get clientAddress(): string {
    return `unix://${this.#spire!.socketPath}`;
  }

  describe(): Record<string, string | number> {
    return {
      agent: 'SPIRE v1.13.3 (.spire/bin, deploy/spire/start.sh, isolated state)',
      x509SvidTtlSeconds: this.#options.x509SvidTtlSeconds,
    };
  }

  async start(): Promise<void> {
    ensureUser(SERVER_USER);
    this.#spire = await SpireAgent.start(this.#options.root, { layout: 'isolated' });
    const staged = runnableRootFor(this.#options.root, [SERVER_USER]);
    this.#cleanup = staged.cleanup;
    const reg = this.#spire.registration;
    const create = (id: string, selector: string): void => {
      const r = spawnSync(
        reg.command,
        [
          'entry',
          'create',
          '-socketPath',
          reg.socket,
          '-spiffeID',
          id,
          '-parentID',
          AGENT_ID,
          '-selector',
          selector,
          '-x509SVIDTTL',
          String(this.#options.x509SvidTtlSeconds),
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`spire-server entry create failed:\n${r.stdout}${r.stderr}`);
    };
    create(SERVER_ID, `unix:user:${SERVER_USER}`);
    create(CLIENT_ID, `unix:uid:${process.getuid?.() ?? 0}`);
    this.#launch = { user: SERVER_USER, env: { SPIFFE_ENDPOINT_SOCKET: this.clientAddress }, root: staged.root, host: '127.0.0.1' };
  }

  serverLaunch(): ServerLaunch {
    return this.#launch!;
  }

  #stateDir(): string {
    // The isolated layout: <tmp>/public/api.sock and <tmp>/state.
    return join(this.#spire!.socketPath, '..', '..', 'state');
  }

  agentPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.#stateDir(), 'run', 'agent.pid'), 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  async killAgent(signal: NodeJS.Signals): Promise<void> {
    const pid = this.agentPid();
    if (pid === undefined) return;
    process.kill(pid, signal);
    const deadline = Date.now() + 15_000;
    while (this.agentPid() !== undefined && Date.now() < deadline) await sleep(50);
  }

  async startAgent(): Promise<void> {
    // start.sh reuses the running server and starts the agent from its cached SVID; it needs the
    // settings the server was started with (ports, sockets), read from the server's environment.
    const serverPid = Number(readFileSync(join(this.#stateDir(), 'run', 'server.pid'), 'utf8').trim());
    const env: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${serverPid}/environ`, 'utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && kv.startsWith('SPIRE_')) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (k.startsWith('SPIRE_')) delete clean[k];
    const r = spawnSync('bash', [join(this.#options.root, 'deploy', 'spire', 'start.sh')], { encoding: 'utf8', env: { ...clean, ...env } });
    if (r.status !== 0) throw new Error(`deploy/spire/start.sh (agent restart) failed:\n${r.stdout}${r.stderr}`);
  }

  async addFederation(): Promise<void> {}
  async removeFederation(): Promise<void> {}

  logLines(): string[] {
    const lines: string[] = [];
    for (const f of ['server.log', 'agent.log']) {
      try {
        lines.push(...readFileSync(join(this.#stateDir(), 'logs', f), 'utf8').split('\n'));
      } catch {
        // not there
      }
    }
    return lines;
  }

  async stop(): Promise<void> {
    await this.#spire?.stop();
    this.#cleanup();
  }
}
