/**
 * Attestation of two different Unix users by one agent: each gets its own SPIFFE ID, from its
 * peer credentials alone. Needs root (creates two system users, removed afterwards).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../admin/client.js';
import { runCommand, startAgentProcess, tempDir, type AgentProcess } from '../testing/agent-process.js';
import { RAW_CLIENT_SCRIPT } from '../testing/raw-client.js';

const isRoot = process.getuid?.() === 0;

function nodeRunnableByOthers(): boolean {
  try {
    // The users run the same node binary; it must be executable by them.
    accessSync(process.execPath, constants.X_OK);
    const mode = execFileSync('stat', ['-L', '-c', '%a', process.execPath]).toString().trim();
    return (parseInt(mode, 8) & 0o001) !== 0;
  } catch {
    return false;
  }
}

const skip = !isRoot
  ? 'needs root: it creates two Unix users and runs a client as each'
  : !nodeRunnableByOthers()
    ? `${process.execPath} is not executable by other users`
    : false;

describe('attestation of two Unix users by the same agent', { skip }, () => {
  const suffix = randomBytes(3).toString('hex');
  const users = [`sda-a-${suffix}`, `sda-b-${suffix}`, `sda-c-${suffix}`];
  const dir = tempDir();
  let agent: AgentProcess;
  let script: string;

  before(async () => {
    for (const user of users) execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', user]);
    // Workload users must reach the socket and the client script: the directory is 0755.
    chmodSync(dir.path, 0o755);
    script = join(dir.path, 'client.mjs');
    writeFileSync(script, RAW_CLIENT_SCRIPT, { mode: 0o644 });
    agent = await startAgentProcess(dir.path);
    const admin = new AdminClient(agent.adminSocketPath);
    const uidOf = (user: string): string => execFileSync('id', ['-u', user]).toString().trim();
    const gidOf = (user: string): string => execFileSync('id', ['-g', user]).toString().trim();
    await admin.createEntry({ spiffeId: 'spiffe://example.org/user-a', selectors: [`unix:user:${users[0]}`] });
    await admin.createEntry({
      spiffeId: 'spiffe://example.org/user-b',
      selectors: [`unix:uid:${uidOf(users[1]!)}`, `unix:gid:${gidOf(users[1]!)}`],
    });
  });

  after(async () => {
    await agent?.stop();
    for (const user of users) {
      try {
        execFileSync('userdel', [user], { stdio: 'ignore' });
      } catch {
        // Not created.
      }
    }
    dir.remove();
  });

  const runAs = async (user: string): Promise<{ ids?: string[]; status?: number; message?: string }> => {
    const res = await runCommand('runuser', ['-u', user, '--', process.execPath, script, agent.socketPath]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as { ids?: string[] };
  };

  it('gives each user its own SPIFFE ID', async () => {
    assert.deepEqual(await runAs(users[0]!), { ids: ['spiffe://example.org/user-a'] });
    assert.deepEqual(await runAs(users[1]!), { ids: ['spiffe://example.org/user-b'] });
  });

  it('gives a user without an entry PermissionDenied', async () => {
    assert.deepEqual(await runAs(users[2]!), { status: 7, message: 'no identity issued' });
  });

  it('logs the attested uid of each caller', () => {
    const log = agent.stderr();
    for (const user of users) {
      const uid = execFileSync('id', ['-u', user]).toString().trim();
      assert.match(log, new RegExp(`msg="Workload attested" method=FetchX509SVID pid=\\d+ uid=${uid} `));
    }
    assert.match(log, new RegExp(`selectors="[^"]*unix:user:${users[0]}[^"]*" identities=spiffe://example.org/user-a`));
  });
});
