import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../testing/agent-process.js';
import { loadPeerCredentialReader } from './peercred.js';
import { bootTicks, captureCallerProcess, CallerProcessError, processStartTime } from './caller-process.js';
import { attestUnix } from './unix.js';

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

  it(
    'reads the pid, uid and gid of the process at the other end of a Unix socket',
    { skip: loaded.reader ? false : loaded.error },
    async () => {
      const conn = await acceptOne(join(dir.path, 'a.sock'));
      try {
        assert.deepEqual(loaded.reader!.read(conn.server), { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      } finally {
        conn.close();
      }
    },
  );

  it(
    'asks the kernel which PID the process that connected has now: its own, then -1 once it has exited',
    { skip: loaded.reader ? false : loaded.error },
    async (t) => {
      const reader = loaded.reader!;
      const live = await acceptOne(join(dir.path, 'b.sock'));
      try {
        const now = reader.currentPeerPid(live.server);
        if (now === undefined) return t.skip('this kernel has no SO_PEERPIDFD (Linux 6.5+): only start times guard against PID reuse');
        assert.equal(now, process.pid);
      } finally {
        live.close();
      }
      // A peer that connected, exited and was reaped: SO_PEERCRED still names its PID, the kernel says it is gone.
      const path = join(dir.path, 'c.sock');
      // Not read from, so the peer's exit does not close it.
      const srv = createServer({ pauseOnConnect: true });
      await new Promise<void>((resolve) => srv.listen(path, resolve));
      try {
        const accepted = new Promise<Socket>((resolve) => srv.once('connection', resolve));
        const child = spawn(process.execPath, ['-e', `require('node:net').connect(${JSON.stringify(path)}, () => process.exit(0))`], {
          stdio: 'ignore',
        });
        const server = await accepted;
        await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
        assert.equal(reader.read(server).pid, child.pid);
        assert.equal(reader.currentPeerPid(server), -1);
        server.destroy();
      } finally {
        srv.close();
      }
    },
  );

  it(
    "derives SPIRE's unix selectors, and refuses a caller whose PID names another process",
    { skip: loaded.reader ? false : loaded.error },
    async () => {
      const reader = loaded.reader!;
      const cred = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
      const caller = captureCallerProcess(cred, bootTicks());
      assert.match(caller.startTime, /^\d+$/);
      assert.equal(caller.exe?.path, readlinkSync('/proc/self/exe'));
      const attested = await attestUnix(cred, caller, reader, { sha256: true });
      assert.equal(attested.refused, undefined);
      const selectors = attested.selectors ?? [];
      assert.ok(selectors.includes(`unix:uid:${cred.uid}`));
      assert.ok(selectors.includes(`unix:gid:${cred.gid}`));
      assert.ok(selectors.includes(`unix:user:${reader.userName(cred.uid)}`));
      assert.ok(selectors.includes(`unix:group:${reader.groupName(cred.gid)}`));
      assert.ok(selectors.includes(`unix:path:${readlinkSync('/proc/self/exe')}`));
      assert.ok(selectors.some((s) => /^unix:sha256:[0-9a-f]{64}$/.test(s)));
      // A start time that is not the process's: the PID was recycled, so the caller is refused.
      const recycled = await attestUnix(cred, { ...caller, startTime: '1' }, reader, { sha256: false });
      assert.match(recycled.refused ?? '', new RegExp(`^pid ${process.pid} now names another process`));
      // Another executable than the one recorded at accept time.
      const execd = await attestUnix(cred, { ...caller, exe: { dev: 0n, ino: 0n, path: '/usr/bin/trusted' } }, reader, { sha256: true });
      assert.match(execd.refused ?? '', /^executable changed from \/usr\/bin\/trusted to /);
      // Another effective uid than the kernel recorded at connect time.
      const setuid = await attestUnix(cred, { ...caller, cred: { ...cred, uid: cred.uid + 1 } }, reader, { sha256: false });
      assert.match(setuid.refused ?? '', /^effective uid changed from /);
      // Without sha256 asked for: no hash.
      assert.ok(!(await attestUnix(cred, caller, reader, { sha256: false })).selectors?.some((s) => s.startsWith('unix:sha256:')));
      // A PID the agent cannot look up (another PID namespace): the kernel's selectors only.
      assert.deepEqual(
        (await attestUnix({ ...cred, pid: 0 }, undefined, reader, { sha256: true })).selectors?.filter(
          (s) => !/^unix:(uid|gid|user|group):/.test(s),
        ),
        [],
      );
    },
  );

  it(
    'refuses at accept a PID whose process started after the connection was accepted (a reused PID)',
    { skip: process.platform !== 'linux' ? '/proc is Linux-only' : false },
    async () => {
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await new Promise((resolve) => child.once('spawn', resolve));
        const cred = { pid: child.pid!, uid: process.getuid!(), gid: process.getgid!() };
        const started = BigInt(processStartTime(child.pid!) ?? '0');
        assert.throws(
          () => captureCallerProcess(cred, started - 1n),
          (err: unknown) => {
            assert.ok(err instanceof CallerProcessError);
            assert.match(
              err.message,
              new RegExp(
                `^pid ${child.pid} was reused: the process now using it started at tick ${started}, after the connection was accepted`,
              ),
            );
            return true;
          },
        );
        assert.equal(captureCallerProcess(cred, bootTicks()).startTime, String(started));
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  it('resolves names of users and groups, and none for IDs that have none', { skip: loaded.reader ? false : loaded.error }, () => {
    assert.equal(loaded.reader!.userName(0), 'root');
    assert.equal(loaded.reader!.groupName(0), 'root');
    assert.equal(loaded.reader!.userName(3_999_999_999), undefined);
  });
});
