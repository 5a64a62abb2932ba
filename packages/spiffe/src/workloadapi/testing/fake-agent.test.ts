import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { workloadServiceDefinition } from '../proto.js';
import { WorkloadApiClient } from '../client.js';
import { FakeAgent } from './fake-agent.js';
import { TestTrustDomain, recordingLogger } from './fixtures.js';

const example = TestTrustDomain.create('example.org');

/** One raw FetchX509SVID call with the given metadata; resolves to the first message or the error. */
function rawFetch(address: string, metadata: grpc.Metadata): Promise<{ message?: unknown; error?: grpc.ServiceError }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const def = workloadServiceDefinition()['FetchX509SVID']!;
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, metadata, {});
    call.on('data', (message) => {
      call.cancel();
      client.close();
      resolve({ message });
    });
    call.on('error', (error: grpc.ServiceError) => {
      client.close();
      resolve({ error });
    });
  });
}

let agent: FakeAgent;
let client: WorkloadApiClient;

beforeEach(async () => {
  agent = await FakeAgent.start();
  client = new WorkloadApiClient({ address: agent.address, logger: recordingLogger().logger, initialBackoffMs: 50, maxBackoffMs: 200 });
});

afterEach(async () => {
  client.close();
  await agent.close();
});

describe('FakeAgent', () => {
  it('answers a request without the security header InvalidArgument, like SPIRE; with it, the SVID', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const without = await rawFetch(agent.address, new grpc.Metadata());
    assert.equal(without.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(without.error?.details, 'security header missing from request');
    const md = new grpc.Metadata();
    md.set('workload.spiffe.io', 'true');
    const withHeader = await rawFetch(agent.address, md);
    assert.equal(withHeader.error, undefined);
    assert.equal((withHeader.message as { svids: unknown[] }).svids.length, 1);
    assert.deepEqual(
      agent.calls.map((c) => c.metadata['workload.spiffe.io']),
      [undefined, ['true']],
    );
  });

  it('can serve clients that omit the header when asked to', async () => {
    const lax = await FakeAgent.start({ requireSecurityHeader: false });
    try {
      lax.setX509SvidResponse(example.x509Response(['/web']));
      const result = await rawFetch(lax.address, new grpc.Metadata());
      assert.equal(result.error, undefined);
    } finally {
      await lax.close();
    }
  });

  it('answers PermissionDenied "no identity issued" when nothing is set', async () => {
    await assert.rejects(client.fetchX509Svid(), /PermissionDenied "no identity issued"/);
    await assert.rejects(client.fetchJwtBundles(), /PermissionDenied "no identity issued"/);
    await assert.rejects(client.fetchJwtSvid({ audience: 'a' }), /PermissionDenied "no identity issued"/);
  });

  it('fails exactly the next N calls with failNextCalls', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    agent.failNextCalls('FetchX509SVID', { code: grpc.status.UNAVAILABLE, details: 'x' }, 2);
    await assert.rejects(client.fetchX509Svid(), /Unavailable "x"/);
    await assert.rejects(client.fetchX509Svid(), /Unavailable "x"/);
    assert.equal((await client.fetchX509Svid()).id.path, '/web');
    assert.equal(agent.callsTo('FetchX509SVID').length, 3);
  });

  it('stops and restarts on the same socket, keeping its state and record', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    await client.fetchX509Svid();
    await agent.stop();
    assert.equal(agent.running, false);
    assert.equal(existsSync(agent.socketPath), false);
    await assert.rejects(client.fetchX509Svid(), /Unavailable/);
    await agent.restart();
    assert.equal(agent.running, true);
    let svid;
    for (let i = 0; i < 50 && !svid; i++) {
      svid = await client.fetchX509Svid().catch(() => undefined);
      if (!svid) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(svid?.id.path, '/web');
    assert.equal(agent.callsTo('FetchX509SVID')[0]?.method, 'FetchX509SVID');
  });

  it('removes its temporary directory on close', async () => {
    const other = await FakeAgent.start();
    const dir = dirname(other.socketPath);
    assert.ok(existsSync(dir));
    await other.close();
    assert.equal(existsSync(dir), false);
  });

  it('waitForCalls rejects after its timeout with the count', async () => {
    await assert.rejects(agent.waitForCalls('FetchJWTSVID', 1, 100), /FetchJWTSVID called 0 times, waited for 1/);
  });
});
