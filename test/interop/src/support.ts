/**
 * What the interop tests share: the agent under test (dev agent or SPIRE) with the seeds' entries
 * plus one for this test process, the workload processes (go-spiffe peers and the Node apps) run
 * as the seeds' Unix users, and small waits on their output.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLIENT_USER,
  DevAgent,
  SERVER_USER,
  SpireAgent,
  ensureUser,
  isRoot,
  register,
  repoRoot,
  runnableRootFor,
  spireInstalled,
  startWorkload,
  type AgentHandle,
  type Identity,
  type Workload,
} from '@spiffe-node/harness';
import { WorkloadApiClient } from '@spiffe-node/spiffe';
import { buildGoPeers, goVersion, prerequisitesRequired, type GoPeer, type GoPeers } from './go-peers.js';

export const SERVER_ID = 'spiffe://example.org/server';
export const CLIENT_ID = 'spiffe://example.org/client';
/** The identity registered for this test process (its uid), so it can read the agent's bundles. */
const TEST_PROCESS_ID = 'spiffe://example.org/interop-test';
/** A Unix user with no registration entry. */
const UNREGISTERED_USER = 'nobody';

export type AgentKind = 'dev' | 'spire';
/** The seeds' identities, or a caller the agent does not know. */
export type Caller = Identity | 'unregistered';

/** Why a suite on `kind` cannot run here, or undefined when it can (or must, and will fail). */
export function skipReason(kind: AgentKind): string | undefined {
  const required = prerequisitesRequired();
  if (goVersion() === undefined && !required) {
    return 'Go is not installed, so the go-spiffe peers cannot be built (set SPIFFE_REQUIRE_SPIRE=1 to fail instead)';
  }
  if (kind === 'spire') {
    if (!isRoot()) return 'SPIRE attests workloads by Unix user: running them as the seed users needs root';
    if (!spireInstalled(repoRoot()) && !required) {
      return 'SPIRE is not installed (bash deploy/spire/install.sh); set SPIFFE_REQUIRE_SPIRE=1 to fail instead';
    }
  }
  return undefined;
}

/** Creates a registration entry with the agent's `spire-server` CLI (SPIRE's or ours). */
function createEntry(agent: AgentHandle, spiffeId: string, selectors: string[], extra: string[] = []): string {
  const args = [
    'entry',
    'create',
    '-socketPath',
    agent.registration.socket,
    '-parentID',
    'spiffe://example.org/host',
    '-spiffeID',
    spiffeId,
    ...selectors.flatMap((s) => ['-selector', s]),
    ...extra,
  ];
  const r = spawnSync(agent.registration.command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`entry create ${spiffeId} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Waits until the agent serves `expectedId` to this process. SPIRE's agent learns new entries at
 * its next sync (about 5 s); until then it answers PermissionDenied.
 */
async function waitForOwnIdentity(socketPath: string, expectedId: string, timeoutMs = 30_000): Promise<void> {
  const client = new WorkloadApiClient({ address: `unix://${socketPath}`, logger: quietLogger });
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      try {
        const svid = await client.fetchX509Svid();
        if (svid.id.toString() === expectedId) return;
        last = `got ${svid.id}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`the agent did not issue ${expectedId} within ${timeoutMs} ms: ${last}`);
      await sleep(250);
    }
  } finally {
    client.close();
  }
}

/** A logger that keeps the library's retries out of the test output. */
export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The running agent of a suite, its go-spiffe peers and the processes started against it. */
export class InteropEnv {
  readonly kind: AgentKind;
  readonly agent: AgentHandle;
  readonly peers: GoPeers;
  /** A root from which the workload users can run the built Node apps. */
  readonly appRoot: string;
  readonly asUsers: boolean;
  readonly #cleanupStage: () => void;
  readonly #workloads = new Set<Workload>();

  private constructor(kind: AgentKind, agent: AgentHandle, peers: GoPeers, appRoot: string, asUsers: boolean, cleanupStage: () => void) {
    this.kind = kind;
    this.agent = agent;
    this.peers = peers;
    this.appRoot = appRoot;
    this.asUsers = asUsers;
    this.#cleanupStage = cleanupStage;
  }

  /**
   * Builds the peers, starts the agent, registers the seeds' entries (apps/mtls-echo/register.sh;
   * the other apps register the same two) and one for this process, and waits until they are served.
   */
  static async start(kind: AgentKind): Promise<InteropEnv> {
    const root = repoRoot();
    const asUsers = isRoot();
    if (asUsers) {
      ensureUser(SERVER_USER);
      ensureUser(CLIENT_USER);
    }
    const peers = await buildGoPeers();
    const stage = asUsers ? runnableRootFor(root, [SERVER_USER, CLIENT_USER]) : { root, cleanup: () => {} };
    let agent: AgentHandle | undefined;
    try {
      if (kind === 'dev') {
        const dev = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
        await dev.start();
        agent = dev;
      } else {
        agent = await SpireAgent.start(root, { layout: 'isolated' });
      }
      register(root, 'mtls-echo', agent);
      createEntry(agent, TEST_PROCESS_ID, [`unix:uid:${process.getuid?.() ?? 0}`]);
      // Registered last: once it is served, the entries before it are too (one sync carries all).
      await waitForOwnIdentity(agent.socketPath, TEST_PROCESS_ID);
      return new InteropEnv(kind, agent, peers, stage.root, asUsers, stage.cleanup);
    } catch (err) {
      await agent?.stop();
      stage.cleanup();
      peers.cleanup();
      throw err;
    }
  }

  /** How to run a process as `caller`: its Unix user (or identity socket) and endpoint. */
  #how(caller: Caller): { user?: string | undefined; env: Record<string, string> } {
    if (caller === 'unregistered') {
      if (!this.asUsers) throw new Error('an unregistered caller needs another Unix user: run as root');
      return { user: UNREGISTERED_USER, env: { SPIFFE_ENDPOINT_SOCKET: `unix://${this.agent.socketPath}` } };
    }
    return this.agent.as(caller);
  }

  #track(w: Workload): Workload {
    this.#workloads.add(w);
    void w.exited.then(() => this.#workloads.delete(w));
    return w;
  }

  /** Starts a go-spiffe peer as `caller`. */
  go(name: GoPeer, caller: Caller, args: string[] = [], env: Record<string, string> = {}): Workload {
    const how = this.#how(caller);
    return this.#track(
      startWorkload({
        name: `go/${name} as ${caller}`,
        command: this.peers.path(name),
        args,
        user: how.user,
        env: { ...env, ...how.env },
        cwd: '/',
      }),
    );
  }

  /**
   * Starts one of the Node example apps (apps/<app>/dist/<role>.js) as `caller`; servers listen
   * on 127.0.0.1 only (SERVER_HOST).
   */
  app(app: string, role: string, caller: Caller, args: string[] = [], env: Record<string, string> = {}): Workload {
    const how = this.#how(caller);
    return this.#track(
      startWorkload({
        name: `node/${app}/${role} as ${caller}`,
        command: process.execPath,
        args: [join(this.appRoot, 'apps', app, 'dist', `${role}.js`), ...args],
        user: how.user,
        env: { SERVER_HOST: '127.0.0.1', ...env, ...how.env },
        cwd: join(this.appRoot, 'apps', app),
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#workloads].map((w) => w.stop()));
    await this.agent.stop();
    this.#cleanupStage();
    this.peers.cleanup();
  }
}

/** Runs a workload to its end; its exit code and output. */
export async function finish(w: Workload, timeoutMs = 60_000): Promise<{ code: number | null; output: string; stdout: string[] }> {
  const info = await w.waitForExit(timeoutMs);
  return { code: info.code, output: w.output(), stdout: w.stdout() };
}

/** Waits for a line matching `pattern` among the lines of `w` from index `from` on. */
export async function lineAfter(w: Workload, from: number, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = w.lines.slice(from).find((l) => pattern.test(l.line));
    if (hit) return hit.line;
    if (w.exitInfo || Date.now() > deadline) {
      throw new Error(
        `${w.name}: no line matching ${pattern} ${w.exitInfo ? `(it exited: ${JSON.stringify(w.exitInfo)})` : `within ${timeoutMs} ms`}; output:\n${w.output()}`,
      );
    }
    await sleep(50);
  }
}

/** Lines of `w` from index `from` on, one string. */
export function outputAfter(w: Workload, from: number): string {
  return w.lines
    .slice(from)
    .map((l) => l.line)
    .join('\n');
}

/** A regex source that matches `text` literally. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
