import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { parseAndValidateJwtSvid } from '../svid/jwt/index.js';
import type { WorkloadApiClient } from './client.js';
import { JwtSource } from './jwt-source.js';
import type { FakeAgent } from './testing/fake-agent.js';
import {
  type AgentAndClient,
  delay,
  hasCode,
  startAgentAndClient,
  stopAgentAndClient,
  TestTrustDomain,
  until,
} from './testing/fixtures.js';

const example = TestTrustDomain.create('example.org');
const partner = TestTrustDomain.create('partner.org');
const PARTNER = TrustDomain.fromString('partner.org');

let agent: FakeAgent;
let client: WorkloadApiClient;
let log: AgentAndClient['log'];
const sources: JwtSource[] = [];

async function create(): Promise<JwtSource> {
  const source = await JwtSource.create({ client, timeoutMs: 5000 });
  sources.push(source);
  return source;
}

beforeEach(async () => {
  ({ agent, client, log } = await startAgentAndClient());
  agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
  agent.setJwtIssuer(example.jwtIssuer(['/web', '/db']));
});

afterEach(() => stopAgentAndClient({ agent, client, log }, sources));

describe('JwtSource', () => {
  it('resolves on the first JWT bundles; mints tokens that validate against its own bundles', async () => {
    const source = await create();
    const svid = await source.fetchJwtSvid({ audience: 'spiffe://example.org/api' });
    assert.equal(svid.id.toString(), 'spiffe://example.org/web');
    const validated = await parseAndValidateJwtSvid(svid.token, source, ['spiffe://example.org/api']);
    assert.equal(validated.id.toString(), 'spiffe://example.org/web');
    assert.ok(source.getJwtBundleForTrustDomain(PARTNER).findJwtAuthority(partner.kid));
  });

  it('caches per audience set and subject: repeated calls make one RPC', async () => {
    const source = await create();
    const a = await source.fetchJwtSvid({ audience: ['x', 'y'] });
    const b = await source.fetchJwtSvid({ audience: ['y', 'x', 'x'] });
    assert.equal(a.token, b.token);
    assert.equal(agent.callsTo('FetchJWTSVID').length, 1);
    await source.fetchJwtSvid({ audience: 'x' });
    assert.equal(agent.callsTo('FetchJWTSVID').length, 2, 'another audience set is another key');
    const db = await source.fetchJwtSvid({ audience: ['x', 'y'], subject: SpiffeId.fromString('spiffe://example.org/db') });
    assert.equal(db.id.toString(), 'spiffe://example.org/db');
    assert.equal(agent.callsTo('FetchJWTSVID').length, 3, 'another subject is another key');
    await source.fetchJwtSvid({ audience: ['x', 'y'], subject: SpiffeId.fromString('spiffe://example.org/db') });
    assert.equal(agent.callsTo('FetchJWTSVID').length, 3);
  });

  it('shares one RPC between concurrent requests for the same key', async () => {
    const source = await create();
    const svids = await Promise.all(Array.from({ length: 8 }, () => source.fetchJwtSvid({ audience: 'shared' })));
    assert.equal(new Set(svids.map((s) => s.token)).size, 1);
    assert.equal(agent.callsTo('FetchJWTSVID').length, 1);
    const mixed = await Promise.all([
      source.fetchJwtSvid({ audience: 'p' }),
      source.fetchJwtSvid({ audience: 'q' }),
      source.fetchJwtSvid({ audience: 'p' }),
    ]);
    assert.equal(mixed[0].token, mixed[2].token);
    assert.equal(agent.callsTo('FetchJWTSVID').length, 3);
  });

  it('refreshes once half of the token lifetime has passed', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web'], 4));
    const source = await create();
    const first = await source.fetchJwtSvid({ audience: 'a' });
    await source.fetchJwtSvid({ audience: 'a' });
    assert.equal(agent.callsTo('FetchJWTSVID').length, 1);
    const halfLife = first.issuedAt!.getTime() + 2000;
    await delay(halfLife - Date.now() + 100);
    const second = await source.fetchJwtSvid({ audience: 'a' });
    assert.equal(agent.callsTo('FetchJWTSVID').length, 2);
    assert.ok(second.expiry.getTime() > first.expiry.getTime());
  });

  it('serves the cached token when a refresh fails transiently, but not after PermissionDenied', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web'], 4));
    const source = await create();
    const first = await source.fetchJwtSvid({ audience: 'a' });
    await delay(first.issuedAt!.getTime() + 2000 - Date.now() + 100);
    agent.failNextCalls('FetchJWTSVID', { code: status.UNAVAILABLE, details: 'busy' });
    const stale = await source.fetchJwtSvid({ audience: 'a' });
    assert.equal(stale.token, first.token);
    assert.equal(log.matching('warn', /serving the cached one/).length, 1);
    agent.failNextCalls('FetchJWTSVID', { code: status.PERMISSION_DENIED, details: 'no identity issued' });
    await assert.rejects(source.fetchJwtSvid({ audience: 'a' }), hasCode('ERR_WORKLOADAPI_PERMISSION_DENIED'));
  });

  it('rejects an empty audience with TypeError', async () => {
    const source = await create();
    for (const audience of ['', [], ['']] as unknown[]) {
      await assert.rejects(source.fetchJwtSvid({ audience } as never), TypeError);
    }
    assert.equal(agent.callsTo('FetchJWTSVID').length, 0);
  });

  it('follows bundle updates: a dropped trust domain is no longer trusted', async () => {
    const source = await create();
    const updates: number[] = [];
    source.on('update', (set) => updates.push(set.size));
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    await until(() => updates.length === 1);
    assert.deepEqual(updates, [1]);
    assert.throws(() => source.getJwtBundleForTrustDomain(PARTNER), hasCode('ERR_BUNDLE_NOT_FOUND'));
  });

  it('drops bundles and cached tokens after PermissionDenied', async () => {
    const source = await create();
    await source.fetchJwtSvid({ audience: 'a' });
    agent.withdrawIdentity();
    await until(() => {
      try {
        source.getJwtBundleForTrustDomain(PARTNER);
        return false;
      } catch {
        return true;
      }
    });
    await assert.rejects(source.fetchJwtSvid({ audience: 'a' }), hasCode('ERR_WORKLOADAPI_PERMISSION_DENIED'));
  });

  it('create() times out with the last error', async () => {
    agent.setJwtBundlesResponse(undefined);
    await assert.rejects(JwtSource.create({ client, timeoutMs: 300 }), (err: unknown) => {
      hasCode('ERR_WORKLOADAPI_TIMEOUT')(err);
      assert.match((err as Error).message, /JwtSource\.create timed out after 300 ms waiting for the JWT bundles/);
      assert.match((err as Error).message, /FetchJWTBundles failed: PermissionDenied "no identity issued"/);
      return true;
    });
  });

  it('close() makes every method throw ERR_SOURCE_CLOSED', async () => {
    const source = await create();
    await source.close();
    await source.close();
    await assert.rejects(source.fetchJwtSvid({ audience: 'a' }), hasCode('ERR_SOURCE_CLOSED'));
    assert.throws(() => source.getJwtBundleForTrustDomain(PARTNER), hasCode('ERR_SOURCE_CLOSED'));
  });
});
