/**
 * Which Node.js binary runs the benchmark's Node processes (the servers, workers, example apps
 * and the dev agent): the one running `pnpm bench` by default, `--node <path>`, or
 * `--node-line <major>` for a line that `scripts/node-lines.sh` installed. `--lines 20,24`
 * names several, for the benchmarks that compare lines side by side.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './proc.js';

/** A Node.js binary and what it is. */
export interface NodeBinary {
  /** Path of the executable. */
  readonly path: string;
  /** `process.version` of that binary, e.g. `v24.22.3`. */
  readonly version: string;
  /** Its major version, e.g. `24`: what labels its figures. */
  readonly line: string;
  /** The OpenSSL it bundles (`process.versions.openssl`). */
  readonly openssl: string;
}

/** Asks `path` what it is; throws when it is not a working Node.js. */
export function describeNode(path: string): NodeBinary {
  if (!existsSync(path)) throw new Error(`--node: ${path} does not exist`);
  let out: string;
  try {
    out = execFileSync(path, ['-p', 'JSON.stringify([process.version, process.versions.openssl])'], { encoding: 'utf8', timeout: 30_000 });
  } catch (err) {
    throw new Error(`--node: ${path} does not run as Node.js: ${(err as Error).message}`);
  }
  const [version, openssl] = JSON.parse(out) as [string, string];
  return { path, version, line: version.replace(/^v/, '').split('.')[0] as string, openssl };
}

/** The Node.js running this process. */
export function currentNode(): NodeBinary {
  return {
    path: process.execPath,
    version: process.version,
    line: process.version.replace(/^v/, '').split('.')[0] as string,
    openssl: process.versions.openssl,
  };
}

/** `<version> <bin dir>` per line that scripts/node-lines.sh installed. */
function installedLines(): Array<{ version: string; bin: string }> {
  const script = join(BENCH_DIR, '..', '..', 'scripts', 'node-lines.sh');
  const out = execFileSync('bash', [script, '--print'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [version, bin] = l.split(' ');
      return { version: version as string, bin: bin as string };
    });
}

/**
 * The binary of Node.js line `major` (`'24'`): the running Node when it is of that line,
 * otherwise the one scripts/node-lines.sh installed. Throws, saying how to install it, when
 * there is none.
 */
export function nodeOfLine(major: string): NodeBinary {
  if (!/^\d+$/.test(major)) throw new Error(`--node-line/--lines: expected a major version such as 24, got "${major}"`);
  const current = currentNode();
  if (current.line === major) return current;
  const found = installedLines().find((l) => l.version.split('.')[0] === major);
  if (found === undefined) {
    throw new Error(
      `no Node.js ${major} installed: run \`bash scripts/node-lines.sh\` (or SPIFFE_NODE_LINES="<version>" bash scripts/node-lines.sh), or pass --node <path>`,
    );
  }
  return describeNode(join(found.bin, 'node'));
}
