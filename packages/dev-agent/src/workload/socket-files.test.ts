/**
 * The agent's sockets on the file system: each is created with its final mode by bind() (no
 * chmod that could follow a symlink), in a directory nobody else can replace it in. The race test
 * drives a real attacker: another Unix user who owns the identity socket's directory (as the
 * README suggests) and swaps the socket for a symlink to a root-owned file as soon as it appears,
 * while the agent starts again and again.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startDevAgent, type DevAgentOptions } from '../index.js';
import { DevAgentError } from '../errors.js';
import { tempDir } from '../testing/agent-process.js';

const isRoot = process.getuid?.() === 0;

/** Options of an in-process agent under `dir` that records its log lines. */
function agentOptions(dir: string, lines: string[], extra: Partial<DevAgentOptions> = {}): DevAgentOptions {
  return {
    socketPath: join(dir, 'pub', 'api.sock'),
    adminSocketPath: join(dir, 'priv', 'admin.sock'),
    dataDir: join(dir, 'data'),
    peerCredentials: false,
    logger: { log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`) },
    ...extra,
  };
}

const mode = (path: string): number => lstatSync(path).mode & 0o7777;

describe('socket files', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('creates the public socket 0777 in a 0755 directory, the admin socket 0600 in a 0700 one, and a missing identity socket directory 0700', async () => {
    const lines: string[] = [];
    const idSocket = join(dir.path, 'ids', 'me.sock');
    const agent = await startDevAgent(
      agentOptions(dir.path, lines, { identitySockets: [{ spiffeId: 'spiffe://example.org/me', socketPath: idSocket }] }),
    );
    try {
      assert.equal(mode(agent.socketPath), 0o777);
      assert.equal(mode(join(dir.path, 'pub')), 0o755);
      assert.equal(mode(agent.adminSocketPath), 0o600);
      assert.equal(mode(join(dir.path, 'priv')), 0o700);
      assert.equal(mode(join(dir.path, 'ids')), 0o700);
      assert.equal(mode(idSocket), 0o777);
      // The process umask is the caller's again.
      assert.equal(process.umask(0o022), 0o022);
    } finally {
      await agent.stop();
    }
  });

  it('refuses an identity socket directory that other users may write to, and logs why', async () => {
    const lines: string[] = [];
    const open = join(dir.path, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const options = agentOptions(dir.path, lines, {
      identitySockets: [{ spiffeId: 'spiffe://example.org/me', socketPath: join(open, 'me.sock') }],
    });
    await assert.rejects(startDevAgent(options), (err: unknown) => {
      assert.ok(err instanceof DevAgentError);
      assert.equal(err.code, 'ERR_AGENT_STATE');
      assert.match(err.message, /writable by other users .*without the sticky bit/);
      return true;
    });
    assert.ok(
      lines.some((l) => l.startsWith('error Refused an unsafe socket directory') && l.includes(`"directory":"${open}"`)),
      lines.join('\n'),
    );
  });

  it('refuses an identity socket directory whose parent other users may write to', async () => {
    const lines: string[] = [];
    const parent = join(dir.path, 'open-parent');
    mkdirSync(join(parent, 'ids'), { recursive: true });
    chmodSync(parent, 0o777);
    const options = agentOptions(dir.path, lines, {
      identitySockets: [{ spiffeId: 'spiffe://example.org/me', socketPath: join(parent, 'ids', 'me.sock') }],
    });
    await assert.rejects(startDevAgent(options), /open-parent \(mode 0777\) is writable by other users without the sticky bit/);
    assert.ok(
      lines.some((l) => l.startsWith('error Refused an unsafe socket directory')),
      lines.join('\n'),
    );
  });

  it('accepts a sticky, root-owned directory that everyone may write to (like /tmp)', async () => {
    const lines: string[] = [];
    const sticky = join(dir.path, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const agent = await startDevAgent(
      agentOptions(dir.path, lines, { identitySockets: [{ spiffeId: 'spiffe://example.org/me', socketPath: join(sticky, 'me.sock') }] }),
    );
    await agent.stop();
  });
});

/** The attacker: swaps the socket for a symlink to the victim as soon as it is a socket. */
const ATTACKER = `
import fs from 'node:fs';
const [sock, victim] = process.argv.slice(2);
const link = sock + '.evil';
console.log('ready');
for (;;) {
  let st;
  try { st = fs.lstatSync(sock); } catch { continue; }
  if (!st.isSocket()) continue;
  try { fs.symlinkSync(victim, link); } catch {}
  try { fs.renameSync(link, sock); } catch {}
}
`;

describe(
  'an identity socket directory owned by a hostile workload user',
  { skip: isRoot ? false : 'needs root: the attacker runs as another Unix user' },
  () => {
    const user = `sda-race-${randomBytes(3).toString('hex')}`;
    const dir = tempDir();
    let uid: number;
    let gid: number;

    before(() => {
      execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', user]);
      uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      gid = Number(execFileSync('id', ['-g', user]).toString().trim());
      chmodSync(dir.path, 0o755);
    });

    after(() => {
      try {
        execFileSync('userdel', [user], { stdio: 'ignore' });
      } catch {
        // Not created.
      }
      dir.remove();
    });

    it('never changes the mode of the file a symlink swapped in for the socket points to', async () => {
      const workloadDir = join(dir.path, 'workload');
      mkdirSync(workloadDir, { mode: 0o700 });
      chownSync(workloadDir, uid, gid);
      const socketPath = join(workloadDir, 'api.sock');
      const victim = join(dir.path, 'victim');
      writeFileSync(victim, 'secret\n', { mode: 0o600 });
      const script = join(dir.path, 'attacker.mjs');
      writeFileSync(script, ATTACKER, { mode: 0o644 });

      const attacker = spawn(process.execPath, [script, socketPath, victim], { uid, gid, stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve, reject) => {
          attacker.stdout.once('data', () => resolve());
          attacker.once('exit', (code) => reject(new Error(`the attacker exited with ${code}`)));
        });
        const lines: string[] = [];
        const options = agentOptions(dir.path, lines, { identitySockets: [{ spiffeId: 'spiffe://example.org/w', socketPath }] });
        let started = 0;
        let refused = 0;
        for (let round = 0; round < 40; round += 1) {
          rmSync(socketPath, { force: true });
          try {
            const agent = await startDevAgent(options);
            started += 1;
            await agent.stop();
          } catch (err) {
            // Under attack the agent may refuse to start, saying why; it never fails otherwise.
            assert.ok(err instanceof DevAgentError && err.code === 'ERR_AGENT_STATE', String(err));
            refused += 1;
          }
          assert.equal(mode(victim), 0o600, `round ${round}: the victim's mode changed`);
        }
        assert.equal(started + refused, 40);
        assert.equal(statSync(victim).uid, 0);
      } finally {
        attacker.kill('SIGKILL');
      }
    });

    it('refuses to follow a symlink another user planted where its directories go (the defaults are in /tmp)', async () => {
      // Like /tmp: root's, sticky, everyone may create entries in it.
      const sharedTmp = join(dir.path, 'tmp');
      mkdirSync(sharedTmp);
      chmodSync(sharedTmp, 0o1777);
      // A root-owned directory the attacker cannot write to, holding a directory the agent would chmod.
      const victim = join(dir.path, 'victim-etc');
      mkdirSync(join(victim, 'private'), { recursive: true, mode: 0o755 });
      chmodSync(join(victim, 'private'), 0o750);
      // Before the agent first starts, the attacker claims the name of its state directory.
      const planted = join(sharedTmp, 'spiffe-dev-agent');
      execFileSync('ln', ['-s', victim, planted], { uid, gid });
      for (const [name, extra] of [
        ['data directory', { dataDir: join(planted, 'data') }],
        ['admin socket', { adminSocketPath: join(planted, 'private', 'admin.sock') }],
        ['public socket', { socketPath: join(planted, 'public', 'api.sock') }],
        ['identity socket', { identitySockets: [{ spiffeId: 'spiffe://example.org/w', socketPath: join(planted, 'ids', 'w.sock') }] }],
      ] as const) {
        const outcome = await startDevAgent(agentOptions(join(dir.path, 'own'), [], extra)).catch((err: unknown) => err);
        if (!(outcome instanceof Error)) {
          await (outcome as { stop(): Promise<void> }).stop();
          assert.fail(`${name}: the agent started through the planted symlink`);
        }
        assert.ok(outcome instanceof DevAgentError && outcome.code === 'ERR_AGENT_STATE', `${name}: ${String(outcome)}`);
        assert.match(outcome.message, new RegExp(`${planted} is a symlink owned by uid ${uid}`), name);
      }
      assert.equal(mode(join(victim, 'private')), 0o750, 'the agent changed the mode of a directory the symlink leads to');
      assert.deepEqual(readdirSync(victim), ['private'], 'the agent created something where the symlink leads');
    });
  },
);
