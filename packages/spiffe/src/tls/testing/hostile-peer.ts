/**
 * Test-only driver of `renegotiating_peer.py`, a TLS 1.2 peer (pyOpenSSL) that swaps its
 * certificate by renegotiating after the handshake.
 *
 * The Python interpreter is `SPIFFE_NODE_PYTHON`, else the virtualenv `scripts/setup.sh`
 * makes (`~/.cache/spiffe-node/pyenv/bin/python`, with pyOpenSSL from PyPI).
 *
 * @internal
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestSvid } from '../../testing/ca.js';

const SCRIPT = fileURLToPath(new URL('./renegotiating_peer.py', import.meta.url));
const PYTHON = process.env.SPIFFE_NODE_PYTHON ?? join(homedir(), '.cache', 'spiffe-node', 'pyenv', 'bin', 'python');

/**
 * Why the hostile peer cannot run here, or `undefined` when it can: for `it(..., { skip })`.
 */
export const hostilePeerUnavailable: string | undefined = (() => {
  const probe = spawnSync(PYTHON, ['-c', 'import OpenSSL'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `the renegotiating attacker needs pyOpenSSL (${PYTHON}); run \`bash scripts/setup.sh\` or set SPIFFE_NODE_PYTHON`;
})();

/** One JSON line the peer printed: how far the attack got. */
export interface PeerEvent {
  event: string;
  answer?: string | number;
  error?: string;
  port?: number;
}

/** A running hostile peer. */
export interface HostilePeer {
  /** Every event so far; complete once `done` resolves. */
  readonly events: PeerEvent[];
  /** Resolves when the peer exits. */
  readonly done: Promise<PeerEvent[]>;
  /** Resolves with the first event named `name` (rejects if the peer exits first). */
  next(name: string): Promise<PeerEvent>;
  kill(): void;
}

function writeIdentity(dir: string, name: string, svid: TestSvid): [string, string] {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, svid.certPem, { mode: 0o600 });
  writeFileSync(key, svid.keyPem, { mode: 0o600 });
  return [cert, key];
}

function run(args: (dir: string) => string[]): HostilePeer {
  const dir = mkdtempSync(join(tmpdir(), 'spiffe-hostile-'));
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [SCRIPT, ...args(dir)], { stdio: 'pipe' });
  const events: PeerEvent[] = [];
  const waiters: Array<{ name: string; resolve: (e: PeerEvent) => void; reject: (err: Error) => void }> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as PeerEvent;
    events.push(event);
    for (const w of waiters.filter((w) => w.name === event.event)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(event);
    }
  });
  const done = new Promise<PeerEvent[]>((resolve) => {
    child.once('close', () => {
      rmSync(dir, { recursive: true, force: true });
      for (const w of waiters.splice(0)) w.reject(new Error(`hostile peer exited before "${w.name}": ${JSON.stringify(events)} ${stderr}`));
      resolve(events);
    });
  });
  return {
    events,
    done,
    next(name) {
      const seen = events.find((e) => e.event === name);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => waiters.push({ name, resolve, reject }));
    },
    kill() {
      child.kill();
    },
  };
}

/**
 * A TLS 1.2 client that connects presenting `svid`, renegotiates presenting `swap`, then sends
 * `who\n` and reads one line (events: `handshake`, `renegotiated`, `answer`, or the
 * step that failed with `_failed`).
 */
export function renegotiatingClient(port: number, svid: TestSvid, swap: TestSvid): HostilePeer {
  return run((dir) => ['client', '127.0.0.1', String(port), ...writeIdentity(dir, 'first', svid), ...writeIdentity(dir, 'swap', swap)]);
}

/**
 * A TLS 1.2 server that presents `svid`, answers the first `who\n` with `hello\n`, then
 * renegotiates presenting `swap` (a HelloRequest) and answers the next with `swapped\n`. Wait
 * for `next('listening')` to learn its port.
 */
export function renegotiatingServer(svid: TestSvid, swap: TestSvid): HostilePeer {
  return run((dir) => ['server', ...writeIdentity(dir, 'first', svid), ...writeIdentity(dir, 'swap', swap)]);
}
