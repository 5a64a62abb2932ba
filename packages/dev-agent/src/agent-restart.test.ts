/**
 * The agent process across restarts: state kept in the data directory, clean exits on SIGTERM
 * and SIGINT that remove the sockets, and a data directory that two agents cannot share.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { AdminClient } from './admin/client.js';
import { startAgentProcess, tempDir } from './testing/agent-process.js';

describe('agent restarts', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('keeps the trust bundle, JWT keys and entries, and exits cleanly on SIGTERM and SIGINT', async () => {
    const first = await startAgentProcess(dir.path);
    const admin = new AdminClient(first.adminSocketPath);
    const entry = await admin.createEntry({ spiffeId: 'spiffe://example.org/kept', selectors: ['unix:uid:1234'] });
    const bundle = await admin.bundle('pem');
    const jwks = await admin.bundle('jwks');
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.equal(existsSync(first.socketPath), false, 'public socket removed');
    assert.equal(existsSync(first.adminSocketPath), false, 'admin socket removed');
    assert.match(first.stderr(), /Agent stopped/);

    const second = await startAgentProcess(dir.path);
    try {
      const admin2 = new AdminClient(second.adminSocketPath);
      assert.equal(await admin2.bundle('pem'), bundle, 'same root');
      assert.equal(await admin2.bundle('jwks'), jwks, 'same JWT keys');
      assert.deepEqual(
        (await admin2.listEntries()).map((e) => e.id),
        [entry.id],
      );
    } finally {
      assert.equal(await second.stop('SIGINT'), 0);
    }
    assert.equal(existsSync(second.socketPath), false);
  });

  it('refuses a data directory another running agent holds, and a socket another agent listens on', async () => {
    const running = await startAgentProcess(dir.path);
    try {
      const other = tempDir();
      try {
        await assert.rejects(startAgentProcess(other.path, ['-dataDir', running.dataDir]), /in use by another agent/);
        await assert.rejects(startAgentProcess(other.path, ['-socketPath', running.socketPath]), /another process is listening/);
        // The valid counterpart: its own directory and sockets.
        const ok = await startAgentProcess(other.path);
        assert.equal(await ok.stop(), 0, ok.stderr());
      } finally {
        other.remove();
      }
    } finally {
      await running.stop();
    }
  });
});
