/**
 * Test fixtures of the example: certificates written as files, and the server, the client and
 * other programs run as real processes. Test-only.
 *
 * @module
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { TestCa, type TestSvid } from '../../../../packages/spiffe/src/testing/ca.js';
export { FakeAgent, x509SvidMessage } from '../../../../packages/spiffe/src/workloadapi/testing/fake-agent.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The app's directory. */
export const APP_DIR = join(here, '..', '..');
const TSX = import.meta.resolve('tsx');

/** A temporary directory and its removal. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `files` (name → contents) into `dir`, creating it; keys get mode 0600. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
  return dir;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  exited: Promise<RunResult>;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<RunResult>;
}

function track(child: ChildProcess, what: string): Running {
  let out = '';
  let err = '';
  let done = false;
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<RunResult>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      setImmediate(() => {
        resolve({ code, stdout: out, stderr: err });
        for (const w of [...waiters]) w();
      });
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = out.match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`${what} exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} from ${what}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Starts one of the example's programs (`server` or `request`) from its source. */
export function startApp(program: 'server' | 'request', args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', TSX, join(APP_DIR, 'src', `${program}.ts`), ...args], {
    cwd: APP_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child, program);
}

/** Runs any program to completion. */
export async function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, cmd);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts any program, collecting its output. */
export function start(cmd: string, args: string[], options: { cwd?: string } = {}): Running {
  return track(spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }), cmd);
}

/** A free TCP port on 127.0.0.1 is picked by the server (port 0); this reads it from its first line. */
export async function startServer(args: string[]): Promise<{ server: Running; port: number; url: string }> {
  const server = startApp('server', ['--port', '0', '--host', '127.0.0.1', ...args]);
  const m = await server.waitFor(/Example mTLS app listening at https:\/\/localhost:(\d+)\n/);
  const port = Number(m[1]);
  return { server, port, url: `https://localhost:${port}/` };
}

const BIN = join(APP_DIR, 'node_modules', '.bin');

/** The `spiffe` command (the CLI package's build). */
export const SPIFFE_BIN = join(BIN, 'spiffe');

/** A development agent as a process, in a temporary directory. */
export async function startDevAgent(options: { x509SvidTtl?: string } = {}): Promise<{ socketPath: string; createEntry: (id: string, extra?: string[]) => Promise<void>; stop: () => Promise<void> }> {
  const d = tempDir('mtls-files-agent-');
  const socketPath = join(d.path, 'api.sock');
  const admin = join(d.path, 'admin.sock');
  const agent = start(join(BIN, 'spiffe-dev-agent'), ['run', '-socketPath', socketPath, '-adminSocketPath', admin, '-dataDir', join(d.path, 'data'), ...(options.x509SvidTtl ? ['-x509SVIDTTL', options.x509SvidTtl] : [])]);
  await agent.waitFor(/SPIFFE development agent is running/, 20_000);
  return {
    socketPath,
    async createEntry(id, extra = []) {
      const r = await run(join(BIN, 'spiffe-dev-server'), ['entry', 'create', '-socketPath', admin, '-spiffeID', id, '-parentID', 'spiffe://example.org/host', '-selector', `unix:uid:${process.getuid?.() ?? 0}`, ...extra]);
      if (r.code !== 0) throw new Error(`entry create failed: ${r.stderr}${r.stdout}`);
    },
    async stop() {
      await agent.stop();
      d.remove();
    },
  };
}
