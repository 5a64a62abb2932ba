import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SpiffeBundle } from './spiffe-bundle.js';
import { SpiffeBundleSet } from './spiffe-bundle-set.js';
import { type X509Bundle } from './x509-bundle.js';
import { JwtBundle } from './jwt-bundle.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/verify.js';
import { TestCa } from '../testing/ca.js';

const td = TrustDomain.fromString('example.org');
const other = TrustDomain.fromString('other.org');
const ca = TestCa.create({ trustDomain: td });
const ca2 = TestCa.create({ trustDomain: td, keyAlgorithm: 'rsa-2048' });
const caOther = TestCa.create({ trustDomain: other });
const jwtEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const jwtRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;

type Jwk = Record<string, unknown>;

function x509Key(cert: TestCa, extra: Jwk = {}): Jwk {
  return { use: 'x509-svid', ...cert.certificate.publicKey.export({ format: 'jwk' }), x5c: [cert.der.toString('base64')], ...extra };
}

function jwtKey(key: KeyObject, kid: string, extra: Jwk = {}): Jwk {
  return { use: 'jwt-svid', kid, ...key.export({ format: 'jwk' }), ...extra };
}

function doc(keys: unknown[], extra: Jwk = {}): string {
  return JSON.stringify({ keys, ...extra });
}

function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_BUNDLE_INVALID');
    assert.match(err.message, /^spiffebundle: bundle of "example.org": /);
    if (typeof message === 'string') assert.equal(err.message, `spiffebundle: bundle of "example.org": ${message}`);
    else assert.match(err.message, message);
    return true;
  });
}

describe('SpiffeBundle.parse', () => {
  it('reads X.509 and JWT authorities, the sequence number and the refresh hint', () => {
    const bundle = SpiffeBundle.parse(
      td,
      doc([x509Key(ca), jwtKey(jwtEc, 'ec-1'), x509Key(ca2), jwtKey(jwtRsa, 'rsa-1')], { spiffe_sequence: 42, spiffe_refresh_hint: 300 }),
    );
    assert.equal(bundle.trustDomain, td);
    assert.deepEqual(
      bundle.x509Authorities().map((c) => c.fingerprint256),
      [ca.certificate.fingerprint256, ca2.certificate.fingerprint256],
    );
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['ec-1', 'rsa-1']);
    assert.ok(bundle.findJwtAuthority('ec-1')?.equals(jwtEc));
    assert.ok(bundle.findJwtAuthority('rsa-1')?.equals(jwtRsa));
    assert.equal(bundle.sequenceNumber, 42);
    assert.equal(bundle.refreshHint, 300);
  });

  it('reads bytes as well as text', () => {
    assert.equal(SpiffeBundle.parse(td, Buffer.from(doc([x509Key(ca)]))).x509Authorities().length, 1);
  });

  it('treats keys: [] as a bundle that trusts nothing', () => {
    const bundle = SpiffeBundle.parse(td, doc([]));
    assert.equal(bundle.x509Authorities().length, 0);
    assert.equal(bundle.jwtAuthorities().size, 0);
    assert.equal(bundle.sequenceNumber, undefined);
    assert.equal(bundle.refreshHint, undefined);
    assert.throws(() => parseAndVerifyX509Svid(ca.svid('/w').chainDer, bundle), { code: 'ERR_X509SVID_UNTRUSTED' });
    assert.equal(
      parseAndVerifyX509Svid(ca.svid('/w').chainDer, SpiffeBundle.parse(td, doc([x509Key(ca)]))).id.toString(),
      'spiffe://example.org/w',
    );
  });

  const ignored: Array<[string, Jwk]> = [
    ['an x509-svid key of an unknown kty', { use: 'x509-svid', kty: 'PQC', x5c: ['AAAA', 'BBBB'] }],
    ['a jwt-svid key of an unknown kty', { use: 'jwt-svid', kty: 'PQC', kid: 'pq' }],
    ['a key of an unknown use', { use: 'sig', kty: 'EC', kid: 'x', crv: 'P-256' }],
    ['a key without use', { ...jwtEc.export({ format: 'jwk' }), kid: 'no-use' }],
  ];
  for (const [name, key] of ignored) {
    it(`ignores ${name}`, () => {
      const bundle = SpiffeBundle.parse(td, doc([key, x509Key(ca), jwtKey(jwtEc, 'k')]));
      assert.equal(bundle.x509Authorities().length, 1);
      assert.deepEqual([...bundle.jwtAuthorities().keys()], ['k']);
    });
  }

  const bad: Array<[string, () => string, string | RegExp]> = [
    ['invalid JSON', () => '{"keys": [', /^spiffebundle: bundle of "example.org": the document is not valid JSON: /],
    ['a JSON array', () => '[]', 'the document is not a JSON object (a JWK Set)'],
    ['no keys member', () => '{}', '"keys" must be an array of JWKs (use [] to trust nothing), got nothing'],
    ['keys: null', () => '{"keys": null}', '"keys" must be an array of JWKs (use [] to trust nothing), got null'],
    ['a key that is not an object', () => doc(['x509-svid']), 'key 0 is not a JSON object'],
    ['a non-string use', () => doc([{ use: 1, kty: 'EC' }]), 'key 0 has a non-string "use"'],
    [
      'an x509-svid key without kty',
      () => doc([{ use: 'x509-svid', x5c: [ca.der.toString('base64')] }]),
      'x509-svid key 0 has no "kty" string',
    ],
    [
      'x5c with two certificates',
      () => doc([x509Key(ca, { x5c: [ca.der.toString('base64'), ca2.der.toString('base64')] })]),
      'x509-svid key 0 must carry exactly one certificate in "x5c", found 2',
    ],
    ['x5c empty', () => doc([x509Key(ca, { x5c: [] })]), 'x509-svid key 0 must carry exactly one certificate in "x5c", found 0'],
    [
      'no x5c',
      () => doc([jwtKey(jwtEc, 'a'), x509Key(ca, { x5c: undefined })]),
      'x509-svid key 1 must carry exactly one certificate in "x5c", found none',
    ],
    [
      'x5c in base64url',
      () => doc([x509Key(ca, { x5c: [ca.der.toString('base64url')] })]),
      /x509-svid key 0: "x5c" must hold a standard base64 DER certificate$/,
    ],
    ['x5c that is not a certificate', () => doc([x509Key(ca, { x5c: ['MAMCAQE='] })]), /x509-svid key 0 certificate cannot be parsed: /],
    [
      'x5c whose key differs from the JWK',
      () => doc([x509Key(ca, { x5c: [ca2.der.toString('base64')] })]),
      /x509-svid key 0 is not a valid EC public key|x509-svid key 0: the key does not match/,
    ],
    [
      'x5c of another EC key than the JWK',
      () => doc([x509Key(ca, { x5c: [caOther.der.toString('base64')] })]),
      'x509-svid key 0: the key does not match the public key of its "x5c" certificate',
    ],
    [
      'private key material in an x509-svid key',
      () => doc([x509Key(ca, { d: 'AAAA' })]),
      'x509-svid key 0 contains private key material ("d")',
    ],
    ['a jwt-svid key without kid', () => doc([x509Key(ca), jwtKey(jwtEc, '', { kid: undefined })]), /key 1 has no "kid"/],
    ['a duplicate kid', () => doc([jwtKey(jwtEc, 'same'), x509Key(ca), jwtKey(jwtRsa, 'same')]), /duplicate key ID "same" \(key 2\)/],
    ['a malformed jwt-svid key', () => doc([jwtKey(jwtEc, 'k', { x: 'AAAA' })]), /key "k" \(key 0\) is not a valid EC public key/],
    ['a negative spiffe_sequence', () => doc([], { spiffe_sequence: -1 }), '"spiffe_sequence" must be a non-negative integer, got -1'],
    [
      'a fractional spiffe_refresh_hint',
      () => doc([], { spiffe_refresh_hint: 1.5 }),
      '"spiffe_refresh_hint" must be a non-negative integer, got 1.5',
    ],
    [
      'a string spiffe_refresh_hint',
      () => doc([], { spiffe_refresh_hint: '300' }),
      '"spiffe_refresh_hint" must be a non-negative integer, got "300"',
    ],
  ];
  for (const [name, input, message] of bad) {
    it(`rejects ${name}`, () => assertInvalid(() => SpiffeBundle.parse(td, input()), message));
  }
  it('accepts the valid counterparts of the rejected documents', () => {
    const bundle = SpiffeBundle.parse(
      td,
      doc([x509Key(ca), x509Key(ca2), jwtKey(jwtEc, 'same'), jwtKey(jwtRsa, 'other')], { spiffe_sequence: 0, spiffe_refresh_hint: 0 }),
    );
    assert.equal(bundle.x509Authorities().length, 2);
    assert.equal(bundle.jwtAuthorities().size, 2);
    assert.equal(bundle.sequenceNumber, 0);
    assert.equal(bundle.refreshHint, 0);
  });

  it('rejects invalid UTF-8 bytes and misuse', () => {
    assertInvalid(() => SpiffeBundle.parse(td, Uint8Array.from([0x7b, 0xff, 0x7d])), 'the document is not valid UTF-8');
    assert.throws(() => SpiffeBundle.parse('example.org' as unknown as TrustDomain, '{"keys":[]}'), TypeError);
    assert.throws(() => SpiffeBundle.parse(td, {} as unknown as string), TypeError);
  });
});

describe('SpiffeBundle.marshal', () => {
  it('round-trips authorities, sequence number and refresh hint', () => {
    const original = SpiffeBundle.parse(
      td,
      doc([x509Key(ca), x509Key(ca2), jwtKey(jwtEc, 'ec-1', { alg: 'ES256' }), jwtKey(jwtRsa, 'rsa-1')], {
        spiffe_sequence: 7,
        spiffe_refresh_hint: 60,
      }),
    );
    const text = original.marshal();
    const parsed = JSON.parse(text) as { keys: Jwk[]; spiffe_sequence: number; spiffe_refresh_hint: number };
    assert.deepEqual(
      parsed.keys.map((k) => k['use']),
      ['x509-svid', 'x509-svid', 'jwt-svid', 'jwt-svid'],
    );
    assert.deepEqual(parsed.keys[0]!['x5c'], [ca.der.toString('base64')]);
    assert.equal(parsed.keys[2]!['kid'], 'ec-1');
    assert.equal(parsed.keys[2]!['alg'], 'ES256');
    assert.equal(parsed.spiffe_sequence, 7);
    assert.equal(parsed.spiffe_refresh_hint, 60);
    const again = SpiffeBundle.parse(td, text);
    assert.ok(again.equals(original));
    assert.equal(again.marshal(), text);
  });

  it('omits the sequence number and refresh hint when unset', () => {
    const text = new SpiffeBundle(td, { x509Authorities: [ca.certificate] }).marshal();
    assert.deepEqual(Object.keys(JSON.parse(text)), ['keys']);
    assert.equal(new SpiffeBundle(td).marshal(), '{"keys":[]}');
  });
});

describe('SpiffeBundle: authorities, halves and sources', () => {
  it('builds from init, from an X509Bundle and from a JwtBundle', () => {
    const init = new SpiffeBundle(td, {
      x509Authorities: [ca.certificate],
      jwtAuthorities: new Map([['k', jwtEc]]),
      refreshHint: 5,
      sequenceNumber: 2,
    });
    assert.equal(init.x509Authorities().length, 1);
    assert.equal(init.jwtAuthorities().size, 1);
    assert.equal(init.refreshHint, 5);
    assert.equal(init.sequenceNumber, 2);
    const fromX509 = SpiffeBundle.fromX509Bundle(ca.bundle());
    assert.ok(fromX509.x509Bundle().equals(ca.bundle()));
    const jwt = JwtBundle.parse(td, doc([jwtKey(jwtEc, 'k', { alg: 'ES256' })]));
    const fromJwt = SpiffeBundle.fromJwtBundle(jwt);
    assert.ok(fromJwt.jwtBundle().equals(jwt));
    assert.throws(() => SpiffeBundle.fromX509Bundle(jwt as unknown as X509Bundle), TypeError);
  });

  it('adds and removes authorities of both kinds', () => {
    const bundle = new SpiffeBundle(td);
    bundle.addX509Authority(ca.certificate);
    bundle.addJwtAuthority('k', jwtEc);
    assert.equal(bundle.hasX509Authority(ca.certificate), true);
    assert.ok(bundle.findJwtAuthority('k')?.equals(jwtEc));
    assert.equal(bundle.removeX509Authority(ca.certificate), true);
    assert.equal(bundle.removeJwtAuthority('k'), true);
    assert.equal(bundle.hasX509Authority(ca.certificate), false);
    assert.equal(bundle.findJwtAuthority('k'), undefined);
  });

  it('hands out copies from x509Bundle() and jwtBundle()', () => {
    const bundle = new SpiffeBundle(td, { x509Authorities: [ca.certificate], jwtAuthorities: new Map([['k', jwtEc]]) });
    bundle.x509Bundle().addAuthority(ca2.certificate);
    bundle.jwtBundle().removeJwtAuthority('k');
    assert.equal(bundle.x509Authorities().length, 1);
    assert.equal(bundle.jwtAuthorities().size, 1);
  });

  it('answers both sources for its own trust domain and refuses others', () => {
    const bundle = new SpiffeBundle(td, { x509Authorities: [ca.certificate], jwtAuthorities: new Map([['k', jwtEc]]) });
    assert.ok(bundle.getX509BundleForTrustDomain(td).hasAuthority(ca.certificate));
    assert.ok(bundle.getJwtBundleForTrustDomain(td).findJwtAuthority('k'));
    const notFound = {
      code: 'ERR_BUNDLE_NOT_FOUND',
      message: 'spiffebundle: no bundle for trust domain "other.org"; this bundle is for "example.org"',
    };
    assert.throws(() => bundle.getX509BundleForTrustDomain(other), notFound);
    assert.throws(() => bundle.getJwtBundleForTrustDomain(other), notFound);
  });

  it('compares every part', () => {
    const make = (): SpiffeBundle =>
      new SpiffeBundle(td, { x509Authorities: [ca.certificate], jwtAuthorities: new Map([['k', jwtEc]]), sequenceNumber: 1 });
    assert.equal(make().equals(make()), true);
    const changed: Array<(b: SpiffeBundle) => void> = [
      (b) => (b.sequenceNumber = 2),
      (b) => (b.refreshHint = 10),
      (b) => b.addX509Authority(ca2.certificate),
      (b) => b.addJwtAuthority('k2', jwtRsa),
    ];
    for (const change of changed) {
      const b = make();
      change(b);
      assert.equal(b.equals(make()), false);
    }
    assert.equal(
      make().equals(
        new SpiffeBundle(other, { x509Authorities: [ca.certificate], jwtAuthorities: new Map([['k', jwtEc]]), sequenceNumber: 1 }),
      ),
      false,
    );
  });

  it('validates the refresh hint and sequence number it is given', () => {
    const bundle = new SpiffeBundle(td);
    bundle.refreshHint = 30;
    bundle.refreshHint = undefined;
    assert.throws(() => (bundle.refreshHint = -1), TypeError);
    assert.throws(() => (bundle.sequenceNumber = 1.5), TypeError);
    assert.throws(() => new SpiffeBundle(td, { refreshHint: Number.NaN }), TypeError);
  });
});

describe('SpiffeBundleSet', () => {
  const a = new SpiffeBundle(td, { x509Authorities: [ca.certificate], jwtAuthorities: new Map([['k', jwtEc]]) });
  const b = new SpiffeBundle(other, { x509Authorities: [caOther.certificate] });

  it('answers each trust domain with its own bundle only', () => {
    const set = new SpiffeBundleSet(a, b);
    assert.ok(set.getX509BundleForTrustDomain(td).hasAuthority(ca.certificate));
    assert.equal(set.getX509BundleForTrustDomain(td).hasAuthority(caOther.certificate), false);
    assert.ok(set.getJwtBundleForTrustDomain(td).findJwtAuthority('k'));
    assert.equal(set.getJwtBundleForTrustDomain(other).size, 0);
    // Leaves verify against their own trust domain's bundle, never a neighbour's.
    assert.equal(parseAndVerifyX509Svid(caOther.svid('/w').chainDer, set).id.toString(), 'spiffe://other.org/w');
    assert.throws(() => parseAndVerifyX509Svid(ca.svid('spiffe://other.org/w').chainDer, set), { code: 'ERR_X509SVID_UNTRUSTED' });
  });

  it('replaces the bundle of a trust domain, has/get/remove/bundles/size', () => {
    const set = new SpiffeBundleSet(b, a);
    assert.deepEqual(
      set.bundles().map((x) => x.trustDomain.name),
      ['example.org', 'other.org'],
    );
    const replacement = new SpiffeBundle(td, { sequenceNumber: 9 });
    set.add(replacement);
    assert.equal(set.size, 2);
    assert.equal(set.get(td), replacement);
    assert.equal(set.getX509BundleForTrustDomain(td).size, 0);
    assert.equal(set.has(other), true);
    assert.equal(set.remove(other), true);
    assert.equal(set.has(other), false);
    assert.equal(set.get(other), undefined);
  });

  it('throws ERR_BUNDLE_NOT_FOUND naming the trust domain', () => {
    const set = new SpiffeBundleSet(a);
    for (const fn of [() => set.getX509BundleForTrustDomain(other), () => set.getJwtBundleForTrustDomain(other)]) {
      assert.throws(fn, {
        name: 'BundleError',
        code: 'ERR_BUNDLE_NOT_FOUND',
        message: 'spiffebundle: no bundle for trust domain "other.org"',
      });
    }
  });

  it('throws TypeError for misuse', () => {
    assert.throws(() => new SpiffeBundleSet(ca.bundle() as unknown as SpiffeBundle), TypeError);
    assert.throws(() => new SpiffeBundleSet().get('example.org' as unknown as TrustDomain), TypeError);
  });
});
