import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OptionalPeerError } from '../errors.js';
import { loadOptionalPeer } from './optional-peer.js';

describe('loadOptionalPeer', () => {
  it('loads an installed peer once, the copy this package resolves', () => {
    const grpc = loadOptionalPeer<object>('@grpc/grpc-js', '>= 1.14', 'test');
    assert.equal(grpc, createRequire(import.meta.url)('@grpc/grpc-js'));
    assert.equal(loadOptionalPeer<object>('@grpc/grpc-js', '>= 1.14', 'test'), grpc);
  });

  it('says which function needs a missing peer and how to install it', () => {
    assert.throws(
      () => loadOptionalPeer('@spiffe-node/no-such-package', '>= 1', 'grpcChannelCredentials'),
      (err: Error & { code?: string }) =>
        err instanceof OptionalPeerError &&
        err.code === 'ERR_OPTIONAL_PEER_MISSING' &&
        err.packageName === '@spiffe-node/no-such-package' &&
        err.message ===
          'grpcChannelCredentials: the optional peer dependency "@spiffe-node/no-such-package" (>= 1) is not installed; run `npm install @spiffe-node/no-such-package`',
    );
  });

  it('is not reached by importing the package: neither grpc-js nor undici is loaded', () => {
    const index = fileURLToPath(new URL('../index.ts', import.meta.url));
    const script = `await import(${JSON.stringify(index)}); await import(${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))});
      const { createRequire } = await import('node:module');
      const cache = createRequire(import.meta.url).cache;
      console.log(JSON.stringify(Object.keys(cache).filter((k) => /[\\\\/](@grpc|undici)[\\\\/]/.test(k))));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '[]');
  });

  describe('where a peer is looked for', () => {
    const PEER = '@spiffe-node/planted-peer';
    const loader = fileURLToPath(new URL('./optional-peer.ts', import.meta.url));
    const tsx = import.meta.resolve('tsx');

    /** A package `PEER` under `dir`/node_modules that says where it was loaded from when required. */
    function plant(dir: string, label: string): void {
      const pkg = join(dir, 'node_modules', '@spiffe-node', 'planted-peer');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: PEER, version: '1.0.0', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), `console.log('LOADED ${label}'); module.exports = { label: ${JSON.stringify(label)} };`);
    }

    /** Runs `entry` (an application script that asks for PEER) with `cwd`; what it printed. */
    function runApp(entry: string, cwd: string): { stdout: string; status: number | null } {
      const r = spawnSync(process.execPath, ['--import', tsx, entry], { cwd, encoding: 'utf8' });
      return { stdout: r.stdout.trim(), status: r.status };
    }

    function appScript(dir: string): string {
      const entry = join(dir, 'main.mjs');
      writeFileSync(
        entry,
        `const { loadOptionalPeer } = await import(${JSON.stringify(loader)});
         try { console.log('GOT ' + loadOptionalPeer(${JSON.stringify(PEER)}, '>= 1', 'app').label); }
         catch (err) { console.log('MISSING ' + err.code); }`,
      );
      return entry;
    }

    it('never loads a module planted in node_modules of the working directory', () => {
      const root = mkdtempSync(join(tmpdir(), 'spiffe-peer-'));
      try {
        const shared = join(root, 'shared');
        const app = join(root, 'app');
        mkdirSync(shared);
        mkdirSync(app);
        plant(shared, 'planted by another user');
        const r = runApp(appScript(app), shared);
        assert.equal(r.status, 0);
        assert.equal(r.stdout, 'MISSING ERR_OPTIONAL_PEER_MISSING', 'the planted module was not even run');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it("finds a peer beside the application's entry script, through a symlink to it", () => {
      const root = mkdtempSync(join(tmpdir(), 'spiffe-peer-'));
      try {
        const app = join(root, 'app');
        const bin = join(root, 'bin');
        mkdirSync(app);
        mkdirSync(bin);
        plant(app, 'the application');
        const entry = appScript(app);
        symlinkSync(entry, join(bin, 'main.mjs'));
        assert.equal(runApp(entry, root).stdout, 'LOADED the application\nGOT the application');
        assert.equal(runApp(join(bin, 'main.mjs'), bin).stdout, 'LOADED the application\nGOT the application');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
