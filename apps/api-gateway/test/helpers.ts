/**
 * Test helpers: the dev agent as a process with one Workload API socket per identity, the
 * gateway and the employee service as processes (from source, through tsx), and an HTTPS client
 * that presents any certificate and authenticates the gateway by its SPIFFE ID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { devAgentDir, register, startWorkload, type AgentHandle, type Workload } from '@spiffe-node/harness';

/** The app's folder. */
export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository's folder. */
export const REPO_ROOT = join(APP_DIR, '..', '..');

export const GATEWAY_ID = 'spiffe://example.org/api-gateway';
export const UPSTREAM_ID = 'spiffe://example.org/employee-service';
export const CLIENT_ID = 'spiffe://example.org/client';
export const STRANGER_ID = 'spiffe://example.org/stranger';
export const FRONT_PROXY_ID = 'spiffe://example.org/front-proxy';

const IDENTITIES: Record<string, string> = {
  gateway: GATEWAY_ID,
  upstream: UPSTREAM_ID,
  client: CLIENT_ID,
  stranger: STRANGER_ID,
  'front-proxy': FRONT_PROXY_ID,
};

/** An identity of the tests. */
export type Who = keyof typeof IDENTITIES;

/**
 * The dev agent as a child process, every identity on its own socket; entries come from the
 * app's register.sh (gateway, upstream, client) and the CLI (stranger, front proxy).
 */
export class TestAgent {
  readonly dir = mkdtempSync(join(tmpdir(), 'api-gateway-test-'));
  readonly cli = join(devAgentDir(), 'bin', 'spire-server');
  readonly admin = join(this.dir, 'private', 'admin.sock');
  #process: Workload | undefined;

  socket(who: Who): string {
    return `unix://${join(this.dir, 'public', `${who}.sock`)}`;
  }

  async start(): Promise<void> {
    const args = [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      join(this.dir, 'public', 'api.sock'),
      '-adminSocketPath',
      this.admin,
      '-dataDir',
      join(this.dir, 'data'),
      '-trustDomain',
      'example.org',
    ];
    for (const [who, id] of Object.entries(IDENTITIES)) args.push('-identitySocket', `${id}=${join(this.dir, 'public', `${who}.sock`)}`);
    const agent = startWorkload({ name: 'dev-agent', command: process.execPath, args });
    this.#process = agent;
    const deadline = Date.now() + 20_000;
    while (spawnSync(this.cli, ['healthcheck', '-socketPath', this.admin]).status !== 0) {
      if (agent.exitInfo !== undefined || Date.now() > deadline) throw new Error(`the dev agent did not start:\n${agent.output()}`);
      await sleep(50);
    }
    const handle: AgentHandle = {
      kind: 'dev',
      socketPath: join(this.dir, 'public', 'api.sock'),
      registration: { command: this.cli, socket: this.admin },
      as: () => ({ env: {} }),
      stop: async () => {},
    };
    register(REPO_ROOT, 'api-gateway', handle);
    for (const id of [STRANGER_ID, FRONT_PROXY_ID]) {
      const r = spawnSync(
        this.cli,
        [
          'entry',
          'create',
          '-socketPath',
          this.admin,
          '-spiffeID',
          id,
          '-parentID',
          'spiffe://example.org/host',
          '-selector',
          'unix:uid:65534',
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`entry create ${id} failed: ${r.stdout}${r.stderr}`);
    }
  }

  /** The trust bundle (PEM), as `spire-server bundle show` prints it. */
  bundlePem(): string {
    const r = spawnSync(this.cli, ['bundle', 'show', '-socketPath', this.admin], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bundle show failed: ${r.stderr}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    await this.#process?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One of the app's programs as a child process (from source, through tsx), its output kept line
 * by line so that a test can wait for a line printed after a given point.
 */
export class AppProcess {
  readonly name: string;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #exitCode: number | null | undefined;
  #waiters: Array<() => void> = [];

  constructor(program: 'gateway' | 'upstream', env: Record<string, string | undefined>, args: string[]) {
    this.name = program;
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, SPIFFE_STARTUP_TIMEOUT: '20', ...env })) if (v !== undefined) childEnv[k] = v;
    this.#child = spawn(process.execPath, ['--import', 'tsx', join(APP_DIR, 'src', `${program}.ts`), ...args], {
      cwd: APP_DIR,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) this.#push(line);
      });
      stream.on('end', () => {
        if (pending !== '') this.#push(pending);
        pending = '';
      });
    }
    this.exited = new Promise((resolve) => {
      this.#child.on('close', (code) => {
        this.#exitCode = code;
        resolve(code);
        this.#notify();
      });
    });
  }

  #push(line: string): void {
    this.lines.push(line);
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** All output so far. */
  output(): string {
    return this.lines.join('\n');
  }

  /** The last lines of output, for failure messages. */
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Sends a signal to the process. */
  signal(sig: NodeJS.Signals): void {
    this.#child.kill(sig);
  }

  /** The first line at index `from` or later matching `pattern`. */
  waitForLine(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.tail()}`));
      }, timeoutMs);
      let seen = from;
      const check = (): void => {
        for (; seen < this.lines.length; seen++) {
          if (pattern.test(this.lines[seen]!)) {
            clearTimeout(timer);
            resolve(this.lines[seen]!);
            return;
          }
        }
        if (this.#exitCode !== undefined) {
          clearTimeout(timer);
          reject(new Error(`${this.name}: exited (${this.#exitCode}) before a line matching ${pattern}; last lines:\n${this.tail()}`));
          return;
        }
        this.#waiters.push(check);
      };
      check();
    });
  }

  /** Waits for the "listening on https://host:port as ..." line and returns the port. */
  async port(): Promise<number> {
    const line = await this.waitForLine(/listening on https:\/\/[^ ]+:\d+ as /);
    return Number(/:(\d+) as /.exec(line)![1]);
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Writes a file, creating its folder. */
export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A response as the tests read it. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** What a test request presents. */
export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Client certificate chain (PEM) and key (PEM). */
  cert?: string;
  key?: string;
  /** The server's expected SPIFFE ID (default: the gateway's). */
  serverId?: string;
}

/**
 * One HTTPS request: the server authenticated by the trust bundle and its URI SAN, the client
 * presenting `cert`/`key` when given. No connection reuse.
 */
export function call(bundlePem: string, port: number, path: string, options: CallOptions = {}): Promise<Reply> {
  const serverId = options.serverId ?? GATEWAY_ID;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ca: bundlePem,
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        agent: false,
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          const uris = (new X509Certificate(cert.raw).subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:'));
          return uris.length === 1 && uris[0] === `URI:${serverId}` ? undefined : new Error(`server is ${uris.join(' ')}, not ${serverId}`);
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
