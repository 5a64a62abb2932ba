/**
 * The soak on hosts that are really apart: test/multihost's topology (network namespaces; example.org
 * with two SPIRE servers on PostgreSQL and two agent hosts, partner.org federated). The apps run on
 * a-host1 as the server workload, the drivers on a-host2 as the client (root there, registered by
 * uid), so every request crosses from one host to another; the agent that is killed and restarted
 * is the drivers' own, on a-host2. Federation is in place for the whole run (the topology federates
 * both trust domains from the start), so it is not switched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_USER, SERVER_USER, ensureUser, runnableRootFor } from '@spiffe-node/harness';
import { Topology, type HostName } from '@spiffe-node/test-multihost';
import { CLIENT_ID, type ServerLaunch, type SoakBackend } from './backend.js';

export interface MultihostBackendOptions {
  /** example.org's default X509-SVID TTL (every workload's SVID rotates at half of it). */
  x509SvidTtlSeconds: number;
  /** The repository root (apps/). */
  root: string;
}

const APP_HOST: HostName = 'a-host1';
const DRIVER_HOST: HostName = 'a-host2';

export class MultihostSoakBackend implements SoakBackend {
  readonly kind = 'multihost' as const;
  readonly canFederate = false;
  readonly serverAddress = undefined;
  readonly #options: MultihostBackendOptions;
  readonly #topology = new Topology();
  #cleanupStage: () => void = () => {};
  #launch: ServerLaunch | undefined;
  /** Tears the topology down on an interrupt, so that no namespace outlives the soak. */
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    void this.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  constructor(options: MultihostBackendOptions) {
    this.#options = options;
  }

  get clientAddress(): string {
    return `unix://${this.#topology.hosts[DRIVER_HOST].socketPath}`;
  }

  get driverNetns(): string {
    return this.#topology.hosts[DRIVER_HOST].netns;
  }

  describe(): Record<string, string | number> {
    return {
      agent: `SPIRE v1.13.3 on test/multihost's topology: apps on ${APP_HOST}, drivers on ${DRIVER_HOST}, two example.org servers on PostgreSQL, partner.org federated`,
      x509SvidTtlSeconds: this.#options.x509SvidTtlSeconds,
    };
  }

  async start(): Promise<void> {
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    ensureUser(SERVER_USER);
    ensureUser(CLIENT_USER);
    await this.#topology.up(undefined, { x509SvidTtlSeconds: this.#options.x509SvidTtlSeconds });
    const staged = runnableRootFor(this.#options.root, [SERVER_USER]);
    this.#cleanupStage = staged.cleanup;
    // The drivers run as root on a-host2: the client identity for uid 0 there.
    await this.#topology.serverCli(
      'a-server',
      ['entry', 'create'],
      [
        '-parentID',
        `spiffe://example.org/host/${DRIVER_HOST}`,
        '-spiffeID',
        CLIENT_ID,
        '-selector',
        `unix:uid:${process.getuid?.() ?? 0}`,
        '-federatesWith',
        'partner.org',
      ],
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      const context = await this.#topology.x509Context(DRIVER_HOST, 'root').catch(() => undefined);
      if (context?.svids.some((s) => s.id === CLIENT_ID)) break;
      if (Date.now() > deadline) throw new Error(`root on ${DRIVER_HOST} got no X509-SVID for ${CLIENT_ID} within 60 s`);
      await sleep(500);
    }
    const app = this.#topology.hosts[APP_HOST];
    this.#launch = {
      user: SERVER_USER,
      env: { SPIFFE_ENDPOINT_SOCKET: `unix://${app.socketPath}` },
      root: staged.root,
      host: app.address,
      netns: app.netns,
    };
  }

  serverLaunch(): ServerLaunch {
    if (!this.#launch) throw new Error('the multi-host backend is not started');
    return this.#launch;
  }

  agentPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.#topology.runDir, DRIVER_HOST, 'agent', 'pid'), 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  async killAgent(signal: NodeJS.Signals): Promise<void> {
    await this.#topology.fault(signal === 'SIGKILL' ? 'agent-kill' : 'agent-stop', DRIVER_HOST);
  }

  async startAgent(): Promise<void> {
    await this.#topology.fault('agent-start', DRIVER_HOST);
  }

  async addFederation(): Promise<void> {}
  async removeFederation(): Promise<void> {}

  logLines(): string[] {
    const lines: string[] = [];
    for (const file of [
      'a-host1/agent/agent.log',
      'a-host2/agent/agent.log',
      'a-server/server/server.log',
      'a-server2/server/server.log',
    ]) {
      try {
        lines.push(...readFileSync(join(this.#topology.runDir, file), 'utf8').split('\n'));
      } catch {
        // not there (yet)
      }
    }
    return lines;
  }

  async stop(): Promise<void> {
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
    await this.#topology.down();
    this.#cleanupStage();
  }
}
