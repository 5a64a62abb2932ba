/**
 * A real SPIRE server and agent, started and stopped by deploy/spire/start.sh and stop.sh, as an
 * {@link AgentHandle}: the apps register through their own register.sh with the real
 * `spire-server`, and run as the seeds' Unix users against the agent's public socket.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@spiffe-node/test-kit';
import type { AgentHandle, Identity, WorkloadEnv } from './agents.js';
import { CLIENT_USER, SERVER_USER } from './users.js';

/** Whether the pinned SPIRE binaries are installed in the repository (deploy/spire/install.sh). */
export function spireInstalled(root: string): boolean {
  return existsSync(join(root, '.spire', 'bin', 'spire-server')) && existsSync(join(root, '.spire', 'bin', 'spire-agent'));
}

export interface SpireOptions {
  /**
   * `isolated` (the tests): a temporary state folder, free ports and private sockets, removed on
   * stop. `default` (the demo): deploy/spire's defaults, the agent at /tmp/spire-agent/public/api.sock.
   */
  layout?: 'isolated' | 'default';
}

/** A SPIRE server + agent started with deploy/spire/start.sh. */
export class SpireAgent implements AgentHandle {
  readonly kind = 'spire' as const;
  readonly socketPath: string;
  readonly registration: { command: string; socket: string };
  readonly #root: string;
  readonly #env: Record<string, string>;
  readonly #tempDir: string | undefined;

  private constructor(root: string, env: Record<string, string>, tempDir: string | undefined) {
    this.#root = root;
    this.#env = env;
    this.#tempDir = tempDir;
    const vars = this.#readEnvFile();
    this.socketPath = vars.SPIRE_AGENT_SOCKET ?? '/tmp/spire-agent/public/api.sock';
    this.registration = {
      command: vars.SPIRE_SERVER ?? join(root, '.spire', 'bin', 'spire-server'),
      socket: vars.SPIRE_SERVER_SOCKET ?? '/tmp/spire-server/private/api.sock',
    };
  }

  /** Starts SPIRE (or reuses the one this state folder runs) and waits until both are healthy. */
  static async start(root: string, options: SpireOptions = {}): Promise<SpireAgent> {
    if (!spireInstalled(root)) {
      throw new Error('SPIRE is not installed in this checkout: run `bash deploy/spire/install.sh` first');
    }
    const env: Record<string, string> = {};
    let tempDir: string | undefined;
    if (options.layout === 'isolated') {
      tempDir = mkdtempSync(join(tmpdir(), 'spiffe-node-spire-'));
      // The workload users must reach the agent socket below it.
      spawnSync('chmod', ['0755', tempDir]);
      mkdirSync(join(tempDir, 'public'), { mode: 0o755 });
      Object.assign(env, {
        SPIRE_STATE_DIR: join(tempDir, 'state'),
        SPIRE_SERVER_SOCKET: join(tempDir, 'private', 'server.sock'),
        SPIRE_AGENT_SOCKET: join(tempDir, 'public', 'api.sock'),
        SPIRE_SERVER_PORT: String(await freePort()),
        SPIRE_SERVER_HEALTH_PORT: String(await freePort()),
        SPIRE_AGENT_HEALTH_PORT: String(await freePort()),
      });
    }
    const r = spawnSync('bash', [join(root, 'deploy', 'spire', 'start.sh')], {
      encoding: 'utf8',
      env: { ...cleanEnv(), ...env },
    });
    if (r.status !== 0) {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      throw new Error(`deploy/spire/start.sh failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    }
    return new SpireAgent(root, env, tempDir);
  }

  #readEnvFile(): Record<string, string> {
    const stateDir = this.#env.SPIRE_STATE_DIR ?? join(this.#root, '.spire', 'state');
    const file = join(stateDir, 'run', 'spire.env');
    const vars: Record<string, string> = {};
    if (!existsSync(file)) return vars;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (m) vars[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
    }
    return vars;
  }

  as(identity: Identity): WorkloadEnv {
    return {
      user: identity === 'server' ? SERVER_USER : CLIENT_USER,
      env: { SPIFFE_ENDPOINT_SOCKET: `unix://${this.socketPath}` },
    };
  }

  async stop(): Promise<void> {
    spawnSync('bash', [join(this.#root, 'deploy', 'spire', 'stop.sh')], {
      encoding: 'utf8',
      env: { ...cleanEnv(), ...this.#env },
    });
    if (this.#tempDir) rmSync(this.#tempDir, { recursive: true, force: true });
  }
}

/** The environment without SPIRE_* settings inherited from a shell that sourced spire.env. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('SPIRE_')) delete env[key];
  return env;
}

/** The SPIRE of deploy/spire with its default layout, for the demo. */
export function spireAgent(root: string): Promise<SpireAgent> {
  return SpireAgent.start(root, { layout: 'default' });
}
