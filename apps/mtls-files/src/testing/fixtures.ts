/**
 * Test fixtures of the example: certificates written as files, and the server, the client and
 * other programs run as real processes. Test-only.
 *
 * @module
 * @internal
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { tempDir, trackProcess, type RunResult, type RunningProcess } from '@spiffe-node/test-kit';
import { FakeAgent as KitFakeAgent, workloadApiService } from '@spiffe-node/test-kit/fake-agent';

export { TestCa, tempDir, type RunResult, type TestSvid } from '@spiffe-node/test-kit';
export { x509SvidMessage } from '@spiffe-node/test-kit/fake-agent';

/** The kit's fake agent, serving the Workload API as the library's `workload.proto` defines it. */
export const FakeAgent = KitFakeAgent.serving(
  workloadApiService(createRequire(import.meta.url).resolve('@spiffe-node/spiffe/proto/workload.proto')),
);
export type FakeAgent = KitFakeAgent;

/** A program started by these fixtures. */
export type Running = RunningProcess;

const here = dirname(fileURLToPath(import.meta.url));
/** The app's directory. */
const APP_DIR = join(here, '..', '..');
const TSX = import.meta.resolve('tsx');

/** Writes `files` (name → contents) into `dir`, creating it; keys get mode 0600. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
  return dir;
}

/** Starts one of the example's programs (`server` or `request`) from its source. */
export function startApp(program: 'server' | 'request', args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', TSX, join(APP_DIR, 'src', `${program}.ts`), ...args], {
    cwd: APP_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackProcess(child, program);
}

/** Runs any program to completion. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = trackProcess(child, cmd);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts any program, collecting its output. */
export function start(cmd: string, args: string[], options: { cwd?: string } = {}): Running {
  return trackProcess(spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }), cmd);
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
export async function startDevAgent(
  options: { x509SvidTtl?: string } = {},
): Promise<{ socketPath: string; createEntry: (id: string, extra?: string[]) => Promise<void>; stop: () => Promise<void> }> {
  const d = tempDir('mtls-files-agent-');
  const socketPath = join(d.path, 'api.sock');
  const admin = join(d.path, 'admin.sock');
  const agent = start(join(BIN, 'spiffe-dev-agent'), [
    'run',
    '-socketPath',
    socketPath,
    '-adminSocketPath',
    admin,
    '-dataDir',
    join(d.path, 'data'),
    ...(options.x509SvidTtl ? ['-x509SVIDTTL', options.x509SvidTtl] : []),
  ]);
  await agent.waitFor(/SPIFFE development agent is running/, 20_000);
  return {
    socketPath,
    async createEntry(id, extra = []) {
      const r = await run(join(BIN, 'spiffe-dev-server'), [
        'entry',
        'create',
        '-socketPath',
        admin,
        '-spiffeID',
        id,
        '-parentID',
        'spiffe://example.org/host',
        '-selector',
        `unix:uid:${process.getuid?.() ?? 0}`,
        ...extra,
      ]);
      if (r.code !== 0) throw new Error(`entry create failed: ${r.stderr}${r.stdout}`);
    },
    async stop() {
      await agent.stop();
      d.remove();
    },
  };
}
