/**
 * Property-based tests of the JWK Set parsers: JWT bundles (`JwtBundle.parse`) and SPIFFE bundles
 * (`SpiffeBundle.parse`). Inputs: JSON noise, JWK Sets built from arbitrary members (key types,
 * curves, `use`, `kid`, `x5c`, private members), valid documents edited as text, and
 * `x5c` certificates corrupted where it hurts (their public key). The property: a BundleError, or
 * a bundle of public keys only, each with the key the document gave, that round-trips.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { BundleError, JwtBundle, SpiffeBundle, TrustDomain } from '@spiffe-node/spiffe';
import { TestCa } from '@spiffe-node/test-kit';
import { assertProperty, fixtureEntropy, mutatedBytes, mutatedString, params, typedOutcome } from './config.js';

const TD = TrustDomain.fromString('example.org');

// Keys and the CA are derived from the seed (see fixtureEntropy): a replayed seed mints the same bytes.
const entropy = fixtureEntropy('jwks');
const ec256 = entropy.keyPair('ec-p256');
const ec384 = entropy.keyPair('ec-p384');
const rsa = entropy.keyPair('rsa-2048');
const ed = entropy.keyPair('ed25519');
const root = TestCa.create({ trustDomain: 'example.org', entropy });

type Jwk = Record<string, unknown>;
const jwkOf = (k: KeyObject): Jwk => k.export({ format: 'jwk' });
const PUBLIC_JWKS: Jwk[] = [jwkOf(ec256.publicKey), jwkOf(ec384.publicKey), jwkOf(rsa.publicKey), jwkOf(ed.publicKey)];
const PRIVATE_JWKS: Jwk[] = [jwkOf(ec256.privateKey), jwkOf(rsa.privateKey)];

/** The SPKI of the root certificate with its EC point prefix replaced: often undecodable. */
const rootWithBadPoint = fc.integer({ min: 0, max: 255 }).map((prefix) => {
  const der = Buffer.from(root.der);
  der[der.indexOf(Buffer.from('034200', 'hex')) + 3] = prefix;
  return der.toString('base64');
});
const x5cValue = fc.oneof(
  { weight: 3, arbitrary: fc.constant([root.der.toString('base64')]) },
  { weight: 2, arbitrary: rootWithBadPoint.map((b) => [b]) },
  { weight: 2, arbitrary: mutatedBytes(root.der).map((b) => [Buffer.from(b).toString('base64')]) },
  { weight: 1, arbitrary: fc.constantFrom([], [root.der.toString('base64'), root.der.toString('base64')], ['not base64!'], [42], 'AAAA') },
);

const memberValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.boolean());
/** A JWK built from valid pieces and arbitrary members. */
const jwk: fc.Arbitrary<Jwk> = fc
  .record(
    {
      base: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...PUBLIC_JWKS) },
        { weight: 1, arbitrary: fc.constantFrom(...PRIVATE_JWKS) },
        { weight: 1, arbitrary: fc.constant({}) },
      ),
      kty: fc.option(fc.oneof(fc.constantFrom('EC', 'RSA', 'OKP', 'oct', 'QUANTUM', ''), memberValue), { nil: undefined }),
      crv: fc.option(fc.oneof(fc.constantFrom('P-256', 'P-384', 'P-521', 'secp256k1', 'Ed25519', 'X25519'), memberValue), {
        nil: undefined,
      }),
      use: fc.oneof(fc.constantFrom('jwt-svid', 'x509-svid', 'jwt-svid', 'sig', undefined), memberValue),
      kid: fc.oneof(fc.constantFrom('k1', 'k2', 'k1', ''), fc.string({ maxLength: 6 }), fc.integer(), fc.constant(undefined)),
      alg: fc.option(fc.constantFrom('ES256', 'ES384', 'RS256', 'PS256', 'EdDSA', 'HS256', 'none'), { nil: undefined }),
      x5c: fc.option(x5cValue, { nil: undefined }),
      mangle: fc.option(fc.constantFrom('x', 'y', 'n', 'e'), { nil: undefined }),
      mangleTo: memberValue,
    },
    { requiredKeys: ['base', 'use', 'kid'] },
  )
  .map((r) => {
    const out: Jwk = { ...r.base };
    if (r.kty !== undefined) out['kty'] = r.kty;
    if (r.crv !== undefined) out['crv'] = r.crv;
    if (r.use === undefined) delete out['use'];
    else out['use'] = r.use;
    if (r.kid === undefined) delete out['kid'];
    else out['kid'] = r.kid;
    if (r.alg !== undefined) out['alg'] = r.alg;
    if (r.x5c !== undefined) out['x5c'] = r.x5c;
    if (r.mangle !== undefined && r.mangle in out) out[r.mangle] = r.mangleTo;
    return out;
  });
/** The root's own key as an x509-svid JWK with its certificate: valid. */
const x509Jwk: Jwk = { ...jwkOf(root.publicKey), use: 'x509-svid', x5c: [root.der.toString('base64')] };
/** Mostly well-formed keys, so that documents get past their first key often. */
const wellFormedJwt = fc
  .record({ base: fc.constantFrom(...PUBLIC_JWKS), use: fc.constantFrom('jwt-svid', undefined) })
  .map(({ base, use }) => ({
    ...base,
    ...(use === undefined ? {} : { use }),
  }));
const x509Key = x5cValue.map((x5c) => ({ ...jwkOf(root.publicKey), use: 'x509-svid', x5c }));
const keyList = fc
  .array(fc.oneof({ weight: 3, arbitrary: wellFormedJwt }, { weight: 2, arbitrary: x509Key }, { weight: 3, arbitrary: jwk }), {
    maxLength: 4,
  })
  // Distinct kids for the well-formed JWT keys (a duplicate kid is a rule of its own, tested by `jwk`).
  .map((keys) => keys.map((k: Jwk, i) => (k['kid'] === undefined && k['use'] !== 'x509-svid' ? { ...k, kid: `w${i}` } : k)));

const document = fc.record(
  {
    keys: fc.oneof({ weight: 8, arbitrary: keyList }, { weight: 1, arbitrary: memberValue }),
    spiffe_sequence: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 }), fc.double(), fc.string({ maxLength: 3 }), fc.constant(2 ** 60)),
    spiffe_refresh_hint: fc.oneof(fc.nat({ max: 86400 }), fc.double(), fc.constant(-1), fc.constant(null)),
  },
  { requiredKeys: ['keys'] },
);
const validText = JSON.stringify({ keys: [{ ...PUBLIC_JWKS[0], kid: 'k1', use: 'jwt-svid' }, x509Jwk], spiffe_sequence: 3 });
const text = fc.oneof(
  { weight: 6, arbitrary: document.map((d) => JSON.stringify(d)) },
  { weight: 2, arbitrary: mutatedString(validText, fc.constantFrom('"', '{', '}', '[', ']', ',', ':', 'a', '0', '\\', ' ')) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

function publicJwkEquals(key: KeyObject, jwkIn: Jwk): boolean {
  try {
    return key.equals(createPublicKey({ key: jwkIn as import('node:crypto').JsonWebKey, format: 'jwk' }));
  } catch {
    return false;
  }
}

function checkJwtAuthorities(bundle: JwtBundle, input: string): void {
  let keys: Jwk[] = [];
  try {
    const doc = JSON.parse(input) as { keys?: unknown };
    keys = Array.isArray(doc.keys) ? (doc.keys as Jwk[]) : [];
  } catch {
    keys = [];
  }
  for (const [kid, key] of bundle.jwtAuthorities()) {
    assert.equal(typeof kid, 'string', 'kids are strings');
    assert.notEqual(kid, '', 'kids are not empty');
    assert.equal(key.type, 'public', `authority "${kid}" is a public key`);
    // Keys of another use or of an unknown type are ignored by the rules, whatever their kid.
    const source = keys.filter(
      (k) =>
        k &&
        typeof k === 'object' &&
        k['kid'] === kid &&
        (k['use'] === undefined || k['use'] === 'jwt-svid') &&
        ['EC', 'RSA', 'OKP'].includes(k['kty'] as string),
    );
    assert.equal(source.length, 1, `exactly one JWT authority of the document has kid "${kid}"`);
    assert.ok(!('d' in source[0]!), `authority "${kid}" came from a key without private material`);
    assert.ok(publicJwkEquals(key, source[0]!), `authority "${kid}" is the key the document gave`);
    // The key material is exactly the document's: its base64url members are canonical and the
    // bundle writes them back unchanged (a lenient decoder would keep a key the document does not name).
    const written = (JSON.parse(bundle.marshal()) as { keys: Jwk[] }).keys.find((k) => k['kid'] === kid)!;
    for (const member of ['n', 'e', 'x', 'y']) {
      if (source[0]![member] === undefined) continue;
      assert.equal(
        written[member],
        source[0]![member],
        `authority "${kid}": member "${member}" is kept exactly as given (${JSON.stringify(source[0]![member])})`,
      );
    }
  }
}

describe('fuzz: JWT bundles (JWK Sets)', () => {
  it('JwtBundle.parse: BundleError, or public keys exactly as the document gave them, round-tripping', () => {
    assertProperty(
      fc.property(text, fc.boolean(), (input, asBytes) => {
        const outcome = typedOutcome(() => JwtBundle.parse(TD, asBytes ? new TextEncoder().encode(input) : input), 'JwtBundle.parse');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof BundleError, String(outcome.error));
          assert.equal(outcome.error.code, 'ERR_BUNDLE_INVALID');
          return;
        }
        const bundle = outcome.value;
        checkJwtAuthorities(bundle, input);
        const again = JwtBundle.parse(TD, bundle.marshal());
        assert.ok(again.equals(bundle), 'marshal() round-trips');
      }),
      params(400),
    );
  });

  it('invalid UTF-8 bytes are a BundleError', () => {
    assertProperty(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const outcome = typedOutcome(() => JwtBundle.parse(TD, bytes), 'JwtBundle.parse(bytes)');
        if (outcome.ok) checkJwtAuthorities(outcome.value, Buffer.from(bytes).toString('utf8'));
      }),
      params(200),
    );
  });
});

describe('fuzz: SPIFFE bundles', () => {
  it('SpiffeBundle.parse: BundleError, or X.509 authorities matching their JWK, JWT authorities as given, and a faithful round trip', () => {
    assertProperty(
      fc.property(text, (input) => {
        const outcome = typedOutcome(() => SpiffeBundle.parse(TD, input), 'SpiffeBundle.parse');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof BundleError, String(outcome.error));
          return;
        }
        const bundle = outcome.value;
        const doc = JSON.parse(input) as Record<string, unknown>;
        for (const [member, value] of [
          ['spiffe_sequence', bundle.sequenceNumber],
          ['spiffe_refresh_hint', bundle.refreshHint],
        ] as const) {
          if (doc[member] === undefined) assert.equal(value, undefined, `${member} absent`);
          else {
            assert.equal(value, doc[member], `${member} as given`);
            assert.ok(Number.isSafeInteger(value) && value >= 0, `${member} is a non-negative integer`);
          }
        }
        for (const cert of bundle.x509Bundle().authorities()) {
          assert.ok(cert instanceof X509Certificate, 'X.509 authorities are certificates');
          const owner = (doc['keys'] as Jwk[]).find(
            (k) => k && k['use'] === 'x509-svid' && Array.isArray(k['x5c']) && k['x5c'][0] === cert.raw.toString('base64'),
          );
          assert.ok(owner, 'each X.509 authority comes from an x509-svid key');
          assert.ok(publicJwkEquals(cert.publicKey, owner), "the certificate's key is the JWK's key");
        }
        checkJwtAuthorities(bundle.jwtBundle(), input);
        const again = SpiffeBundle.parse(TD, bundle.marshal());
        assert.ok(again.equals(bundle), 'marshal() round-trips');
      }),
      params(400),
    );
  });
});
