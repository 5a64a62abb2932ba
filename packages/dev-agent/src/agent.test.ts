/**
 * The programmatic API: the agent in-process, as tests of other packages run it.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevAgent, DevAgentError, type DevAgent } from './index.js';
import { openStream, tempDir, unary, workloadClient } from './testing/agent-process.js';

describe('startDevAgent (in-process)', () => {
  const dir = tempDir();
  let agent: DevAgent | undefined;
  after(async () => {
    await agent?.stop();
    dir.remove();
  });

  it('serves entries created through the API, rotates on demand, and stops cleanly', async () => {
    const lines: string[] = [];
    agent = await startDevAgent({
      socketPath: join(dir.path, 'pub', 'api.sock'),
      adminSocketPath: join(dir.path, 'priv', 'admin.sock'),
      dataDir: join(dir.path, 'data'),
      federatedTrustDomains: ['partner.org'],
      logger: { log: (level, msg) => lines.push(`${level} ${msg}`) },
    });
    assert.equal(agent.endpoint, `unix://${join(dir.path, 'pub', 'api.sock')}`);
    assert.equal(agent.agentId.toString(), 'spiffe://example.org/host');
    assert.equal(agent.trustDomain.name, 'example.org');
    assert.ok(agent.attestsPeers);
    const entry = await agent.createEntry({ spiffeId: 'spiffe://example.org/in-process', selectors: [`unix:uid:${process.getuid!()}`] });
    assert.equal(entry.parentId, 'spiffe://example.org/host');
    await assert.rejects(
      agent.createEntry({ spiffeId: 'spiffe://example.org/in-process', selectors: [`unix:uid:${process.getuid!()}`] }),
      (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_ENTRY_EXISTS',
    );
    assert.deepEqual(
      agent.listEntries().map((e) => e.id),
      [entry.id],
    );
    assert.match(agent.bundlePem(), /^-----BEGIN CERTIFICATE-----/);
    assert.notEqual(agent.bundlePem('partner.org'), agent.bundlePem());
    assert.equal(agent.x509Authorities().length, 1);
    assert.throws(() => agent!.bundlePem('unknown.org'), /no CA for trust domain "unknown.org"/);

    const client = workloadClient(agent.socketPath);
    try {
      const stream = openStream<{ svids: Array<{ spiffe_id: string; x509_svid: Buffer }> }>(client, 'FetchX509SVID');
      const first = await stream.message(1);
      assert.equal(first.svids[0]!.spiffe_id, 'spiffe://example.org/in-process');
      await agent.rotateNow();
      const second = await stream.message(2);
      assert.notDeepEqual(second.svids[0]!.x509_svid, first.svids[0]!.x509_svid);
      const jwtStream = openStream<{ bundles: Record<string, Buffer> }>(client, 'FetchJWTBundles');
      const keysBefore = (JSON.parse((await jwtStream.message(1)).bundles['spiffe://example.org']!.toString()) as { keys: unknown[] }).keys
        .length;
      await agent.rotateJwtKeys();
      const keysAfter = (JSON.parse((await jwtStream.message(2)).bundles['spiffe://example.org']!.toString()) as { keys: unknown[] }).keys
        .length;
      assert.equal(keysAfter, keysBefore + 1);
      jwtStream.cancel();
      await agent.deleteEntry(entry.id);
      assert.equal((await stream.failure()).details, 'no identity issued');
    } finally {
      client.close();
    }
    await agent.stop();
    await agent.stop();
    assert.equal(existsSync(agent.socketPath), false);
    assert.equal(existsSync(agent.adminSocketPath), false);
    assert.ok(lines.includes('info Agent stopped'));
    agent = undefined;
  });

  it('without peer credentials, issues only through identity sockets (the fallback)', async () => {
    const fallbackDir = tempDir();
    const fallbackSocket = join(fallbackDir.path, 'ids', 'me.sock');
    const lines: string[] = [];
    const fallback = await startDevAgent({
      socketPath: join(fallbackDir.path, 'pub', 'api.sock'),
      adminSocketPath: join(fallbackDir.path, 'priv', 'admin.sock'),
      dataDir: join(fallbackDir.path, 'data'),
      peerCredentials: false,
      identitySockets: [{ spiffeId: 'spiffe://example.org/me', socketPath: fallbackSocket }],
      logger: { log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`) },
    });
    const publicClient = workloadClient(fallback.socketPath);
    const idClient = workloadClient(fallbackSocket);
    try {
      assert.equal(fallback.attestsPeers, false);
      assert.ok(lines.some((l) => l.startsWith('warn Workload attestation by peer credentials is unavailable')));
      await fallback.createEntry({ spiffeId: 'spiffe://example.org/me', selectors: [`unix:uid:${process.getuid!()}`] });
      // The entry's selectors match this process, but the public socket cannot attest it.
      const denied = await openStream(publicClient, 'FetchX509SVID').failure();
      assert.equal(denied.details, 'no identity issued');
      assert.ok(lines.some((l) => l.includes('caller not attested: peer credentials disabled')));
      // A caller that cannot be attested validates nothing either.
      await assert.rejects(
        unary(publicClient, 'ValidateJWTSVID', { audience: 'a', svid: 'a.b.c' }),
        (err: { code?: number; details?: string }) => err.code === 7 && err.details === 'no identity issued',
      );
      const stream = openStream<{ svids: Array<{ spiffe_id: string }> }>(idClient, 'FetchX509SVID');
      assert.deepEqual(
        (await stream.message(1)).svids.map((s) => s.spiffe_id),
        ['spiffe://example.org/me'],
      );
      stream.cancel();
    } finally {
      publicClient.close();
      idClient.close();
      await fallback.stop();
      fallbackDir.remove();
    }
    assert.equal(existsSync(fallbackSocket), false);
  });
});
