/**
 * The packed @spiffe-node/spiffe as a user gets it: publint and "are the types wrong" find nothing,
 * and npm installs the tarball into an empty project where it works from ESM (`import`), from
 * CommonJS (`require()`, on every Node.js line installed here) and from TypeScript with
 * `moduleResolution` `node16` and `bundler`, with `skipLibCheck` off. In a second project without
 * the optional peers, every subpath but the integrations of those peers (/grpc, /undici,
 * /express) imports and type-checks.
 *
 * The package is ESM only. `require()` of it works where Node.js loads ES modules from require
 * (20.19+, 22.12+, 24, 26: `process.features.require_module`); where it does not (older 20 and 22
 * releases, or `--no-experimental-require-module`) Node throws ERR_REQUIRE_ESM, as the README says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, nodeBinaries, packLibrary, run, specifier, typedSubpaths } from './tools.js';

/** A tool of this package's devDependencies, by its file (publint exports no package.json). */
const bin = (pkg: string, file: string): string => join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', pkg, file);
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The subpaths that integrate an optional peer, and what a user of each installs. */
const PEER_SUBPATHS: Record<string, string> = { './grpc': '@grpc/grpc-js', './undici': 'undici', './express': '@types/express' };
const PEERS = ['@grpc/grpc-js@^1.14.7', 'undici@^7.30.2', '@types/express@^5.0.6', 'express@^5.3.0'];

let tarball: string;
let project: string;

/** tsc --noEmit over a file importing `subpaths` with `moduleResolution` node16 or bundler, skipLibCheck off. */
async function typeCheck(dir: string, resolution: 'node16' | 'bundler', subpaths: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = resolution === 'node16' ? 'consumer.mts' : 'consumer.ts';
  const imports = subpaths.map((s, i) => `import * as m${i} from '${specifier(s)}';`);
  writeFileSync(
    join(dir, file),
    `${imports.join('\n')}\n` +
      `import { SpiffeId, authorizeId, type Authorizer } from '@spiffe-node/spiffe';\n` +
      `const id: SpiffeId = SpiffeId.fromString('spiffe://example.org/ts');\n` +
      `const authorizer: Authorizer = authorizeId(id);\n` +
      `console.log(id.toString(), typeof authorizer, ${imports.map((_, i) => `m${i}`).join(', ')});\n`,
  );
  const compilerOptions = {
    target: 'ES2022',
    module: resolution === 'node16' ? 'node16' : 'esnext',
    moduleResolution: resolution,
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }, null, 2));
  const r = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir });
  assert.equal(r.code, 0, r.output);
}

before(async () => {
  tarball = await packLibrary();
  project = mkdtempSync(join(tmpdir(), 'spiffe-node-consumer-'));
});

after(() => {
  if (tarball) rmSync(dirname(tarball), { recursive: true, force: true });
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds package.json, README.md, LICENSE, dist and proto, and no tests or test helpers', async () => {
    const r = await run('tar', ['-tzf', tarball], { cwd: REPO_ROOT });
    assert.equal(r.code, 0, r.output);
    const files = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    const outside = files.filter((f) => !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+|proto\/.+)$/.test(f));
    assert.deepEqual(outside, [], 'files outside package.json, README.md, LICENSE, CHANGELOG.md, dist/ and proto/');
    const tests = files.filter((f) => /\.test\.|\/testing\//.test(f));
    assert.deepEqual(tests, [], 'tests or test helpers in the tarball');
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), files.join('\n'));
    assert.ok(files.includes('LICENSE'), `no LICENSE in the tarball (package.json declares "license": "Apache-2.0"):\n${files.join('\n')}`);
  });

  it('passes publint (warnings count as errors)', async () => {
    const r = await run(process.execPath, [bin('publint', 'src/cli.js'), 'run', '--strict', tarball], { cwd: REPO_ROOT });
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /All good!/, r.output);
  });

  it('passes "are the types wrong" for an ESM-only package (every subpath, node16 and bundler)', async () => {
    // esm-only: node10 and node16-from-CJS resolution are not targets of an ESM-only package.
    // The .proto file is an asset, not a module.
    const r = await run(
      process.execPath,
      [
        bin('@arethetypeswrong/cli', 'dist/index.js'),
        tarball,
        '--profile',
        'esm-only',
        '--exclude-entrypoints',
        './proto/workload.proto',
        '--format',
        'ascii',
      ],
      { cwd: REPO_ROOT },
    );
    assert.equal(r.code, 0, r.output);
    // Every resolution that is checked (not marked ignored) of every subpath is green.
    const checked = r.stdout.split('\n').filter((l) => /^(node16 \(from ESM\)|bundler): /.test(l));
    assert.equal(checked.length, 2 * (typedSubpaths().length + 1), r.output); // + ./package.json
    for (const line of checked) assert.match(line, /🟢/u, r.output);
  });
});

describe('an empty npm project with the tarball installed', () => {
  before(async () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }, null, 2));
    // With the optional peers of the integration subpaths; @types/node for the TypeScript checks.
    const r = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball, '@types/node@^20.19.0', ...PEERS],
      {
        cwd: project,
      },
    );
    assert.equal(r.code, 0, r.output);
    const imports = typedSubpaths().map((s, i) => ({ name: `m${i}`, spec: specifier(s) }));
    writeFileSync(
      join(project, 'esm.mjs'),
      imports.map((m) => `import * as ${m.name} from '${m.spec}';`).join('\n') +
        `\nconst { SpiffeId } = m0;\nconsole.log(JSON.stringify({ id: SpiffeId.fromString('spiffe://example.org/esm').toString(), subpaths: [${imports.map((m) => `Object.keys(${m.name}).length`).join(', ')}] }));\n`,
    );
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const subpaths = [${imports.map((m) => `'${m.spec}'`).join(', ')}].map((s) => Object.keys(require(s)).length);\n` +
        `const { SpiffeId } = require('@spiffe-node/spiffe');\n` +
        `console.log(JSON.stringify({ id: SpiffeId.fromString('spiffe://example.org/cjs').toString(), subpaths }));\n`,
    );
  });

  for (const { version, node } of nodeBinaries()) {
    it(`is imported from ESM on Node.js ${version}: every subpath`, async () => {
      const r = await run(node, ['esm.mjs'], { cwd: project });
      assert.equal(r.code, 0, r.output);
      const out = JSON.parse(r.stdout) as { id: string; subpaths: number[] };
      assert.equal(out.id, 'spiffe://example.org/esm');
      assert.ok(
        out.subpaths.every((n) => n > 0),
        `a subpath exports nothing: ${r.stdout}`,
      );
    });

    it(`is required from CommonJS on Node.js ${version}, or fails with ERR_REQUIRE_ESM where require(esm) is off`, async () => {
      const probe = await run(node, ['-p', 'process.features.require_module === true'], { cwd: project });
      if (probe.stdout.trim() === 'true') {
        const r = await run(node, ['cjs.cjs'], { cwd: project });
        assert.equal(r.code, 0, r.output);
        const out = JSON.parse(r.stdout) as { id: string; subpaths: number[] };
        assert.equal(out.id, 'spiffe://example.org/cjs');
        assert.ok(
          out.subpaths.every((n) => n > 0),
          `a subpath exports nothing: ${r.stdout}`,
        );
        // The documented error of a Node.js without require(esm), reproduced with its switch.
        const off = await run(node, ['--no-experimental-require-module', 'cjs.cjs'], { cwd: project });
        assert.notEqual(off.code, 0, off.output);
        assert.match(off.stderr, /ERR_REQUIRE_ESM/, off.output);
      } else {
        const r = await run(node, ['cjs.cjs'], { cwd: project });
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.stderr, /ERR_REQUIRE_ESM/, r.output);
      }
    });
  }

  for (const resolution of ['node16', 'bundler'] as const) {
    it(`type-checks an import of every subpath with moduleResolution ${resolution} (skipLibCheck off)`, async () => {
      await typeCheck(join(project, `ts-${resolution}`), resolution, typedSubpaths());
    });
  }
});

describe('an empty npm project with the tarball and none of the optional peers', () => {
  let bare: string;
  const withoutPeers = (): string[] => typedSubpaths().filter((s) => !(s in PEER_SUBPATHS));

  before(async () => {
    bare = mkdtempSync(join(tmpdir(), 'spiffe-node-consumer-bare-'));
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare-consumer', version: '0.0.0', private: true }, null, 2));
    const r = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball, '@types/node@^20.19.0'],
      { cwd: bare },
    );
    assert.equal(r.code, 0, r.output);
  });

  after(() => {
    if (bare) rmSync(bare, { recursive: true, force: true });
  });

  it(`imports every subpath but ${Object.keys(PEER_SUBPATHS).join(', ')} from ESM`, async () => {
    const specs = withoutPeers().map(specifier);
    writeFileSync(
      join(bare, 'esm.mjs'),
      `${specs.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}\nconsole.log(${specs.map((_, i) => `Object.keys(m${i}).length`).join(' + ')});\n`,
    );
    const r = await run(process.execPath, ['esm.mjs'], { cwd: bare });
    assert.equal(r.code, 0, r.output);
  });

  it(`type-checks every subpath but ${Object.keys(PEER_SUBPATHS).join(', ')} (skipLibCheck off, node16)`, async () => {
    await typeCheck(join(bare, 'ts-node16'), 'node16', withoutPeers());
  });
});
