import { strict as assert } from 'node:assert';
import { readlinkSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../testing/agent-process.js';
import { loadPeerCredentialReader } from './peercred.js';
import { attestUnix, processStartTime } from './unix.js';

async function acceptOne(path: string): Promise<{ server: Socket; client: Socket; close(): void }> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => srv.once('connection', resolve));
  const client = createConnection(path);
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

describe('unix attestation', () => {
  const dir = tempDir();
  after(() => dir.remove());
  const loaded = loadPeerCredentialReader();

  it('loads the peer credential reader on Linux', { skip: process.platform !== 'linux' ? 'SO_PEERCRED is Linux-only' : false }, () => {
    assert.equal(loaded.error, undefined);
    assert.ok(loaded.reader);
  });

  it('reads the pid, uid and gid of the process at the other end of a Unix socket', { skip: loaded.reader ? false : loaded.error }, async () => {
    const conn = await acceptOne(join(dir.path, 'a.sock'));
    try {
      assert.deepEqual(loaded.reader!.read(conn.server), { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    } finally {
      conn.close();
    }
  });

  it('derives SPIRE\'s unix selectors, and drops the /proc ones when the PID names another process', { skip: loaded.reader ? false : loaded.error }, async () => {
    const reader = loaded.reader!;
    const cred = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    const start = processStartTime(process.pid);
    assert.match(start ?? '', /^\d+$/);
    const selectors = await attestUnix(cred, start, reader, { sha256: true });
    assert.ok(selectors.includes(`unix:uid:${cred.uid}`));
    assert.ok(selectors.includes(`unix:gid:${cred.gid}`));
    assert.ok(selectors.includes(`unix:user:${reader.userName(cred.uid)}`));
    assert.ok(selectors.includes(`unix:group:${reader.groupName(cred.gid)}`));
    assert.ok(selectors.includes(`unix:path:${readlinkSync('/proc/self/exe')}`));
    assert.ok(selectors.some((s) => /^unix:sha256:[0-9a-f]{64}$/.test(s)));
    // A start time that is not the process's: the PID was recycled, so nothing from /proc.
    const recycled = await attestUnix(cred, '1', reader, { sha256: false });
    assert.ok(recycled.includes(`unix:uid:${cred.uid}`));
    assert.ok(!recycled.some((s) => s.startsWith('unix:path:') || s.startsWith('unix:supplementary_gid:')));
    // Without sha256 asked for: no hash.
    assert.ok(!(await attestUnix(cred, start, reader, { sha256: false })).some((s) => s.startsWith('unix:sha256:')));
  });

  it('resolves names of users and groups, and none for IDs that have none', { skip: loaded.reader ? false : loaded.error }, () => {
    assert.equal(loaded.reader!.userName(0), 'root');
    assert.equal(loaded.reader!.groupName(0), 'root');
    assert.equal(loaded.reader!.userName(3_999_999_999), undefined);
  });
});
