/**
 * Test helpers: the agent and the CLI as real child processes (run from source through tsx),
 * temporary directories, and a raw grpc-js Workload API client. Test-only; not built.
 *
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadWorkloadService } from '../workload/server.js';

/** The package directory (packages/dev-agent). */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(PACKAGE_DIR, 'src', 'cli.ts');

export { tempDir } from '@spiffe-node/test-kit';

/** An agent running as a child process. */
export interface AgentProcess {
  readonly child: ChildProcess;
  readonly socketPath: string;
  readonly adminSocketPath: string;
  readonly dataDir: string;
  /** Everything the agent wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `spiffe-dev-agent run` in a child process with sockets and data under `dir`, and waits
 * until it prints its `SPIFFE_ENDPOINT_SOCKET=` line. A `launcher` (a command and its arguments,
 * e.g. `unshare ...`) runs the agent's node command line as its own arguments; the child is then
 * the launcher.
 */
export async function startAgentProcess(
  dir: string,
  extraArgs: readonly string[] = [],
  launcher: readonly string[] = [],
): Promise<AgentProcess> {
  const socketPath = join(dir, 'public', 'api.sock');
  const adminSocketPath = join(dir, 'private', 'admin.sock');
  const dataDir = join(dir, 'data');
  const [command, ...args] = [
    ...launcher,
    process.execPath,
    ...['--import', 'tsx', CLI, 'run', '-socketPath', socketPath, '-adminSocketPath', adminSocketPath, '-dataDir', dataDir, ...extraArgs],
  ];
  const child = spawn(command!, args, { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (signal !== null) err += `\n[test helper] the agent was killed by ${signal}\n`;
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start in time:\n${out}\n${err}`)), 30_000);
    const check = (): void => {
      if (out.includes('SPIFFE_ENDPOINT_SOCKET=')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before starting:\n${out}\n${err}`));
    });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  return {
    child,
    socketPath,
    adminSocketPath,
    dataDir,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The result of a CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (the CLI from source by default) and collects its output. */
export function runCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PACKAGE_DIR, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs `spiffe-dev-agent server <args>` from source against an admin socket. */
export function runServerCli(adminSocketPath: string, args: readonly string[], input?: string): Promise<CliResult> {
  return runCommand(
    process.execPath,
    ['--import', 'tsx', CLI, 'server', ...args],
    { SPIFFE_DEV_AGENT_ADMIN_SOCKET: adminSocketPath },
    input,
  );
}

/** A raw grpc-js client of the Workload API (not the core library's client). */
export type RawWorkloadClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Creates a raw grpc-js Workload API client for a Unix socket. */
export function workloadClient(socketPath: string): RawWorkloadClient {
  const Client = grpc.makeGenericClientConstructor(loadWorkloadService(), 'SpiffeWorkloadAPI');
  return new Client(`unix://${socketPath}`, grpc.credentials.createInsecure()) as unknown as RawWorkloadClient;
}

/** Metadata with the Workload API security header (or without it). */
export function securityHeader(present = true): grpc.Metadata {
  const md = new grpc.Metadata();
  if (present) md.set('workload.spiffe.io', 'true');
  return md;
}

/** Calls a unary method; resolves with the response or rejects with the gRPC error. */
export function unary<T>(client: RawWorkloadClient, method: string, request: unknown, md = securityHeader()): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: T) => void) => void)(
      request,
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

/** Opens a server stream and collects its messages; `next()` waits for the next one. */
export function openStream<T>(client: RawWorkloadClient, method: string, md = securityHeader()) {
  const call = (client[method] as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<T>)({}, md);
  const messages: T[] = [];
  const waiters: Array<{ count: number; resolve: (m: T) => void; reject: (e: unknown) => void }> = [];
  let failure: grpc.ServiceError | undefined;
  call.on('data', (m: T) => {
    messages.push(m);
    for (const w of [...waiters]) {
      if (messages.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(messages[w.count - 1] as T);
      }
    }
  });
  call.on('error', (e: grpc.ServiceError) => {
    failure = e;
    for (const w of waiters.splice(0)) w.reject(e);
  });
  return {
    call,
    messages,
    /** Waits for message number `n` (1-based). */
    message(n: number, timeoutMs = 15_000): Promise<T> {
      if (messages.length >= n) return Promise.resolve(messages[n - 1] as T);
      if (failure) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message ${n} within ${timeoutMs} ms (got ${messages.length})`)), timeoutMs);
        waiters.push({
          count: n,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
    /** Resolves with the error that ends the stream. */
    failure(timeoutMs = 15_000): Promise<grpc.ServiceError> {
      if (failure) return Promise.resolve(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the stream did not fail')), timeoutMs);
        call.once('error', (e: grpc.ServiceError) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
    },
    cancel: () => call.cancel(),
  };
}

/** Splits concatenated DER certificates. */
export function splitDer(der: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < der.length) {
    // SEQUENCE with a long-form length (certificates are longer than 127 bytes).
    const lenBytes = (der[i + 1] as number) & 0x7f;
    let len = 0;
    for (let k = 0; k < lenBytes; k += 1) len = len * 256 + (der[i + 2 + k] as number);
    const total = 2 + lenBytes + len;
    out.push(der.subarray(i, i + total));
    i += total;
  }
  return out;
}
