import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  JwtBundle,
  JwtBundleSet,
  SpiffeBundle,
  X509Bundle,
  X509BundleSet,
  type JwtBundleSource,
  type X509BundleSource,
} from '../bundle/index.js';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa } from '../testing/ca.js';
import { toSvid } from '../tls/testing/fixtures.js';
import { bundleEndpointHandler, fetchBundle } from './index.js';
import { spiffeEndpoint, webEndpoint, type TestEndpoint } from './testing/endpoints.js';

const TD = TrustDomain.fromString('example.org');
const ca = TestCa.create({ trustDomain: TD });
const nextCa = TestCa.create({ trustDomain: TD });
const webCa = TestCa.create({ trustDomain: 'web.test' });
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

/** A source whose bundles the test changes, as a Workload API BundleSource would. */
class LiveBundles implements X509BundleSource, JwtBundleSource {
  x509 = new X509BundleSet(ca.bundle());
  jwt = new JwtBundleSet(JwtBundle.fromJwtAuthorities(TD, new Map([['kid-1', jwtKey]])));
  getX509BundleForTrustDomain(td: TrustDomain) {
    return this.x509.getX509BundleForTrustDomain(td);
  }
  getJwtBundleForTrustDomain(td: TrustDomain) {
    return this.jwt.getJwtBundleForTrustDomain(td);
  }
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(endpoint: TestEndpoint, method = 'GET', path = '/', ca = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      endpoint.url(path),
      // The SPIFFE endpoint is reached here without authenticating it: these tests look at the HTTP answer.
      { method, ...(ca ? { ca } : { rejectUnauthorized: false }) },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('bundleEndpointHandler over https_spiffe', () => {
  const live = new LiveBundles();
  const svid = toSvid(ca.svid('/bundle-server'));
  let endpoint: TestEndpoint;
  before(async () => {
    endpoint = await spiffeEndpoint(svid, bundleEndpointHandler(live, TD, { refreshHintSeconds: 60 }));
  });
  after(() => endpoint.close());

  it('serves a SPIFFE bundle document as application/json', async () => {
    const reply = await call(endpoint);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    const doc = JSON.parse(reply.body) as { keys: Array<Record<string, unknown>>; spiffe_refresh_hint: number; spiffe_sequence: number };
    assert.equal(doc.spiffe_refresh_hint, 60);
    assert.ok(Number.isSafeInteger(doc.spiffe_sequence));
    const x509 = doc.keys.filter((k) => k['use'] === 'x509-svid');
    const jwt = doc.keys.filter((k) => k['use'] === 'jwt-svid');
    assert.equal(x509.length, 1);
    assert.deepEqual(x509[0]?.['x5c'], [ca.der.toString('base64')]);
    assert.equal(jwt.length, 1);
    assert.equal(jwt[0]?.['kid'], 'kid-1');
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await call(endpoint, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 0);
    const post = await call(endpoint, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
  });

  it('keeps the sequence number while the contents stay, and raises it when they change', async () => {
    const first = JSON.parse((await call(endpoint)).body).spiffe_sequence as number;
    assert.equal(JSON.parse((await call(endpoint)).body).spiffe_sequence, first);
    live.x509 = new X509BundleSet(X509Bundle.fromAuthorities(TD, [ca.certificate, nextCa.certificate]));
    const second = JSON.parse((await call(endpoint)).body).spiffe_sequence as number;
    assert.equal(second, first + 1);
  });

  it('round-trips through the fetcher', async () => {
    const fetched = await fetchBundle({
      trustDomain: TD,
      url: endpoint.url(),
      profile: { type: 'https_spiffe', endpointId: svid.id, bundleSource: ca.bundle() },
    });
    const served = live.getX509BundleForTrustDomain(TD);
    assert.ok(fetched.x509Bundle().equals(served));
    assert.ok(fetched.findJwtAuthority('kid-1')?.equals(jwtKey));
    assert.equal(fetched.refreshHint, 60);
  });

  it('answers 503 while the source has no bundle of the trust domain', async () => {
    const empty = await spiffeEndpoint(svid, bundleEndpointHandler(new X509BundleSet(), TD));
    try {
      const reply = await call(empty);
      assert.equal(reply.status, 503);
    } finally {
      await empty.close();
    }
  });
});

describe('bundleEndpointHandler over https_web and express', () => {
  const web = webCa.leaf('/unused', { uris: [], dnsNames: ['localhost'], subject: { commonName: 'localhost' } });
  const bundle = new SpiffeBundle(TD, { x509Authorities: [ca.certificate], sequenceNumber: 7 });
  let endpoint: TestEndpoint;
  before(async () => {
    const app = express();
    app.get('/bundle.json', bundleEndpointHandler(bundle, TD));
    app.use((_req, res) => {
      res.status(404).end();
    });
    endpoint = await webEndpoint(web.pem, web.keyPem, app);
  });
  after(() => endpoint.close());

  it('serves the SpiffeBundle with its own sequence number, fetched over https_web', async () => {
    const fetched = await fetchBundle({
      trustDomain: TD,
      url: endpoint.url('/bundle.json'),
      profile: { type: 'https_web', ca: webCa.pem },
    });
    assert.equal(fetched.sequenceNumber, 7);
    assert.equal(fetched.refreshHint, 300);
    assert.ok(fetched.hasX509Authority(ca.certificate));
    assert.equal((await call(endpoint, 'GET', '/elsewhere', webCa.pem)).status, 404);
  });

  it('leaves other paths to next() when given a path', async () => {
    const handler = bundleEndpointHandler(bundle, TD, { path: '/b' });
    let passed = false;
    handler({ url: '/other', method: 'GET' } as never, {} as never, () => {
      passed = true;
    });
    assert.ok(passed);
  });

  it('refuses what is not a bundle source, and bad options', () => {
    assert.throws(() => bundleEndpointHandler({} as never, TD), TypeError);
    assert.throws(() => bundleEndpointHandler(bundle, TD, { refreshHintSeconds: 0 }), TypeError);
    assert.throws(() => bundleEndpointHandler(bundle, TD, { path: 'bundle' }), TypeError);
  });
});
