/**
 * Runs Workload API calls as a Unix user with no registration entry (`nobody`), in a child
 * process: the library's WorkloadApiClient (FetchX509SVID, FetchJWTSVID) and each of the five RPCs
 * through a bare grpc-js client, so that every status the agent answers can be compared.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
export const UNREGISTERED_USER = 'nobody';

/** What the child saw. */
export interface UnregisteredView {
  /** The library's errors: its code, the gRPC code it carries, and its message. */
  library: Record<'fetchX509Svid' | 'fetchJwtSvid', { code: string; grpcCode: number | null; message: string } | { ok: true }>;
  /** Each RPC's outcome through a bare client: `OK`, or the gRPC code and details. */
  raw: Record<string, { code: number; details: string }>;
}

// The child is plain ESM run by node as `nobody`. It loads the library from a root the user can
// read (the repository, or the world-readable copy runnableRootFor makes), and grpc-js and the
// proto from the library's own dependencies.
const CHILD = String.raw`
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const [rootPath, socketPath, token] = process.argv.slice(2);
const root = pathToFileURL(rootPath).href;
const require = createRequire(root + '/packages/spiffe/package.json');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
// The library by its own name (its package.json's exports), not by a path into its build.
const lib = await import(pathToFileURL(require.resolve('@spiffe-node/spiffe')).href);

const audience = 'spiffe://example.org/differential-audience';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const client = new lib.WorkloadApiClient({ address: 'unix://' + socketPath, logger: quiet });
const library = {};
for (const [name, call] of [
  ['fetchX509Svid', () => client.fetchX509Svid()],
  ['fetchJwtSvid', () => client.fetchJwtSvid({ audience })],
]) {
  try {
    await call();
    library[name] = { ok: true };
  } catch (err) {
    library[name] = { code: err.code ?? null, grpcCode: err.grpcCode ?? null, message: err.message };
  }
}
client.close();

const pkg = protoLoader.loadSync(require.resolve('@spiffe-node/spiffe/proto/workload.proto'), { keepCase: true, longs: String, defaults: true, oneofs: true });
const service = pkg.SpiffeWorkloadAPI;
const raw = new grpc.Client('unix://' + socketPath, grpc.credentials.createInsecure());
const md = () => { const m = new grpc.Metadata(); m.set('workload.spiffe.io', 'true'); return m; };
const results = {};
const settle = (name, err) => { results[name] = err ? { code: err.code, details: err.details } : { code: 0, details: '' }; };
for (const name of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles']) {
  const d = service[name];
  await new Promise((resolve) => {
    const call = raw.makeServerStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, {}, md(), { deadline: Date.now() + 10000 });
    let done = false;
    call.on('data', () => { if (!done) { done = true; settle(name); call.cancel(); resolve(); } });
    call.on('error', (err) => { if (!done) { done = true; settle(name, err); resolve(); } });
  });
}
for (const [name, request] of [
  ['FetchJWTSVID', { audience: [audience] }],
  ['ValidateJWTSVID', { audience, svid: token }],
]) {
  const d = service[name];
  await new Promise((resolve) => {
    raw.makeUnaryRequest(d.path, d.requestSerialize, d.responseDeserialize, request, md(), { deadline: Date.now() + 10000 }, (err) => {
      settle(name, err);
      resolve();
    });
  });
}
raw.close();
process.stdout.write(JSON.stringify({ library, raw: results }) + '\n');
`;

/**
 * Runs the calls as {@link UNREGISTERED_USER}. `root` must be readable by that user; `token` is a
 * valid JWT-SVID for `spiffe://example.org/differential-audience`, for ValidateJWTSVID.
 */
export async function callAsUnregistered(root: string, socketPath: string, token: string): Promise<UnregisteredView> {
  const dir = mkdtempSync(join(tmpdir(), 'spiffe-differential-child-'));
  try {
    chmodSync(dir, 0o755);
    const script = join(dir, 'unregistered.mjs');
    writeFileSync(script, CHILD, { mode: 0o644 });
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('runuser', ['-u', UNREGISTERED_USER, '--', process.execPath, script, root, socketPath, token], {
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new Error(`the unregistered child failed (exit ${code}):\n${stdout}${stderr}`);
    return JSON.parse(stdout) as UnregisteredView;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
