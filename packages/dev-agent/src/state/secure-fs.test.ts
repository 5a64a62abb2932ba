/**
 * The walk that keeps the agent's directories off other users' symlinks follows links as the
 * kernel does (relative targets from the link's directory, `..` after a link leaving its
 * target, links to links), so it checks the very path the agent then uses. The end-to-end attack
 * (another user plants the link) is in `workload/socket-files.test.ts`.
 */
import { strict as assert } from 'node:assert';
import { lchownSync, mkdirSync, symlinkSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { tempDir } from '../testing/agent-process.js';
import { untrustedSymlinkOnPath } from './secure-fs.js';

describe('untrustedSymlinkOnPath', { skip: process.getuid?.() === 0 ? false : 'needs root: it gives a symlink to another uid' }, () => {
  const dir = tempDir();
  after(() => dir.remove());
  const d = dir.path;
  const other = 65534;
  mkdirSync(`${d}/real/sub`, { recursive: true });
  symlinkSync(`${d}/real`, `${d}/mine`);
  symlinkSync('real/sub', `${d}/relative`);
  symlinkSync(`${d}/real/sub`, `${d}/theirs`);
  symlinkSync('theirs', `${d}/to-theirs`);

  it("follows the agent's own links, absolute and relative, and stops at what does not exist yet", async () => {
    lchownSync(`${d}/theirs`, other, other);
    assert.equal(await untrustedSymlinkOnPath(`${d}/mine/sub/new/admin`), undefined);
    assert.equal(await untrustedSymlinkOnPath(`${d}/relative/../new`), undefined);
    assert.equal(await untrustedSymlinkOnPath(`${d}/missing/theirs`), undefined);
  });

  it("refuses another user's link, reached directly, through a link, or after a `..` that leaves a link's target", async () => {
    lchownSync(`${d}/theirs`, other, other);
    const refused = new RegExp(`^${d}/theirs is a symlink owned by uid ${other}, who chooses where it leads`);
    assert.match((await untrustedSymlinkOnPath(`${d}/theirs/x`)) ?? '', refused);
    assert.match((await untrustedSymlinkOnPath(`${d}/to-theirs/x`)) ?? '', refused);
    // mine/.. is the parent of mine's target (d), so mine/../theirs is d/theirs.
    assert.match((await untrustedSymlinkOnPath(`${d}/mine/../theirs/x`)) ?? '', refused);
  });
});
