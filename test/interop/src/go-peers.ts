/**
 * Builds the go-spiffe peers of this package (test/interop/go, module pinned by go.mod/go.sum)
 * once, and caches the binaries where the workload users can run them.
 *
 * The cache is `<tmpdir>/spiffe-node-interop-go-<uid>/<hash>`: the hash covers go.mod, go.sum,
 * every .go file and `go version`, so an edit rebuilds. The folders are 0755 (the workload users
 * must reach the binaries; a checkout under /root is 0700). A cache folder that is not a real
 * directory owned by us and closed to writes by others is never trusted: the build then goes to
 * a fresh private temporary folder instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The programs of test/interop/go/cmd. */
export const GO_PEERS = [
  'mtls-echo-server',
  'mtls-echo-client',
  'https-mtls-server',
  'https-mtls-client',
  'jwt-server',
  'jwt-client',
  'spiffe-fetch',
  'x509-verify',
] as const;
export type GoPeer = (typeof GO_PEERS)[number];

/** The Go module folder (test/interop). */
const MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Whether a `go` command runs here; the version line when it does. */
export function goVersion(): string | undefined {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Whether the suite must fail rather than skip when a prerequisite (Go, SPIRE) is missing: CI
 * sets SPIFFE_REQUIRE_SPIRE.
 */
export function prerequisitesRequired(): boolean {
  return !['', '0', 'false'].includes(process.env.SPIFFE_REQUIRE_SPIRE ?? '');
}

function goSources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) goSources(path, out);
    else if (name.endsWith('.go')) out.push(path);
  }
  return out;
}

/** A hash of everything the binaries are built from. */
function sourceHash(version: string): string {
  const hash = createHash('sha256').update(version);
  for (const file of [join(MODULE_DIR, 'go.mod'), join(MODULE_DIR, 'go.sum'), ...goSources(join(MODULE_DIR, 'go'))]) {
    hash.update(`\0${relative(MODULE_DIR, file)}\0`).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 20);
}

/** True when `path` is a directory (not a link) owned by us that nobody else can write to. */
function trustworthyDir(path: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) return false;
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

function cacheRoot(): string | undefined {
  const dir = join(tmpdir(), `spiffe-node-interop-go-${process.getuid?.() ?? 'user'}`);
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { mode: 0o755 });
      chmodSync(dir, 0o755);
    } catch {
      return undefined;
    }
  }
  return trustworthyDir(dir) ? dir : undefined;
}

function runGoBuild(outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -s -w: no symbol tables (the seven binaries are large, and nobody debugs them here).
    const child = spawn('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', `${outDir}/`, './go/cmd/...'], {
      cwd: MODULE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      // GOFLAGS=-mod=mod would let a build edit go.mod: the committed go.sum must be enough.
      env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`go build ./go/cmd/... in ${MODULE_DIR} failed (exit ${code}):\n${output}`));
    });
  });
}

/** Removes the cached builds of other sources (older revisions of the Go files). */
function pruneOtherBuilds(cache: string, keep: string): void {
  for (const name of readdirSync(cache)) {
    if (name !== keep && /^[0-9a-f]{20}$/.test(name)) rmSync(join(cache, name), { recursive: true, force: true });
  }
}

/** Where the built peers are; `path(name)` is a binary every local user can run. */
export interface GoPeers {
  dir: string;
  path(name: GoPeer): string;
  /** Removes the binaries when they were built into a one-off folder (not the cache). */
  cleanup(): void;
}

/**
 * Builds the peers (or reuses the cached build of the same sources). The first build downloads
 * the pinned modules through the Go module proxy and takes about a minute on two cores.
 */
export async function buildGoPeers(): Promise<GoPeers> {
  const version = goVersion();
  if (version === undefined) throw new Error('Go is not installed (no `go` on PATH): the go-spiffe peers cannot be built');
  const key = sourceHash(version);
  const cache = cacheRoot();
  const peers = (dir: string, oneOff: boolean): GoPeers => ({
    dir,
    path: (name) => join(dir, name),
    cleanup: () => {
      if (oneOff) rmSync(dir, { recursive: true, force: true });
    },
  });
  const complete = (dir: string): boolean => GO_PEERS.every((p) => existsSync(join(dir, p)));

  if (cache !== undefined) {
    const final = join(cache, key);
    if (trustworthyDir(final) && complete(final)) return peers(final, false);
    rmSync(final, { recursive: true, force: true });
    const staging = mkdtempSync(join(cache, `${key}.build-`));
    try {
      await runGoBuild(staging);
      chmodSync(staging, 0o755);
      // Another run may have finished the same build meanwhile: either copy is as good.
      try {
        renameSync(staging, final);
        pruneOtherBuilds(cache, key);
      } catch {
        if (trustworthyDir(final) && complete(final)) {
          rmSync(staging, { recursive: true, force: true });
          return peers(final, false);
        }
        return peers(staging, true);
      }
      return peers(final, false);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
  }
  const oneOff = mkdtempSync(join(tmpdir(), 'spiffe-node-interop-go-'));
  chmodSync(oneOff, 0o755);
  try {
    await runGoBuild(oneOff);
  } catch (err) {
    rmSync(oneOff, { recursive: true, force: true });
    throw err;
  }
  return peers(oneOff, true);
}
