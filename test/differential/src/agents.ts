/**
 * The two agents the differential tests compare: the development agent (as a child process, with
 * a federated trust domain) and a real SPIRE server + agent (deploy/spire/start.sh), each with its
 * `spire-server` CLI (SPIRE's binary, or the dev agent's stand-in).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpireAgent, devAgentDir, isRoot, repoRoot, spireInstalled, startWorkload, type Workload } from '@spiffe-node/harness';

export type AgentKind = 'dev' | 'spire';

/** The trust domain the dev agent federates with (SPIRE would need a second server for one). */
export const PARTNER_TD = 'partner.org';

/** What the tests need of an agent. */
export interface DiffAgent {
  readonly kind: AgentKind;
  /** The public Workload API socket. */
  readonly socketPath: string;
  /** `spire-server` (SPIRE's, or the dev agent's CLI) and its -socketPath. */
  readonly registration: { command: string; socket: string };
  /** Extra output for failure messages (the dev agent's log). */
  output(): string;
  stop(): Promise<void>;
}

/** Whether the differential tests may use SPIRE here, or why not. */
export function spireSkipReason(): string | undefined {
  const required = !['', '0', 'false'].includes(process.env.SPIFFE_REQUIRE_SPIRE ?? '');
  if (!isRoot()) return 'SPIRE attests workloads by Unix user, and the unregistered caller is another user: needs root';
  if (!spireInstalled(repoRoot()) && !required) {
    return 'SPIRE is not installed (bash deploy/spire/install.sh); set SPIFFE_REQUIRE_SPIRE=1 to fail instead';
  }
  return undefined;
}

/** Why the dev agent half cannot run here, if it cannot. */
export function devSkipReason(): string | undefined {
  return isRoot() ? undefined : 'the unregistered caller of these tests is another Unix user (nobody): needs root';
}

/** The dev agent run as `spiffe-dev-agent run`, in a private temporary folder. */
class DevAgentProcess implements DiffAgent {
  readonly kind = 'dev' as const;
  readonly socketPath: string;
  readonly registration: { command: string; socket: string };
  readonly #dir: string;
  readonly #process: Workload;

  private constructor(dir: string, process_: Workload) {
    this.#dir = dir;
    this.#process = process_;
    this.socketPath = join(dir, 'public', 'api.sock');
    this.registration = { command: join(devAgentDir(), 'bin', 'spire-server'), socket: join(dir, 'private', 'admin.sock') };
  }

  static async start(): Promise<DevAgentProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'spiffe-differential-dev-'));
    spawnSync('chmod', ['0755', dir]);
    const w = startWorkload({
      name: 'dev-agent',
      command: process.execPath,
      args: [
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
        '-federatedTrustDomain',
        PARTNER_TD,
      ],
    });
    const agent = new DevAgentProcess(dir, w);
    const deadline = Date.now() + 20_000;
    while (!(existsSync(agent.socketPath) && agent.#healthy())) {
      if (w.exitInfo !== undefined || Date.now() > deadline) {
        await agent.stop();
        throw new Error(`the dev agent did not become healthy:\n${w.output()}`);
      }
      await sleep(100);
    }
    return agent;
  }

  #healthy(): boolean {
    return spawnSync(this.registration.command, ['healthcheck', '-socketPath', this.registration.socket]).status === 0;
  }

  output(): string {
    return this.#process.output();
  }

  async stop(): Promise<void> {
    await this.#process.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

class SpireDiffAgent implements DiffAgent {
  readonly kind = 'spire' as const;
  readonly #spire: SpireAgent;
  constructor(spire: SpireAgent) {
    this.#spire = spire;
  }
  get socketPath(): string {
    return this.#spire.socketPath;
  }
  get registration(): { command: string; socket: string } {
    return this.#spire.registration;
  }
  output(): string {
    return '';
  }
  stop(): Promise<void> {
    return this.#spire.stop();
  }
}

/** Starts the agent of `kind`. */
export async function startAgent(kind: AgentKind): Promise<DiffAgent> {
  if (kind === 'dev') return DevAgentProcess.start();
  return new SpireDiffAgent(await SpireAgent.start(repoRoot(), { layout: 'isolated' }));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `spire-server <command> <subcommand> -socketPath <socket> ...args` with the agent's CLI.
 */
export function serverCli(agent: DiffAgent, command: [string, string], args: string[] = []): CliResult {
  const r = spawnSync(agent.registration.command, [...command, '-socketPath', agent.registration.socket, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
