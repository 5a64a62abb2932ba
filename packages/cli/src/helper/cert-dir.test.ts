import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/fixtures.js';
import { CertDir, DATA_LINK } from './cert-dir.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir('cert-dir-');
});
afterEach(() => dir.remove());

const generations = (path: string): string[] => readdirSync(path).filter((n) => n.startsWith('..') && n !== DATA_LINK);

describe('CertDir', () => {
  it('creates the directory, links each name through ..data, applies each mode exactly', async () => {
    const path = join(dir.path, 'certs');
    const certDir = new CertDir(path);
    const old = process.umask(0o077);
    try {
      await certDir.write([
        { name: 'svid.pem', data: 'cert 1', mode: 0o644 },
        { name: 'svid_key.pem', data: 'key 1', mode: 0o600 },
      ]);
    } finally {
      process.umask(old);
    }
    assert.equal(readlinkSync(join(path, 'svid.pem')), join(DATA_LINK, 'svid.pem'));
    assert.ok(lstatSync(join(path, DATA_LINK)).isSymbolicLink());
    assert.equal(readFileSync(join(path, 'svid.pem'), 'utf8'), 'cert 1');
    assert.equal(statSync(join(path, 'svid.pem')).mode & 0o777, 0o644, 'the mode survives a restrictive umask');
    assert.equal(statSync(join(path, 'svid_key.pem')).mode & 0o777, 0o600);
    assert.equal(generations(path).length, 1);
    assert.equal(statSync(join(path, generations(path)[0] as string)).mode & 0o777, 0o755);
  });

  it('switches every name at once per write and keeps only the current generation', async () => {
    const certDir = new CertDir(dir.path);
    for (let i = 1; i <= 3; i++) {
      await certDir.write([
        { name: 'a', data: `a${i}`, mode: 0o644 },
        { name: 'b', data: `b${i}`, mode: 0o600 },
      ]);
      const data = readlinkSync(join(dir.path, DATA_LINK));
      assert.equal(readFileSync(join(dir.path, data, 'a'), 'utf8'), `a${i}`);
      assert.equal(readFileSync(join(dir.path, 'b'), 'utf8'), `b${i}`);
      assert.deepEqual(generations(dir.path), [data]);
    }
  });

  it('serialises concurrent writes: the last one wins, none is lost half-way', async () => {
    const certDir = new CertDir(dir.path);
    await Promise.all([1, 2, 3, 4].map((i) => certDir.write([{ name: 'x', data: `v${i}`, mode: 0o600 }])));
    assert.equal(readFileSync(join(dir.path, 'x'), 'utf8'), 'v4');
    assert.equal(generations(dir.path).length, 1);
  });

  it('adopts regular files of an earlier run unchanged before the first switch', async () => {
    writeFileSync(join(dir.path, 'svid.pem'), 'old cert', { mode: 0o640 });
    writeFileSync(join(dir.path, 'unrelated.txt'), 'left alone');
    const certDir = new CertDir(dir.path);
    await certDir.write([
      { name: 'svid.pem', data: 'new cert', mode: 0o644 },
      { name: 'svid_key.pem', data: 'new key', mode: 0o600 },
    ]);
    assert.ok(lstatSync(join(dir.path, 'svid.pem')).isSymbolicLink());
    assert.equal(readFileSync(join(dir.path, 'svid.pem'), 'utf8'), 'new cert');
    assert.equal(readFileSync(join(dir.path, 'unrelated.txt'), 'utf8'), 'left alone');
    assert.ok(lstatSync(join(dir.path, 'unrelated.txt')).isFile());
    assert.equal(generations(dir.path).length, 1);
  });

  it('refuses to replace a directory that has the name of a file, and keeps the previous generation', async () => {
    const certDir = new CertDir(dir.path);
    await certDir.write([{ name: 'a', data: 'one', mode: 0o644 }]);
    mkdirSync(join(dir.path, 'b'));
    await assert.rejects(
      certDir.write([
        { name: 'a', data: 'two', mode: 0o644 },
        { name: 'b', data: 'x', mode: 0o644 },
      ]),
      /is a directory/,
    );
    // The counterpart: a set without the clash goes through.
    await certDir.write([{ name: 'a', data: 'three', mode: 0o644 }]);
    assert.equal(readFileSync(join(dir.path, 'a'), 'utf8'), 'three');
  });
});
