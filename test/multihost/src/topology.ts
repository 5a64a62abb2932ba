/**
 * The multi-host topology of topology.sh as a value: its hosts (network namespaces), their
 * addresses and Workload API sockets. `up` builds it, `down` removes it (also after a failed or
 * interrupted `up`: topology.sh tears down what it built, and `down` is idempotent).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitCertificates } from './key-ids.js';

/** The hosts of the topology (one network namespace each). */
export type HostName = 'a-server' | 'a-server2' | 'a-db' | 'a-host1' | 'a-host2' | 'b-host';

/** What topology.sh can do to a running topology (see its header). */
export type Fault =
  | 'server-stop'
  | 'server-kill'
  | 'server-start'
  | 'agent-stop'
  | 'agent-kill'
  | 'agent-start'
  | 'link-down'
  | 'link-up'
  | 'cut-servers'
  | 'restore-servers'
  | 'netem'
  | 'throttle'
  | 'loss';

export interface Host {
  name: HostName;
  /** The network namespace that is this host. */
  netns: string;
  /** Its address on the topology's private network. */
  address: string;
  /** Its SPIRE agent's Workload API socket (only on a-host1, a-host2, b-host). */
  socketPath: string;
}

/** topology.sh, next to src/ and dist/. */
const TOPOLOGY_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'topology.sh');

/** Runs topology.sh; resolves with its stdout, rejects with its output on a non-zero exit. */
function runScript(
  args: string[],
  onLine?: (line: string) => void,
  onSpawn?: (child: ChildProcess) => void,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [TOPOLOGY_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (onLine) for (const line of c.split('\n')) if (line) onLine(line);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`test/multihost/topology.sh ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr}`));
    });
  });
}

/** The SPIRE server binary (deploy/spire/install.sh). */
const SPIRE_SERVER = process.env.SPIRE_BIN_DIR
  ? join(process.env.SPIRE_BIN_DIR, 'spire-server')
  : join(dirname(TOPOLOGY_SCRIPT), '..', '..', '.spire', 'bin', 'spire-server');

/** Runs a command; resolves with its stdout, rejects with its output on a non-zero exit. */
function runCommand(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** What a workload on a host gets from its agent: its SVIDs, and the federated bundles. */
export interface X509Context {
  svids: Array<{ id: string; chain: X509Certificate[]; bundle: X509Certificate[] }>;
  /** Per trust domain ID (`spiffe://partner.org`). */
  federated: Record<string, X509Certificate[]>;
}

export class Topology {
  /** The run directory: configurations, logs, sockets; removed by {@link Topology.down}. */
  readonly runDir: string;
  #hosts: Record<HostName, Host> | undefined;
  /** topology.sh up while it runs. */
  #building: ChildProcess | undefined;
  #down: Promise<void> | undefined;

  /** A topology not built yet, with its own run directory. */
  constructor() {
    const parent = mkdtempSync(join(tmpdir(), 'spiffe-node-multihost-'));
    // The workload users reach their agent's socket below it.
    chmodSync(parent, 0o755);
    this.runDir = join(parent, 'run');
  }

  /** The hosts, once {@link Topology.up} resolved. */
  get hosts(): Record<HostName, Host> {
    if (!this.#hosts) throw new Error('the topology is not up: await up() first');
    return this.#hosts;
  }

  /**
   * Builds the topology (namespaces named after a prefix unique to this run) and waits until every
   * workload holds its SVID. `onLine` gets topology.sh's progress. On failure it has torn down
   * what it built.
   */
  async up(onLine?: (line: string) => void, options: { x509SvidTtlSeconds?: number } = {}): Promise<void> {
    const env: Record<string, string> = options.x509SvidTtlSeconds ? { MH_X509_SVID_TTL: String(options.x509SvidTtlSeconds) } : {};
    const out = await runScript(['up', this.runDir], onLine, (child) => (this.#building = child), env).finally(() => {
      this.#building = undefined;
    });
    const vars: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^(MH_[A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) vars[m[1]!] = m[2]!;
    }
    const host = (name: HostName): Host => {
      const key = name.toUpperCase().replace('-', '_');
      return { name, netns: vars[`MH_NS_${key}`]!, address: vars[`MH_ADDR_${key}`]!, socketPath: vars[`MH_SOCKET_${key}`]! };
    };
    const names: HostName[] = ['a-server', 'a-server2', 'a-db', 'a-host1', 'a-host2', 'b-host'];
    this.#hosts = Object.fromEntries(names.map((n) => [n, host(n)])) as Record<HostName, Host>;
  }

  /** Does `fault` to `host` (topology.sh <fault> <run-dir> <host> [arg]); resolves when done. */
  async fault(fault: Fault, host: HostName, arg?: string): Promise<void> {
    await runScript([fault, this.runDir, host, ...(arg === undefined ? [] : [arg])]);
  }

  /** Runs `spire-server <args> -socketPath <host's>` on a server host; resolves with its output. */
  serverCli(host: 'a-server' | 'a-server2' | 'b-host', command: readonly string[], args: string[]): Promise<string> {
    return runCommand('ip', [
      'netns',
      'exec',
      this.hosts[host].netns,
      SPIRE_SERVER,
      ...command,
      '-socketPath',
      join(this.runDir, host, 'server', 'api.sock'),
      ...args,
    ]);
  }

  /** `spire-agent api fetch x509` as `user` on `host`: its output, or undefined when it got nothing. */
  async fetchX509(host: HostName, user: string): Promise<string | undefined> {
    const where = this.hosts[host];
    const agent = join(this.runDir, 'bin', 'spire-agent');
    return runCommand('ip', [
      'netns',
      'exec',
      where.netns,
      'runuser',
      '-u',
      user,
      '--',
      agent,
      'api',
      'fetch',
      'x509',
      '-socketPath',
      where.socketPath,
      '-timeout',
      '10s',
    ]).catch(() => undefined);
  }

  /** `spire-agent api <args>` as `user` on `host`, against its agent; resolves with its output. */
  agentApi(host: HostName, user: string, args: string[]): Promise<string> {
    const where = this.hosts[host];
    const agent = join(this.runDir, 'bin', 'spire-agent');
    return runCommand('ip', [
      'netns',
      'exec',
      where.netns,
      'runuser',
      '-u',
      user,
      '--',
      agent,
      'api',
      ...args,
      '-socketPath',
      where.socketPath,
    ]);
  }

  /**
   * The X509-SVIDs and bundles `user` on `host` gets (`spire-agent api fetch x509 -output json`),
   * as certificates; the private keys in the answer are dropped here.
   */
  async x509Context(host: HostName, user: string): Promise<X509Context> {
    const out = await this.agentApi(host, user, ['fetch', 'x509', '-output', 'json', '-timeout', '10s']);
    let answer: unknown;
    try {
      answer = JSON.parse(out);
    } catch {
      // Not the parser's message: it quotes the text, and the answer holds private keys.
      throw new Error(`spire-agent api fetch x509 -output json as ${user} on ${host} printed something that is not JSON`);
    }
    const parsed = answer as Array<{
      svids?: Array<{ spiffe_id: string; x509_svid: string; bundle: string }>;
      federated_bundles?: Record<string, string>;
    }>;
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    const svids = (first?.svids ?? []).map((s) => ({
      id: s.spiffe_id,
      chain: splitCertificates(Buffer.from(s.x509_svid, 'base64')),
      bundle: splitCertificates(Buffer.from(s.bundle, 'base64')),
    }));
    const federated: Record<string, X509Certificate[]> = {};
    for (const [td, der] of Object.entries(first?.federated_bundles ?? {})) federated[td] = splitCertificates(Buffer.from(der, 'base64'));
    return { svids, federated };
  }

  /** The X509-SVID chain of `host`'s agent itself, as its data dir keeps it. */
  agentSvid(host: HostName): X509Certificate[] {
    const data = JSON.parse(readFileSync(join(this.runDir, host, 'agent', 'data', 'agent-data.json'), 'utf8')) as { svid?: string[] };
    return (data.svid ?? []).map((der) => new X509Certificate(Buffer.from(der, 'base64')));
  }

  /**
   * Stops every process of the topology, deletes its namespaces and its run directory. Safe at any
   * time: while `up` runs it is stopped first (its trap removes what it built so far).
   */
  down(): Promise<void> {
    this.#down ??= this.#teardown();
    return this.#down;
  }

  async #teardown(): Promise<void> {
    const building = this.#building;
    if (building && building.exitCode === null) {
      const exited = new Promise((resolve) => building.once('close', resolve));
      building.kill('SIGTERM');
      await exited;
    }
    await runScript(['down', this.runDir]);
    rmSync(dirname(this.runDir), { recursive: true, force: true });
  }
}
