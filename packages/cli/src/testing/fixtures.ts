/**
 * Test fixtures: running the `spiffe` command as a real process, a development agent as a real
 * process, and the core's fake agent and test CA. Test-only: not part of the build.
 *
 * @module
 * @internal
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { tempDir, trackProcess, type RunResult, type RunningProcess } from '@spiffe-node/test-kit';
import { FakeAgent as KitFakeAgent, workloadApiService } from '@spiffe-node/test-kit/fake-agent';

export { x509SvidMessage, jwksBytes } from '@spiffe-node/test-kit/fake-agent';
export { TestCa, delay, tempDir, until, type RunResult, type RunningProcess, type TestSvid } from '@spiffe-node/test-kit';

/** The kit's fake agent, serving the Workload API as the library's `workload.proto` defines it. */
export const FakeAgent = KitFakeAgent.serving(
  workloadApiService(createRequire(import.meta.url).resolve('@spiffe-node/spiffe/proto/workload.proto')),
);
export type FakeAgent = KitFakeAgent;

const here = dirname(fileURLToPath(import.meta.url));
/** The package directory (packages/cli). */
const PACKAGE_DIR = join(here, '..', '..');
/** The CLI's entry, run through tsx so tests see the current source. */
const CLI_MAIN = join(here, '..', 'main.ts');
/** tsx's loader, by absolute URL, so that the CLI runs from any working directory. */
const TSX = import.meta.resolve('tsx');
const CLI_DIST = join(PACKAGE_DIR, 'dist', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/**
 * How to run the CLI: its build when that is newer than every source file (three times faster
 * to start), else the source through tsx, so that tests never run stale code.
 */
const CLI_ARGS: readonly string[] =
  existsSync(CLI_DIST) && statSync(CLI_DIST).mtimeMs >= newestSource(join(here, '..')) ? [CLI_DIST] : ['--import', TSX, CLI_MAIN];
const DEV_AGENT_BIN = join(PACKAGE_DIR, '..', 'dev-agent', 'bin', 'spiffe-dev-agent.js');
const DEV_SERVER_BIN = join(PACKAGE_DIR, '..', 'dev-agent', 'bin', 'spiffe-dev-server.js');

/** Starts `spiffe <args>` as a process. */
export function spawnCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): RunningProcess {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  if (options.env && 'SPIFFE_ENDPOINT_SOCKET' in options.env && options.env['SPIFFE_ENDPOINT_SOCKET'] === undefined)
    delete env['SPIFFE_ENDPOINT_SOCKET'];
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
    cwd: options.cwd ?? PACKAGE_DIR,
    env: env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackProcess(child, `spiffe ${args.join(' ')}`);
}

/** Runs `spiffe <args>` to completion (killed after `timeoutMs`). */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const proc = spawnCli(args, options);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs any program to completion. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = spawn(cmd, [...args], { cwd: options.cwd, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const proc = trackProcess(child, cmd);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts any program, collecting its output. */
export function start(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningProcess {
  const child = spawn(cmd, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return trackProcess(child, cmd);
}

/** A development agent running as its own process. */
export interface DevAgentProcess {
  socketPath: string;
  adminSocketPath: string;
  /** `unix:///...` */
  endpoint: string;
  process: RunningProcess;
  /** `spire-server entry create ...` against this agent; the selector defaults to this process's uid. */
  createEntry(spiffeId: string, extra?: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the development agent is built (its CLI needs dist/). */
function devAgentBuilt(): boolean {
  return existsSync(join(PACKAGE_DIR, '..', 'dev-agent', 'dist', 'cli.js'));
}

/**
 * Starts `spiffe-dev-agent run` in a temporary directory and waits until it serves.
 *
 * @throws when the dev agent is not built (run the build first).
 */
export async function startDevAgentProcess(options: { x509SvidTtl?: string; jwtSvidTtl?: string } = {}): Promise<DevAgentProcess> {
  if (!devAgentBuilt())
    throw new Error(
      'the development agent is not built: run `pnpm build` (or `npx tsc -p tsconfig.build.json` in packages/dev-agent) first',
    );
  const dir = tempDir('spiffe-cli-agent-');
  const socketPath = join(dir.path, 'api.sock');
  const adminSocketPath = join(dir.path, 'admin.sock');
  const args = [DEV_AGENT_BIN, 'run', '-socketPath', socketPath, '-adminSocketPath', adminSocketPath, '-dataDir', join(dir.path, 'data')];
  if (options.x509SvidTtl) args.push('-x509SVIDTTL', options.x509SvidTtl);
  if (options.jwtSvidTtl) args.push('-jwtSVIDTTL', options.jwtSvidTtl);
  const proc = start(process.execPath, args);
  await proc.waitFor(/SPIFFE development agent is running/, 20_000);
  const uid = process.getuid?.() ?? 0;
  return {
    socketPath,
    adminSocketPath,
    endpoint: `unix://${socketPath}`,
    process: proc,
    async createEntry(spiffeId, extra = []) {
      const result = await run(process.execPath, [
        DEV_SERVER_BIN,
        'entry',
        'create',
        '-socketPath',
        adminSocketPath,
        '-spiffeID',
        spiffeId,
        '-parentID',
        'spiffe://example.org/host',
        '-selector',
        `unix:uid:${uid}`,
        ...extra,
      ]);
      if (result.code !== 0) throw new Error(`entry create failed: ${result.stderr}${result.stdout}`);
    },
    async stop() {
      await proc.stop('SIGTERM');
      dir.remove();
    },
  };
}
