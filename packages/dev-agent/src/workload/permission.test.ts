/**
 * Who gets an identity: PermissionDenied for a caller no entry matches (which may still validate
 * JWT-SVIDs, as with SPIRE), the per-identity socket fallback, and entries whose parent is not
 * this agent.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../admin/client.js';
import {
  openStream,
  securityHeader,
  splitDer,
  startAgentProcess,
  tempDir,
  unary,
  workloadClient,
  type AgentProcess,
  type RawWorkloadClient,
} from '../testing/agent-process.js';

interface X509SvidResponse {
  svids: Array<{ spiffe_id: string; x509_svid: Buffer }>;
}

const uid = process.getuid!();
const denied = (err: grpc.ServiceError): boolean => err.code === grpc.status.PERMISSION_DENIED && err.details === 'no identity issued';

describe('callers without a matching entry', () => {
  const dir = tempDir();
  let agent: AgentProcess;
  let admin: AdminClient;
  let client: RawWorkloadClient;
  let fallbackSocket: string;

  before(async () => {
    fallbackSocket = join(dir.path, 'identities', 'fallback.sock');
    agent = await startAgentProcess(dir.path, ['-identitySocket', `spiffe://example.org/fallback=${fallbackSocket}`]);
    admin = new AdminClient(agent.adminSocketPath);
    // Entries for somebody else, and one for us under a parent that is not this agent.
    await admin.createEntry({
      spiffeId: 'spiffe://example.org/fallback',
      parentId: 'spiffe://example.org/host',
      selectors: ['unix:uid:4242424'],
    });
    await admin.createEntry({
      spiffeId: 'spiffe://example.org/not-here',
      parentId: 'spiffe://example.org/spire/agent/x',
      selectors: [`unix:uid:${uid}`],
    });
    client = workloadClient(agent.socketPath);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    dir.remove();
  });

  it('answers PermissionDenied "no identity issued" on every method but ValidateJWTSVID', async () => {
    for (const method of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles']) {
      const err = await openStream(client, method).failure();
      assert.ok(denied(err), `${method}: ${err.code} ${err.details}`);
    }
    await assert.rejects(unary(client, 'FetchJWTSVID', { audience: ['a'] }), denied);
  });

  it("validates JWT-SVIDs for a caller without an entry, against the agent's own bundle (as SPIRE does)", async () => {
    // A token of this trust domain, fetched on the identity socket.
    const fallback = workloadClient(fallbackSocket);
    let token: string;
    try {
      token = (await unary<{ svids: Array<{ svid: string }> }>(fallback, 'FetchJWTSVID', { audience: ['verifier'] })).svids[0]!.svid;
    } finally {
      fallback.close();
    }
    const ok = await unary<{ spiffe_id: string }>(client, 'ValidateJWTSVID', { audience: 'verifier', svid: token });
    assert.equal(ok.spiffe_id, 'spiffe://example.org/fallback');
    const invalid =
      (details: RegExp) =>
      (err: grpc.ServiceError): boolean =>
        err.code === grpc.status.INVALID_ARGUMENT && details.test(err.details);
    await assert.rejects(
      unary(client, 'ValidateJWTSVID', { audience: 'other', svid: token }),
      invalid(/^expected audience in \["other"\] \(audience=\["verifier"\]\)$/),
    );
    await assert.rejects(unary(client, 'ValidateJWTSVID', { audience: 'verifier', svid: 'a.b.c' }), invalid(/malformed/));
    // The security header is still required.
    await assert.rejects(
      unary(client, 'ValidateJWTSVID', { audience: 'verifier', svid: token }, securityHeader(false)),
      invalid(/^security header missing from request$/),
    );
  });

  it('issues once an entry matches, and ends the stream with PermissionDenied when it is deleted', async () => {
    const entry = await admin.createEntry({ spiffeId: 'spiffe://example.org/me', selectors: [`unix:uid:${uid}`] });
    const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
    const first = await stream.message(1);
    assert.deepEqual(
      first.svids.map((s) => s.spiffe_id),
      ['spiffe://example.org/me'],
    );
    await admin.deleteEntry(entry.id);
    assert.ok(denied(await stream.failure()));
  });

  it('hands the fallback identity to callers of its identity socket, and only there', async () => {
    const fallback = workloadClient(fallbackSocket);
    try {
      const stream = openStream<X509SvidResponse>(fallback, 'FetchX509SVID');
      const res = await stream.message(1);
      stream.cancel();
      assert.deepEqual(
        res.svids.map((s) => s.spiffe_id),
        ['spiffe://example.org/fallback'],
      );
      const leaf = new X509Certificate(splitDer(res.svids[0]!.x509_svid)[0]!);
      assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/fallback');
      const jwt = await unary<{ svids: Array<{ spiffe_id: string }> }>(fallback, 'FetchJWTSVID', { audience: ['x'] });
      assert.deepEqual(
        jwt.svids.map((s) => s.spiffe_id),
        ['spiffe://example.org/fallback'],
      );
    } finally {
      fallback.close();
    }
    // The same identity is not served on the public socket (the selectors do not match).
    assert.ok(denied(await openStream(client, 'FetchX509SVID').failure()));
  });
});
