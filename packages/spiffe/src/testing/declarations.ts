/**
 * The package as a TypeScript user installs it, for the public-API tests: the declarations the
 * build emits (from `tsconfig.build.json`, so `stripInternal` applies) and `package.json`, in a
 * fresh directory with no `node_modules` above it, so no optional peer is visible from it.
 *
 * @module
 * Not part of the public API: test helper.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own directory (`packages/spiffe`). */
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

const require = createRequire(import.meta.url);

/** Runs the TypeScript compiler of the repository with `args` in `cwd`. */
export function tsc(args: readonly string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A directory holding the package as installed: `package.json` and `dist/**.d.ts`. */
export interface PackedTypes {
  /** The temporary directory everything lives in. */
  root: string;
  /** The package directory (`<root>/pkg`). */
  packageDir: string;
  /** Deletes `root`. */
  remove(): void;
}

/**
 * Emits the declarations of the package into a temporary directory beside its `package.json`.
 *
 * @throws `Error` with the compiler's output when the build fails.
 */
export function packDeclarations(): PackedTypes {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'spiffe-api-')));
  const packageDir = join(root, 'pkg');
  mkdirSync(packageDir);
  copyFileSync(join(PACKAGE_DIR, 'package.json'), join(packageDir, 'package.json'));
  const emitted = tsc(
    [
      '-p',
      'tsconfig.build.json',
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
      '--outDir',
      join(packageDir, 'dist'),
    ],
    PACKAGE_DIR,
  );
  if (emitted.status !== 0) throw new Error(`tsc could not emit the declarations:\n${emitted.output}`);
  return { root, packageDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Makes `<dir>` a TypeScript project that depends on the packed package and `@types/node` only
 * (strict, `skipLibCheck: false`, `node16` resolution), with `files` as its sources.
 */
export function consumerProject(packed: PackedTypes, name: string, files: Record<string, string>): string {
  const dir = join(packed.root, name);
  mkdirSync(join(dir, 'node_modules', '@spiffe-node'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(packed.packageDir, join(dir, 'node_modules', '@spiffe-node', 'spiffe'), 'dir');
  // @types/node as installed (its own dependency, undici-types, sits beside it in the store).
  const typesNode = realpathSync(dirname(require.resolve('@types/node/package.json')));
  symlinkSync(typesNode, join(dir, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files: Object.keys(files),
    }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}
