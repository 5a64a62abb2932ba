/**
 * The Python hostile peers (pyOpenSSL) in the venv that scripts/setup.sh makes, and how to run
 * them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The python with pyOpenSSL: `SPIFFE_NODE_PYTHON`, or the venv `~/.cache/spiffe-node/pyenv`. */
export function pythonPath(): string {
  const python = process.env.SPIFFE_NODE_PYTHON ?? join(homedir(), '.cache', 'spiffe-node', 'pyenv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `the adversary suite's Python is missing (${python}): run \`bash scripts/setup.sh\`, which makes that venv with the packages of scripts/python-requirements.txt (or set SPIFFE_NODE_PYTHON)`,
    );
  }
  return python;
}

export function pyScript(name: string): string {
  return join(here, '..', 'py', name);
}

/** What the hostile client saw on one connection. */
export interface ConnectionResult {
  handshake: boolean;
  renegotiated: boolean;
  version?: string;
  /** Everything the server sent (latin-1). */
  response: string;
  error: string | null;
}

export interface HostileClientOptions {
  port: number;
  /** A fixture name (`client`, `untrusted-client`...): the chain and key it presents; none without. */
  present?: { chainPath: string; keyPath: string };
  /** Renegotiate (TLS 1.2) presenting this chain after the first handshake. */
  renegotiateTo?: { chainPath: string; keyPath: string };
  /** Resume the first connection's session on a second one, after `between` ran. */
  resumeAfter?: () => Promise<void> | void;
  request: 'line' | 'http1' | 'h2' | 'grpc';
  /** The HTTP/1.1 path (default `/whoami`). */
  path?: string;
  alpn?: string;
  tls12?: boolean;
  /**
   * Seconds of silence after which the client stops reading (default 5: a refused connection
   * is closed at once, so only a slow answer waits, and it must not be mistaken for a refusal).
   */
  quietSeconds?: number;
}

/** Runs py/hostile_client.py; one result per connection. */
export async function runHostileClient(options: HostileClientOptions): Promise<ConnectionResult[]> {
  const args = [pyScript('hostile_client.py'), '--port', String(options.port), '--request', options.request];
  args.push('--timeout', String(options.quietSeconds ?? 5));
  // HTTP/2 servers keep the connection open after answering: stop at the answer's marker.
  if (options.request === 'h2' || options.request === 'grpc') args.push('--until', 'WHOAMI');
  if (options.present) args.push('--chain', options.present.chainPath, '--key', options.present.keyPath);
  if (options.renegotiateTo) {
    args.push('--renegotiate-chain', options.renegotiateTo.chainPath, '--renegotiate-key', options.renegotiateTo.keyPath);
  }
  if (options.resumeAfter) args.push('--resume');
  if (options.alpn) args.push('--alpn', options.alpn);
  if (options.path) args.push('--path', options.path);
  if (options.tls12 || options.renegotiateTo) args.push('--tls12');
  const child = spawn(pythonPath(), args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const results: ConnectionResult[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for await (const line of createInterface({ input: child.stdout })) {
    results.push(JSON.parse(line) as ConnectionResult);
    if (results.length === 1 && options.resumeAfter) {
      await options.resumeAfter();
      child.stdin.write('go\n');
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`hostile_client.py exited with ${code}: ${stderr}`);
  return results;
}
