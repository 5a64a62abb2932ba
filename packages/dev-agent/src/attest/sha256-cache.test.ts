/**
 * `unix:sha256` must be the hash of the file the caller runs, not of what that file held when
 * the agent last hashed it. The agent caches hashes (hashing a large executable at every call
 * would be slow); a cache keyed by what the file's owner can set (size and modification time:
 * `utimensat` takes any time) lets that owner rewrite the file with other code of the same size,
 * put the old modification time back, and be attested with the old hash.
 *
 * The attacker is real: a copy of Debian's python3 (with padding appended, which the ELF loader
 * ignores) that the attacking user owns. Run once with the "trusted" padding, it is attested
 * with the hash the entry names; then its owner rewrites it in place with other padding (same
 * size, same inode), restores its times, and runs it again: it must be attested with the hash
 * of what it holds now, and so get nothing.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, realpathSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../admin/client.js';
import { startAgentProcess, tempDir, type AgentProcess } from '../testing/agent-process.js';
import { RAW_CLIENT_SCRIPT, type RawClientResult as ClientResult } from '../testing/raw-client.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
/** The access and modification times of the workload's file (2023-11-14), set by its owner. */
const FILE_TIME = 1_700_000_000;
const skip =
  process.platform !== 'linux'
    ? 'peer-credential attestation is Linux-only'
    : !existsSync(SYSTEM_PYTHON)
      ? `the attacker is a copy of ${SYSTEM_PYTHON}, which this system lacks`
      : false;

/**
 * The workload: connects, then a child runs the Workload API client on the connection while
 * this process (the one attested) stays as it is until it is killed.
 */
const WORKLOAD = String.raw`
import os, socket, sys, time
sock_path, node, client = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
fd = s.fileno()
os.set_inheritable(fd, True)
if os.fork() == 0:
    os.execv(node, [node, client, '--fd', str(fd)])
time.sleep(60)
`;

describe('unix:sha256 of a caller whose executable was rewritten in place', { skip }, () => {
  const dir = tempDir();
  const node = realpathSync(process.execPath);
  const app = join(dir.path, 'app');
  const workload = join(dir.path, 'workload.py');
  const client = join(dir.path, 'client.mjs');
  const python = skip === false ? readFileSync(realpathSync(SYSTEM_PYTHON)) : Buffer.alloc(0);
  const trusted = Buffer.concat([python, Buffer.alloc(4096, 'T')]);
  const rewritten = Buffer.concat([python, Buffer.alloc(4096, 'E')]);
  let agent: AgentProcess;

  before(async () => {
    writeFileSync(workload, WORKLOAD);
    writeFileSync(client, RAW_CLIENT_SCRIPT);
    writeFileSync(app, trusted, { mode: 0o755 });
    // Times its owner can put back exactly (utimes takes seconds, not nanoseconds).
    utimesSync(app, FILE_TIME, FILE_TIME);
    agent = await startAgentProcess(dir.path, ['-attestSha256']);
    await new AdminClient(agent.adminSocketPath).createEntry({
      spiffeId: 'spiffe://example.org/trusted',
      selectors: [`unix:sha256:${createHash('sha256').update(trusted).digest('hex')}`, `unix:uid:${process.getuid!()}`],
    });
  });

  after(async () => {
    await agent?.stop();
    dir.remove();
  });

  /** Runs `app` as the workload and returns the first JSON line its client prints. */
  const run = (): Promise<ClientResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(app, [workload, agent.socketPath, node, client], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      let err = '';
      const timer = setTimeout(() => finish(new Error(`no answer from the workload: ${out} ${err}`)), 30_000);
      const finish = (e: Error | undefined, result?: ClientResult): void => {
        clearTimeout(timer);
        // The whole process group: the workload and its client.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
        // Resolved once the workload is gone: its file cannot be written while it runs.
        child.once('exit', () => (e ? reject(e) : resolve(result!)));
      };
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) finish(undefined, JSON.parse(line) as ClientResult);
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    });

  it('attests the trusted content with its hash (the control)', async () => {
    assert.deepEqual(await run(), { ids: ['spiffe://example.org/trusted'] });
  });

  it('hashes what the file holds now after its owner rewrote it and put its times back', async () => {
    const before = statSync(app, { bigint: true });
    const fd = openSync(app, 'r+');
    try {
      writeSync(fd, rewritten, 0, rewritten.length, 0);
    } finally {
      closeSync(fd);
    }
    utimesSync(app, FILE_TIME, FILE_TIME);
    const now = statSync(app, { bigint: true });
    assert.equal(now.ino, before.ino);
    assert.equal(now.size, before.size);
    assert.equal(now.mtimeNs, before.mtimeNs, 'the rewritten file must show its old modification time');
    assert.deepEqual(await run(), { status: 7, message: 'no identity issued' });
  });
});
