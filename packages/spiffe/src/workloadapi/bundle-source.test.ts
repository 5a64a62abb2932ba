import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrustDomain } from '../spiffeid/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { BundleSource, type BundleSourceUpdate } from './bundle-source.js';
import type { WorkloadApiClient } from './client.js';
import type { FakeAgent } from './testing/fake-agent.js';
import { type AgentAndClient, hasCode, startAgentAndClient, stopAgentAndClient, TestTrustDomain, until } from './testing/fixtures.js';

const example = TestTrustDomain.create('example.org');
const partner = TestTrustDomain.create('partner.org');
const EXAMPLE = TrustDomain.fromString('example.org');
const PARTNER = TrustDomain.fromString('partner.org');

let agent: FakeAgent;
let client: WorkloadApiClient;
let log: AgentAndClient['log'];
const sources: BundleSource[] = [];

function missing(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_BUNDLE_NOT_FOUND';
  }
}

beforeEach(async () => {
  ({ agent, client, log } = await startAgentAndClient());
});

afterEach(() => stopAgentAndClient({ agent, client, log }, sources));

describe('BundleSource', () => {
  it('lists every bundle it holds, and refuses to list once closed', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles([partner]) });
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
    const source = await BundleSource.create({ client, timeoutMs: 5000 });
    sources.push(source);
    assert.deepEqual(
      source
        .getX509BundleSet()
        .bundles()
        .map((b) => b.trustDomain.name)
        .sort(),
      ['example.org', 'partner.org'],
    );
    assert.deepEqual(
      source
        .getJwtBundleSet()
        .bundles()
        .map((b) => b.trustDomain.name)
        .sort(),
      ['example.org', 'partner.org'],
    );
    assert.deepEqual(
      source.x509Bundles().map((b) => b.trustDomain.name),
      ['example.org', 'partner.org'],
    );
    await source.close();
    assert.throws(() => source.getX509BundleSet(), hasCode('ERR_SOURCE_CLOSED'));
    assert.throws(() => source.x509Bundles(), hasCode('ERR_SOURCE_CLOSED'));
  });

  it('waits for both the X.509 and the JWT bundles, then serves them', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles([partner]) });
    const creating = BundleSource.create({ client, timeoutMs: 5000 });
    await agent.waitForCalls('FetchJWTBundles', 2);
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
    const source = await creating;
    sources.push(source);
    assert.ok(source.getX509BundleForTrustDomain(PARTNER).hasAuthority(partner.ca.certificate));
    assert.ok(source.getJwtBundleForTrustDomain(EXAMPLE).findJwtAuthority(example.kid));
    // It verifies SVIDs of either trust domain against that trust domain's own bundle.
    const peer = partner.ca.svid('/peer');
    assert.equal(parseAndVerifyX509Svid(peer.chainDer, source).id.toString(), 'spiffe://partner.org/peer');
  });

  it('drops trust domains missing from later updates, per kind', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles([partner]) });
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
    const source = await BundleSource.create({ client, timeoutMs: 5000 });
    sources.push(source);
    const kinds: BundleSourceUpdate['kind'][] = [];
    source.on('update', (u) => kinds.push(u.kind));
    agent.setX509BundlesResponse({ bundles: example.x509Bundles() });
    await until(() => missing(() => source.getX509BundleForTrustDomain(PARTNER)));
    assert.ok(source.getJwtBundleForTrustDomain(PARTNER), 'JWT bundles are unchanged');
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    await until(() => missing(() => source.getJwtBundleForTrustDomain(PARTNER)));
    assert.deepEqual(kinds, ['x509', 'jwt']);
  });

  it('drops the bundles after PermissionDenied', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles() });
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    const source = await BundleSource.create({ client, timeoutMs: 5000 });
    sources.push(source);
    agent.withdrawIdentity();
    await until(
      () => missing(() => source.getX509BundleForTrustDomain(EXAMPLE)) && missing(() => source.getJwtBundleForTrustDomain(EXAMPLE)),
    );
  });

  it('create() times out naming what it waited for', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles() });
    await assert.rejects(BundleSource.create({ client, timeoutMs: 300 }), (err: unknown) => {
      hasCode('ERR_WORKLOADAPI_TIMEOUT')(err);
      assert.match((err as Error).message, /waiting for the X\.509 and JWT bundles/);
      assert.match((err as Error).message, /FetchJWTBundles failed: PermissionDenied/);
      return true;
    });
    await until(() => agent.openStreams('FetchX509Bundles') === 0);
  });

  it('close() makes the getters throw ERR_SOURCE_CLOSED', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles() });
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    const source = await BundleSource.create({ client, timeoutMs: 5000 });
    await source.close();
    assert.throws(() => source.getX509BundleForTrustDomain(EXAMPLE), hasCode('ERR_SOURCE_CLOSED'));
    assert.throws(() => source.getJwtBundleForTrustDomain(EXAMPLE), hasCode('ERR_SOURCE_CLOSED'));
  });
});
