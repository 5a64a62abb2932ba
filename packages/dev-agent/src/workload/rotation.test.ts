/**
 * Rotation: X509-SVIDs with a TTL of a few seconds are re-minted at half-life and pushed on open
 * streams; JWT keys rotated on demand are pushed in the JWT bundle, and tokens of the old key
 * still validate.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { AdminClient } from '../admin/client.js';
import {
  openStream,
  splitDer,
  startAgentProcess,
  tempDir,
  unary,
  workloadClient,
  type AgentProcess,
  type RawWorkloadClient,
} from '../testing/agent-process.js';

interface X509SvidResponse {
  svids: Array<{ spiffe_id: string; x509_svid: Buffer; bundle: Buffer }>;
}

describe('rotation', () => {
  const dir = tempDir();
  let agent: AgentProcess;
  let admin: AdminClient;
  let client: RawWorkloadClient;

  before(async () => {
    agent = await startAgentProcess(dir.path, ['-x509SVIDTTL', '4s']);
    admin = new AdminClient(agent.adminSocketPath);
    // Served in entry ID order: short, then long.
    await admin.createEntry({ id: 'a-short', spiffeId: 'spiffe://example.org/short', selectors: [`unix:uid:${process.getuid!()}`] });
    await admin.createEntry({
      id: 'b-long',
      spiffeId: 'spiffe://example.org/long',
      selectors: [`unix:uid:${process.getuid!()}`],
      x509SvidTtl: 3600,
    });
    client = workloadClient(agent.socketPath);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    dir.remove();
  });

  it('re-mints a short-lived X509-SVID at half-life and pushes it on the open stream', async () => {
    const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
    try {
      const first = await stream.message(1);
      const t1 = Date.now();
      const second = await stream.message(2, 8000);
      const elapsed = Date.now() - t1;
      const leaf = (r: X509SvidResponse, i: number) => new X509Certificate(splitDer(r.svids[i]!.x509_svid)[0]!);
      const a = leaf(first, 0);
      const b = leaf(second, 0);
      assert.notEqual(a.serialNumber, b.serialNumber, 'a new SVID');
      assert.deepEqual(
        second.svids.map((s) => s.spiffe_id),
        ['spiffe://example.org/short', 'spiffe://example.org/long'],
      );
      // Four-second TTL: expiry is four seconds after issuance; the next one came about two seconds later.
      const lifetime = new Date(a.validTo).getTime() - (new Date(a.validFrom).getTime() + 10_000);
      assert.ok(lifetime >= 3000 && lifetime <= 5000, `lifetime ${lifetime}`);
      assert.ok(elapsed < 4000, `pushed after ${elapsed} ms`);
      assert.ok(new Date(b.validTo).getTime() > new Date(a.validTo).getTime());
      // The hour-long SVID was not re-minted.
      assert.equal(leaf(first, 1).serialNumber, leaf(second, 1).serialNumber);
      // Both chain to the same bundle.
      const root = new X509Certificate(splitDer(second.svids[0]!.bundle)[0]!);
      const mid = new X509Certificate(splitDer(second.svids[0]!.x509_svid)[1]!);
      assert.ok(b.verify(mid.publicKey) && mid.verify(root.publicKey));
      await stream.message(3, 8000);
    } finally {
      stream.cancel();
    }
  });

  it('pushes the JWT bundle after a JWT key rotation; the old key stays published, its cached tokens are served no more', async () => {
    const stream = openStream<{ bundles: Record<string, Buffer> }>(client, 'FetchJWTBundles');
    try {
      const before = JSON.parse((await stream.message(1)).bundles['spiffe://example.org']!.toString()) as { keys: Array<{ kid: string }> };
      const old = await unary<{ svids: Array<{ svid: string }> }>(client, 'FetchJWTSVID', { audience: ['aud'] });
      const oldKid = decodeProtectedHeader(old.svids[0]!.svid).kid;
      const cached = await unary<{ svids: Array<{ svid: string }> }>(client, 'FetchJWTSVID', { audience: ['aud'] });
      assert.equal(cached.svids[0]!.svid, old.svids[0]!.svid, 'the same token while nothing changed');
      await admin.rotateJwt();
      const afterRotation = JSON.parse((await stream.message(2)).bundles['spiffe://example.org']!.toString()) as {
        keys: Array<{ kid: string }>;
      };
      assert.equal(afterRotation.keys.length, before.keys.length + 1);
      assert.ok(afterRotation.keys.some((k) => k.kid === oldKid));
      const fresh = await unary<{ svids: Array<{ svid: string }> }>(client, 'FetchJWTSVID', { audience: ['aud'] });
      const newKid = decodeProtectedHeader(fresh.svids[0]!.svid).kid;
      assert.notEqual(newKid, oldKid);
      assert.ok(afterRotation.keys.some((k) => k.kid === newKid));
      for (const token of [old.svids[0]!.svid, fresh.svids[0]!.svid]) {
        const res = await unary<{ spiffe_id: string }>(client, 'ValidateJWTSVID', { audience: 'aud', svid: token });
        assert.equal(res.spiffe_id, 'spiffe://example.org/short');
      }
    } finally {
      stream.cancel();
    }
  });
});
