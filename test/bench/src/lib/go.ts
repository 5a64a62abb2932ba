/**
 * The Go baselines (test/bench/go): built once with `go build` into
 * $HOME/.cache/spiffe-node/bench-go/<hash of the sources>/, outside the repository, and reused
 * until a source file changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './proc.js';

const GO_DIR = join(BENCH_DIR, 'go');

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(GO_DIR).sort()) {
    if (name.endsWith('.go') || name === 'go.mod' || name === 'go.sum') {
      hash
        .update(name)
        .update('\0')
        .update(readFileSync(join(GO_DIR, name)))
        .update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Builds the Go program if needed and returns the path of the binary. */
export function goBinary(log: (line: string) => void = () => undefined): string {
  const dir = join(process.env.SPIFFE_NODE_CACHE ?? join(homedir(), '.cache', 'spiffe-node'), 'bench-go', sourceHash());
  const binary = join(dir, 'spiffe-bench-go');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  log(`building the go-spiffe baselines (go build, cached in ${dir})`);
  try {
    execFileSync('go', ['build', '-o', binary, '.'], { cwd: GO_DIR, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the Go toolchain is needed for the baselines and the client load: install Go 1.25 or later');
    throw new Error(`go build of test/bench/go failed:\n${e.stderr ?? String(err)}`);
  }
  return binary;
}
