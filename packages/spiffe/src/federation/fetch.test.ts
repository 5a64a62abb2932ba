import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SpiffeBundle, X509BundleSet, type X509BundleSource } from '../bundle/index.js';
import { FederationError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa } from '../testing/ca.js';
import { toSvid } from '../tls/testing/fixtures.js';
import { bundleEndpointHandler, fetchBundle, type HttpsSpiffeProfile } from './index.js';
import { answer, spiffeEndpoint, webEndpoint, type TestEndpoint } from './testing/endpoints.js';

const PARTNER = TrustDomain.fromString('partner.org');
const ENDPOINT_ID = 'spiffe://partner.org/bundle-server';
const partnerCa = TestCa.create({ trustDomain: PARTNER });
const otherCa = TestCa.create({ trustDomain: 'other.org' });
const webCa = TestCa.create({ trustDomain: 'web.test' });
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

/** What partner.org publishes: its CA and one JWT key. */
const partnerBundle = new SpiffeBundle(PARTNER, {
  x509Authorities: [partnerCa.certificate],
  jwtAuthorities: new Map([['kid-1', jwtKey]]),
});
const bootstrap = new SpiffeBundle(PARTNER, { x509Authorities: [partnerCa.certificate] });

const spiffeProfile = (endpointId = ENDPOINT_ID, bundleSource: X509BundleSource = bootstrap): HttpsSpiffeProfile => ({
  type: 'https_spiffe',
  endpointId,
  bundleSource,
});

async function rejection(promise: Promise<unknown>, code: string): Promise<FederationError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FederationError, `expected a FederationError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

describe('fetchBundle over https_spiffe', () => {
  let endpoint: TestEndpoint;
  before(async () => {
    endpoint = await spiffeEndpoint(toSvid(partnerCa.svid('/bundle-server')), bundleEndpointHandler(partnerBundle, PARTNER));
  });
  after(() => endpoint.close());

  it('fetches the bundle from an endpoint whose SVID verifies and carries the expected ID', async () => {
    const bundle = await fetchBundle({ trustDomain: 'partner.org', url: endpoint.url(), profile: spiffeProfile() });
    assert.ok(bundle.trustDomain.equals(PARTNER));
    assert.deepEqual(
      bundle.x509Authorities().map((c) => c.fingerprint256),
      [partnerCa.certificate.fingerprint256],
    );
    assert.ok(bundle.findJwtAuthority('kid-1')?.equals(jwtKey));
    assert.equal(bundle.refreshHint, 300);
    assert.equal(typeof bundle.sequenceNumber, 'number');
  });

  it('refuses an endpoint with another SPIFFE ID, before sending it a request', async () => {
    const before = endpoint.requests;
    const err = await rejection(
      fetchBundle({ trustDomain: PARTNER, url: endpoint.url(), profile: spiffeProfile('spiffe://partner.org/other') }),
      'ERR_FEDERATION_ENDPOINT_REJECTED',
    );
    assert.match(err.message, /spiffe:\/\/partner\.org\/bundle-server/);
    assert.equal(endpoint.requests, before);
  });

  it('refuses when the bundle source has no bundle for the endpoint trust domain', async () => {
    await rejection(
      fetchBundle({ trustDomain: PARTNER, url: endpoint.url(), profile: spiffeProfile(ENDPOINT_ID, otherCa.bundle()) }),
      'ERR_FEDERATION_ENDPOINT_REJECTED',
    );
  });

  it('refuses a wrong trust domain in the document', async () => {
    const wrong = await spiffeEndpoint(toSvid(partnerCa.svid('/bundle-server')), bundleEndpointHandler(otherCa.bundle(), 'other.org'));
    try {
      const err = await rejection(
        fetchBundle({ trustDomain: PARTNER, url: wrong.url(), profile: spiffeProfile() }),
        'ERR_FEDERATION_BAD_BUNDLE',
      );
      assert.match(err.message, /belongs to trust domain "other\.org", not "partner\.org"/);
    } finally {
      await wrong.close();
    }
  });
});

describe('fetchBundle refuses an endpoint SVID of another trust domain', () => {
  const both = new X509BundleSet(partnerCa.bundle(), otherCa.bundle());
  const cases = [
    { name: 'an other.org SVID is not the partner.org endpoint', svid: otherCa.svid('/bundle-server') },
    { name: 'an SVID claiming the partner.org endpoint ID but signed by other.org is refused', svid: otherCa.svid(ENDPOINT_ID) },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const endpoint = await spiffeEndpoint(toSvid(c.svid), bundleEndpointHandler(partnerBundle, PARTNER));
      try {
        await rejection(
          fetchBundle({ trustDomain: PARTNER, url: endpoint.url(), profile: spiffeProfile(ENDPOINT_ID, both) }),
          'ERR_FEDERATION_ENDPOINT_REJECTED',
        );
        assert.equal(endpoint.requests, 0);
      } finally {
        await endpoint.close();
      }
    });
  }
});

describe('fetchBundle over https_web', () => {
  const web = webCa.leaf('/unused', { uris: [], dnsNames: ['localhost'], subject: { commonName: 'localhost' } });
  let endpoint: TestEndpoint;
  before(async () => {
    endpoint = await webEndpoint(web.pem, web.keyPem, bundleEndpointHandler(partnerBundle, PARTNER));
  });
  after(() => endpoint.close());

  it('fetches with the given CA and the host name checked', async () => {
    const bundle = await fetchBundle({ trustDomain: PARTNER, url: endpoint.url('/bundle'), profile: { type: 'https_web', ca: webCa.pem } });
    assert.ok(bundle.hasX509Authority(partnerCa.certificate));
  });

  it('refuses a certificate that is not for the URL host', async () => {
    const url = `https://127.0.0.1:${endpoint.port}/bundle`;
    const err = await rejection(
      fetchBundle({ trustDomain: PARTNER, url, profile: { type: 'https_web', ca: webCa.certificate } }),
      'ERR_FEDERATION_ENDPOINT_REJECTED',
    );
    assert.match(err.message, /Web PKI/);
  });

  it('refuses a certificate from a CA that the system does not trust', async () => {
    await rejection(
      fetchBundle({ trustDomain: PARTNER, url: endpoint.url('/bundle'), profile: { type: 'https_web' } }),
      'ERR_FEDERATION_ENDPOINT_REJECTED',
    );
  });

  it('refuses a certificate from another CA than the one given', async () => {
    await rejection(
      fetchBundle({ trustDomain: PARTNER, url: endpoint.url('/bundle'), profile: { type: 'https_web', ca: [partnerCa.pem] } }),
      'ERR_FEDERATION_ENDPOINT_REJECTED',
    );
  });
});

describe('fetchBundle limits', () => {
  const svid = toSvid(partnerCa.svid('/bundle-server'));
  let endpoint: TestEndpoint;
  let elsewhere: TestEndpoint;
  before(async () => {
    endpoint = await spiffeEndpoint(svid, answer(partnerBundle.marshal()));
    elsewhere = await spiffeEndpoint(svid, answer(partnerBundle.marshal()));
  });
  after(async () => {
    await endpoint.close();
    await elsewhere.close();
  });
  const fetchFrom = (path = '/', options = {}) =>
    fetchBundle({ trustDomain: PARTNER, url: endpoint.url(path), profile: spiffeProfile() }, options);

  it('refuses malformed JSON', async () => {
    endpoint.respond(answer('{"keys": [ not json'));
    await rejection(fetchFrom(), 'ERR_FEDERATION_BAD_BUNDLE');
  });

  it('refuses a document that is not a JWK Set', async () => {
    endpoint.respond(answer('{"spiffe_refresh_hint": 5}'));
    await rejection(fetchFrom(), 'ERR_FEDERATION_BAD_BUNDLE');
  });

  it('refuses a body over maxBytes', async () => {
    endpoint.respond(answer(Buffer.alloc(5000, 0x20)));
    await rejection(fetchFrom('/', { maxBytes: 1000 }), 'ERR_FEDERATION_TOO_LARGE');
    endpoint.respond((_req, res) => {
      // No Content-Length: the limit applies while reading.
      res.write(Buffer.alloc(800, 0x20));
      res.end(Buffer.alloc(800, 0x20));
    });
    await rejection(fetchFrom('/', { maxBytes: 1000 }), 'ERR_FEDERATION_TOO_LARGE');
  });

  it('gives up after timeoutMs', async () => {
    endpoint.respond(() => {
      // Never answers.
    });
    await rejection(fetchFrom('/', { timeoutMs: 300 }), 'ERR_FEDERATION_TIMEOUT');
  });

  it('reports an HTTP status other than 200', async () => {
    endpoint.respond((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const err = await rejection(fetchFrom(), 'ERR_FEDERATION_FETCH');
    assert.match(err.message, /HTTP 404/);
  });

  it('follows a redirect within the same host and port', async () => {
    endpoint.respond((req, res) => {
      if (req.url === '/old') {
        res.statusCode = 307;
        res.setHeader('location', '/new');
        res.end();
      } else answer(partnerBundle.marshal())(req, res);
    });
    const bundle = await fetchFrom('/old');
    assert.ok(bundle.hasX509Authority(partnerCa.certificate));
  });

  it('does not follow a redirect to another port, nor to http', async () => {
    for (const location of [elsewhere.url('/'), `http://127.0.0.1:${endpoint.port}/`]) {
      endpoint.respond((_req, res) => {
        res.statusCode = 302;
        res.setHeader('location', location);
        res.end();
      });
      await rejection(fetchFrom(), 'ERR_FEDERATION_REDIRECT');
    }
    assert.equal(elsewhere.requests, 0);
  });

  it('stops after 3 redirects', async () => {
    endpoint.respond((_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/again');
      res.end();
    });
    await rejection(fetchFrom(), 'ERR_FEDERATION_REDIRECT');
  });

  it('is aborted by its signal', async () => {
    endpoint.respond(() => {});
    const controller = new AbortController();
    const pending = fetchFrom('/', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await rejection(pending, 'ERR_FEDERATION_FETCH');
  });
});

describe('fetchBundle configuration', () => {
  it('refuses URLs that are not bundle endpoint URLs, and incomplete profiles', async () => {
    const base = { trustDomain: PARTNER, profile: spiffeProfile() };
    await assert.rejects(fetchBundle({ ...base, url: 'http://127.0.0.1/' }), TypeError);
    await assert.rejects(fetchBundle({ ...base, url: 'https://user:pw@127.0.0.1/' }), TypeError);
    await assert.rejects(fetchBundle({ ...base, url: 'not a url' }), TypeError);
    await assert.rejects(
      fetchBundle({ trustDomain: PARTNER, url: 'https://127.0.0.1/', profile: { type: 'https_spiffe', endpointId: ENDPOINT_ID } as never }),
      TypeError,
    );
    await assert.rejects(fetchBundle({ trustDomain: PARTNER, url: 'https://127.0.0.1/', profile: { type: 'https' } as never }), TypeError);
  });
});
