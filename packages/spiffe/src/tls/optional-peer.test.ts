import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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
        err.code === 'ERR_MODULE_NOT_FOUND' &&
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
});
