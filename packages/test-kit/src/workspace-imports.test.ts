/**
 * No file of the repository reaches into another workspace package by path. A test, an app or a
 * package uses another package through its name and public exports (`@spiffe-node/spiffe`, its
 * subpaths, `@spiffe-node/test-kit`); a relative path into another package's folder
 * (`../../packages/spiffe/src/...`, `.../dist/...`), or a bare specifier naming a package's `src`
 * or `dist`, bypasses the exports and the build, and lets a test depend on internals.
 *
 * Scanned: every TypeScript and JavaScript file below the repository root, outside
 * `node_modules`, `dist` and dot folders. Read: `import`/`export ... from`, `import type`, side-
 * effect imports, and `import(...)`, `require(...)`, `require.resolve(...)`,
 * `import.meta.resolve(...)` with a literal argument.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WORKSPACE_GROUPS = ['packages', 'apps', 'test'];
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;
const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\b(?:import|require|require\.resolve|import\.meta\.resolve)\s*\(\s*['"]([^'"]+)['"]\s*[,)]/g,
];

/** A workspace package: its name and folder. */
interface WorkspacePackage {
  name: string;
  dir: string;
}

/** One import that reaches into another package. */
interface Finding {
  file: string;
  specifier: string;
  into: string;
}

function workspacePackages(root: string): WorkspacePackage[] {
  const found: WorkspacePackage[] = [];
  for (const group of WORKSPACE_GROUPS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const manifest = join(groupDir, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      found.push({ name, dir: join(groupDir, entry.name) });
    }
  }
  return found;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The module specifiers a source text names. */
function specifiersOf(text: string): string[] {
  const out: string[] = [];
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) out.push(match[1] as string);
  }
  return out;
}

function packageOf(path: string, packages: readonly WorkspacePackage[]): WorkspacePackage | undefined {
  return packages.find((p) => path === p.dir || path.startsWith(p.dir + sep));
}

/**
 * The imports of `file` (with `text`) that reach into a package other than the file's own: a
 * relative path that lands in another package's folder, or `<package>/src/...` and
 * `<package>/dist/...` by name.
 */
function deepImports(file: string, text: string, packages: readonly WorkspacePackage[]): Finding[] {
  const own = packageOf(file, packages);
  const findings: Finding[] = [];
  for (const specifier of specifiersOf(text)) {
    if (specifier.startsWith('.')) {
      const target = packageOf(resolve(dirname(file), specifier), packages);
      if (target !== undefined && target !== own) findings.push({ file, specifier, into: target.name });
      continue;
    }
    const named = packages.find((p) => specifier.startsWith(`${p.name}/`));
    if (named !== undefined && /^(?:src|dist)(?:\/|$)/.test(specifier.slice(named.name.length + 1))) {
      findings.push({ file, specifier, into: named.name });
    }
  }
  return findings;
}

describe('imports between workspace packages', () => {
  const packages = workspacePackages(ROOT);

  it('finds the workspace packages, this one among them', () => {
    assert.ok(packages.length > 10, `only ${packages.length} packages found below ${ROOT}`);
    assert.ok(packages.some((p) => p.name === '@spiffe-node/test-kit' && p.dir === join(ROOT, 'packages', 'test-kit')));
  });

  it('reports a relative path into another package, and a bare src or dist path, and nothing else', () => {
    const file = join(ROOT, 'test', 'soak', 'src', 'fuzz', 'x.test.ts');
    const text = [
      "import { SpiffeError } from '../../../../packages/spiffe/src/errors.js';",
      "import type { X } from '../../../../packages/spiffe/src/workloadapi/messages.js';",
      "export { main } from '../../../../packages/dev-agent/src/cli.js';",
      "const lib = await import('../../../../packages/spiffe/dist/index.js');",
      "import '@spiffe-node/spiffe/dist/tls/index.js';",
      "const c = require.resolve('@spiffe-node/cli/src/main.ts');",
      // Fine: the package's own files, public exports, files of no package.
      "import { fixtureEntropy } from './config.js';",
      "import { findSecrets } from '../secrets.js';",
      "import { TestCa } from '@spiffe-node/test-kit';",
      "import { parseAndVerifyX509Svid } from '@spiffe-node/spiffe/svid/x509';",
      "const proto = require.resolve('@spiffe-node/spiffe/proto/workload.proto');",
      "import { run } from '../../../../scripts/helper.mjs';",
    ].join('\n');
    assert.deepEqual(
      deepImports(file, text, packages)
        .map((f) => `${f.into} ${f.specifier}`)
        .sort(),
      [
        '@spiffe-node/spiffe ../../../../packages/spiffe/src/errors.js',
        '@spiffe-node/spiffe ../../../../packages/spiffe/src/workloadapi/messages.js',
        '@spiffe-node/dev-agent ../../../../packages/dev-agent/src/cli.js',
        '@spiffe-node/spiffe @spiffe-node/spiffe/dist/tls/index.js',
        '@spiffe-node/spiffe ../../../../packages/spiffe/dist/index.js',
        '@spiffe-node/cli @spiffe-node/cli/src/main.ts',
      ].sort(),
    );
  });

  it('no file of the repository imports another package by path', () => {
    // This file is left out: its examples above are deep imports on purpose.
    const files = sourceFiles(ROOT).filter((file) => file !== fileURLToPath(import.meta.url));
    const findings = files.flatMap((file) => deepImports(file, readFileSync(file, 'utf8'), packages));
    assert.deepEqual(
      findings.map(
        (f) =>
          `${relative(ROOT, f.file)}: '${f.specifier}' reaches into ${f.into}; import it by name (its public exports) or from @spiffe-node/test-kit`,
      ),
      [],
    );
  });
});
