import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import { after, describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { SpiffeBundle, type X509BundleSource } from '../bundle/index.js';
import { FederationError, SourceClosedError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa } from '../testing/ca.js';
import { createHttpsServer, createSpiffeHttpsAgent, peerIdFromSocket, tlsServerOptions } from '../tls/index.js';
import { RotatingSvidSource, closeServer, listenLocal, toSvid, trackSockets } from '../tls/testing/fixtures.js';
import type { WorkloadApiLogger } from '../workloadapi/index.js';
import { FederatedBundleSource, bundleEndpointHandler, fetchBundle, type FederatedBundleSourceOptions } from './index.js';
import { answer, spiffeEndpoint, type TestEndpoint } from './testing/endpoints.js';

const PARTNER = TrustDomain.fromString('partner.org');
const ENDPOINT_ID = 'spiffe://partner.org/bundle-server';
const partnerCa = TestCa.create({ trustDomain: PARTNER });
const nextCa = TestCa.create({ trustDomain: PARTNER });
const otherCa = TestCa.create({ trustDomain: 'other.org' });

const quiet: WorkloadApiLogger = { debug() {}, info() {}, warn() {}, error() {} };
/** Fast schedules: tests wait for events, never for fixed times. */
const fast: FederatedBundleSourceOptions = { retryMs: 50, minRefreshMs: 50, maxRefreshMs: 200, timeoutMs: 10_000, logger: quiet };

function doc(authorities: TestCa[], extra: Record<string, unknown> = {}): string {
  const bundle = new SpiffeBundle(PARTNER, { x509Authorities: authorities.map((ca) => ca.certificate) });
  return JSON.stringify({ ...JSON.parse(bundle.marshal()), ...extra });
}

function fingerprints(source: FederatedBundleSource): string[] {
  return source
    .getBundle()
    .x509Authorities()
    .map((c) => c.fingerprint256);
}

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function partnerEndpoint(svid = new RotatingSvidSource(toSvid(partnerCa.svid('/bundle-server'))), body = doc([partnerCa])) {
  const endpoint = await spiffeEndpoint(svid, answer(body));
  cleanup.push(() => endpoint.close());
  return { endpoint, svid };
}

async function watch(
  endpoint: TestEndpoint,
  options: FederatedBundleSourceOptions = fast,
  bundleSource: X509BundleSource = partnerCa.bundle(),
) {
  const source = await FederatedBundleSource.create(
    { trustDomain: PARTNER, url: endpoint.url(), profile: { type: 'https_spiffe', endpointId: ENDPOINT_ID, bundleSource } },
    options,
  );
  cleanup.push(() => source.close());
  return source;
}

describe('FederatedBundleSource', () => {
  it('keeps the last good bundle through malformed answers and failures, reporting each', async () => {
    const { endpoint } = await partnerEndpoint();
    const source = await watch(endpoint);
    assert.deepEqual(fingerprints(source), [partnerCa.certificate.fingerprint256]);

    endpoint.respond(answer('{"keys": [ not json'));
    const [malformed] = (await once(source, 'error')) as [FederationError];
    assert.ok(malformed instanceof FederationError);
    assert.equal(malformed.code, 'ERR_FEDERATION_BAD_BUNDLE');
    assert.deepEqual(fingerprints(source), [partnerCa.certificate.fingerprint256]);

    endpoint.respond((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const [failed] = (await once(source, 'error')) as [FederationError];
    assert.equal(failed.code, 'ERR_FEDERATION_FETCH');
    assert.deepEqual(fingerprints(source), [partnerCa.certificate.fingerprint256]);

    endpoint.respond(answer(doc([partnerCa, nextCa])));
    const [updated] = (await once(source, 'update')) as [SpiffeBundle];
    assert.equal(updated.x509Authorities().length, 2);
    assert.equal(source.getBundle(), updated);
  });

  it('refetches after the refresh hint of the bundle', { timeout: 20_000 }, async () => {
    const { endpoint } = await partnerEndpoint(undefined, doc([partnerCa], { spiffe_refresh_hint: 1 }));
    // Bounds wide enough that only the hint (1 s) decides; the default (1 h here) would not come.
    const source = await watch(endpoint, { ...fast, minRefreshMs: 100, maxRefreshMs: 3_600_000, defaultRefreshMs: 3_600_000 });
    endpoint.respond(answer(doc([nextCa, partnerCa], { spiffe_refresh_hint: 1 })));
    await once(source, 'update');
    assert.equal(source.getBundle().x509Authorities().length, 2);
  });

  it('bounds a long refresh hint by maxRefreshMs', { timeout: 20_000 }, async () => {
    const { endpoint } = await partnerEndpoint(undefined, doc([partnerCa], { spiffe_refresh_hint: 86_400 }));
    const source = await watch(endpoint, { ...fast, minRefreshMs: 50, maxRefreshMs: 300 });
    endpoint.respond(answer(doc([nextCa], { spiffe_refresh_hint: 86_400 })));
    await once(source, 'update');
    assert.deepEqual(fingerprints(source), [nextCa.certificate.fingerprint256]);
  });

  it('follows a self-serving endpoint through a CA rotation, verifying it with the bundle it served', async () => {
    const { endpoint, svid } = await partnerEndpoint(undefined, doc([partnerCa, nextCa]));
    // The configured bundle trusts only the old CA: it bootstraps, and is then left behind.
    const source = await watch(endpoint, fast, new SpiffeBundle(PARTNER, { x509Authorities: [partnerCa.certificate] }));
    assert.equal(source.getBundle().x509Authorities().length, 2);

    // The partner moves to its new CA: new endpoint SVID, the old CA dropped from the bundle.
    svid.set(toSvid(nextCa.svid('/bundle-server')));
    endpoint.respond(answer(doc([nextCa])));
    await once(source, 'update');
    assert.deepEqual(fingerprints(source), [nextCa.certificate.fingerprint256]);

    // The old CA's SVID is no longer trusted for the endpoint.
    svid.set(toSvid(partnerCa.svid('/bundle-server')));
    const [refused] = (await once(source, 'error')) as [FederationError];
    assert.equal(refused.code, 'ERR_FEDERATION_ENDPOINT_REJECTED');
    assert.deepEqual(fingerprints(source), [nextCa.certificate.fingerprint256]);
  });

  it('does not verify a non-self-serving endpoint with the bundle it serves', async () => {
    // other.org's endpoint serves partner.org's bundle; it is verified with other.org's bundle only.
    const endpoint = await spiffeEndpoint(toSvid(otherCa.svid('/bundle-server')), answer(doc([partnerCa])));
    cleanup.push(() => endpoint.close());
    const source = await FederatedBundleSource.create(
      {
        trustDomain: PARTNER,
        url: endpoint.url(),
        profile: { type: 'https_spiffe', endpointId: 'spiffe://other.org/bundle-server', bundleSource: otherCa.bundle() },
      },
      fast,
    );
    cleanup.push(() => source.close());
    assert.deepEqual(fingerprints(source), [partnerCa.certificate.fingerprint256]);
  });

  it('fails create() with the cause when the endpoint has another ID', async () => {
    const { endpoint } = await partnerEndpoint();
    const err = await FederatedBundleSource.create(
      {
        trustDomain: PARTNER,
        url: endpoint.url(),
        profile: { type: 'https_spiffe', endpointId: 'spiffe://partner.org/not-it', bundleSource: partnerCa.bundle() },
      },
      { ...fast, timeoutMs: 500 },
    ).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof FederationError);
    assert.equal(err.code, 'ERR_FEDERATION_ENDPOINT_REJECTED');
    assert.equal(endpoint.requests, 0);
  });

  it('is a bundle source the TLS helpers take', async () => {
    const { endpoint } = await partnerEndpoint();
    const source = await watch(endpoint);
    const server = trackSockets(createHttpsServer(tlsServerOptions(toSvid(partnerCa.svid('/api'))), (_req, res) => res.end('hello')));
    const port = await listenLocal(server);
    cleanup.push(() => closeServer(server));
    const agent = createSpiffeHttpsAgent({ bundleSource: source, authorizer: authorizeId('spiffe://partner.org/api') });
    const { body, peer } = await new Promise<{ body: string; peer: string }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ body: text, peer: String(peerIdFromSocket(res.socket)) }));
        })
        .on('error', reject);
    });
    assert.equal(body, 'hello');
    assert.equal(peer, 'spiffe://partner.org/api');
    assert.equal(source.getX509BundleSet().bundles().length, 1);
    assert.equal(source.getJwtBundleSet().bundles().length, 1);
    assert.throws(() => source.getX509BundleForTrustDomain(TrustDomain.fromString('other.org')), { code: 'ERR_BUNDLE_NOT_FOUND' });
  });

  it('throws ERR_SOURCE_CLOSED after close and emits close', async () => {
    const { endpoint } = await partnerEndpoint();
    const source = await watch(endpoint);
    const closed = once(source, 'close');
    await source.close();
    await closed;
    assert.throws(
      () => source.getBundle(),
      (err: unknown) => err instanceof SourceClosedError && err.code === 'ERR_SOURCE_CLOSED',
    );
    assert.throws(() => source.getX509BundleForTrustDomain(PARTNER), { code: 'ERR_SOURCE_CLOSED' });
    const requests = endpoint.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(endpoint.requests, requests);
  });
});

describe('bundleEndpointHandler with a FederatedBundleSource', () => {
  it('re-serves a fetched bundle that round-trips through the fetcher', async () => {
    const { endpoint } = await partnerEndpoint(undefined, doc([partnerCa, nextCa]));
    const source = await watch(endpoint);
    const relay = await spiffeEndpoint(
      toSvid(partnerCa.svid('/relay')),
      bundleEndpointHandler(source, PARTNER, { refreshHintSeconds: 42 }),
    );
    cleanup.push(() => relay.close());
    const again = await fetchBundle({
      trustDomain: PARTNER,
      url: relay.url(),
      profile: { type: 'https_spiffe', endpointId: 'spiffe://partner.org/relay', bundleSource: partnerCa.bundle() },
    });
    assert.equal(again.refreshHint, 42);
    assert.deepEqual(
      again
        .x509Authorities()
        .map((c) => c.fingerprint256)
        .sort(),
      [partnerCa.certificate.fingerprint256, nextCa.certificate.fingerprint256].sort(),
    );
  });
});
