import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/fixtures.js';
import { writeFileAtomic } from './atomic.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir('atomic-');
});
afterEach(() => dir.remove());

describe('writeFileAtomic', () => {
  it('replaces a file with the exact mode, whatever the umask, leaving no temporary file', async () => {
    const path = join(dir.path, 'svid.0.key');
    writeFileSync(path, 'old', { mode: 0o644 });
    const before = statSync(path).ino;
    const old = process.umask(0o022);
    try {
      await writeFileAtomic(path, 'new key', 0o600);
      await writeFileAtomic(join(dir.path, 'svid.0.pem'), Buffer.from('cert'), 0o644);
    } finally {
      process.umask(old);
    }
    assert.equal(readFileSync(path, 'utf8'), 'new key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.notEqual(statSync(path).ino, before, 'a new inode: readers of the old file keep the old contents');
    assert.equal(statSync(join(dir.path, 'svid.0.pem')).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir.path).sort(), ['svid.0.key', 'svid.0.pem']);
  });

  it('fails without leaving a temporary file when the target cannot be replaced', async () => {
    await assert.rejects(writeFileAtomic(join(dir.path, 'no', 'such', 'dir', 'f'), 'x', 0o600), /ENOENT/);
    // A directory in the way: the rename fails, the temporary file is removed.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir.path, 'taken'));
    writeFileSync(join(dir.path, 'taken', 'inside'), 'x');
    await assert.rejects(writeFileAtomic(join(dir.path, 'taken'), 'x', 0o600));
    assert.deepEqual(readdirSync(dir.path), ['taken']);
  });
});
