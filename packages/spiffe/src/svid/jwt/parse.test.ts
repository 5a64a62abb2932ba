import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, sign as nodeSign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { parseAndValidateJwtSvid, parseInsecureJwtSvid } from './parse.js';
import { JwtSvid } from './jwt-svid.js';
import { JwtBundle } from '../../bundle/jwt-bundle.js';
import { JwtBundleSet } from '../../bundle/jwt-bundle-set.js';
import type { JwtBundleSource } from '../../bundle/source.js';
import { BundleError, JwtSvidError, type SpiffeErrorCode } from '../../errors.js';
import { SpiffeId, TrustDomain } from '../../spiffeid/index.js';
import { b64url, compactJws, jwks, keyPair, nowSeconds, publicJwk } from './testing/tokens.js';

const tdA = TrustDomain.fromString('example.org');
const tdB = TrustDomain.fromString('other.org');
const tdRsaOnly = TrustDomain.fromString('rsa-only.org');

const ec256 = keyPair('P-256');
const ec384 = keyPair('P-384');
const ec521 = keyPair('P-521');
const rsa = keyPair('RSA');
const rsaSmall = keyPair('RSA-1024');
const ed = keyPair('Ed25519');
const k1 = keyPair('secp256k1');
const bKey = keyPair('P-256', true);
const x509Key = keyPair('P-256', true);
const stranger = keyPair('P-256', true);

const bundleA = JwtBundle.parse(
  tdA,
  jwks(
    publicJwk(ec256.publicKey, 'ec256'),
    publicJwk(ec384.publicKey, 'ec384'),
    publicJwk(ec521.publicKey, 'ec521'),
    publicJwk(rsa.publicKey, 'rsa'),
    publicJwk(rsa.publicKey, 'rsa-rs256-only', { alg: 'RS256' }),
    publicJwk(rsaSmall.publicKey, 'rsa1024'),
    publicJwk(ed.publicKey, 'ed'),
    publicJwk(k1.publicKey, 'k1'),
    publicJwk(x509Key.publicKey, 'x509', { use: 'x509-svid', x5c: ['MIIB'] }),
  ),
);
const bundleB = JwtBundle.parse(tdB, jwks(publicJwk(bKey.publicKey, 'b-key')));
const bundleRsaOnly = JwtBundle.parse(
  tdRsaOnly,
  jwks(publicJwk(rsa.publicKey, 'rsa'), publicJwk(ec256.publicKey, 'x509-ec', { use: 'x509-svid' })),
);
const bundles = new JwtBundleSet(bundleA, bundleB, bundleRsaOnly);

const SERVER = 'spiffe://example.org/server';
const CLIENT = 'spiffe://example.org/client';
const audiences = [SERVER];

interface Spec {
  alg?: string;
  /** `null` leaves the kid out. */
  kid?: string | null;
  key?: KeyObject;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

const KEYS_BY_KID: Record<string, KeyObject> = {
  ec256: ec256.privateKey,
  ec384: ec384.privateKey,
  ec521: ec521.privateKey,
  rsa: rsa.privateKey,
  'rsa-rs256-only': rsa.privateKey,
  rsa1024: rsaSmall.privateKey,
  ed: ed.privateKey,
  k1: k1.privateKey,
  'b-key': bKey.privateKey,
  x509: x509Key.privateKey,
};

/** Mints a token: ES256 with kid `ec256`, sub CLIENT, aud [SERVER], exp in 5 minutes. */
function mint(spec: Spec = {}): string {
  const alg = spec.alg ?? 'ES256';
  const kid = spec.kid === null ? undefined : (spec.kid ?? 'ec256');
  const key = spec.key ?? KEYS_BY_KID[kid ?? 'ec256'] ?? ec256.privateKey;
  const now = nowSeconds();
  const header = { alg, typ: 'JWT', kid, ...spec.header };
  const claims = { sub: CLIENT, aud: [SERVER], exp: now + 300, iat: now, ...spec.claims };
  return compactJws(header, claims, key);
}

function splitToken(token: string): [string, string, string] {
  const [h, p, s] = token.split('.');
  return [h as string, p as string, s as string];
}

/** Replaces the payload of `token`, keeping its header and signature. */
function withPayload(token: string, claims: Record<string, unknown>): string {
  const [h, , s] = splitToken(token);
  return `${h}.${b64url(JSON.stringify(claims))}.${s}`;
}

function flipSignatureBit(token: string): string {
  const [h, p, s] = splitToken(token);
  const sig = Buffer.from(s, 'base64url');
  const at = sig.length >> 1;
  sig[at] = (sig[at] as number) ^ 0x01;
  return `${h}.${p}.${b64url(sig)}`;
}

async function assertRejects(promise: Promise<unknown> | (() => unknown), code: SpiffeErrorCode, pattern: RegExp | string): Promise<void> {
  await assert.rejects(
    async () => (typeof promise === 'function' ? promise() : promise),
    (err: unknown) => {
      // A missing bundle is a BundleError (one class per code); every other failure a JwtSvidError.
      const expected = code === 'ERR_BUNDLE_NOT_FOUND' ? BundleError : JwtSvidError;
      assert.ok(err instanceof expected, `expected a ${expected.name}, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, /^jwtsvid: /);
      if (typeof pattern === 'string') assert.equal(err.message, pattern);
      else assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('parseAndValidateJwtSvid: every allowed algorithm', () => {
  const cases: [alg: string, kid: string][] = [
    ['RS256', 'rsa'],
    ['RS384', 'rsa'],
    ['RS512', 'rsa'],
    ['PS256', 'rsa'],
    ['PS384', 'rsa'],
    ['PS512', 'rsa'],
    ['ES256', 'ec256'],
    ['ES384', 'ec384'],
    ['ES512', 'ec521'],
  ];
  for (const [alg, kid] of cases) {
    it(`validates ${alg} minted by jose`, async () => {
      const now = nowSeconds();
      const token = await new SignJWT({})
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setSubject(CLIENT)
        .setAudience(SERVER)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(KEYS_BY_KID[kid] as KeyObject);
      const svid = await parseAndValidateJwtSvid(token, bundles, audiences);
      assert.equal(svid.id.toString(), CLIENT);
      assert.deepEqual(svid.audience, [SERVER]);
      assert.equal(svid.expiry.getTime(), (now + 60) * 1000);
      assert.equal(svid.token, token);
    });

    it(`validates ${alg} without kid, and rejects it with a flipped signature bit`, async () => {
      const token = mint({ alg, kid: null, key: KEYS_BY_KID[kid] as KeyObject });
      assert.equal((await parseAndValidateJwtSvid(token, bundles, audiences)).id.toString(), CLIENT);
      await assertRejects(
        parseAndValidateJwtSvid(flipSignatureBit(token), bundles, audiences),
        'ERR_JWTSVID_SIGNATURE',
        /signature verifies with none/,
      );
    });
  }
});

interface InvalidCase {
  name: string;
  bad: () => string;
  good: () => string;
  code: SpiffeErrorCode;
  message: RegExp | string;
  /** The defect is a mismatch between the token and a key of the bundle (no key, no defect). */
  keyFit?: true;
}

const hs256 = (): string => {
  // HS256 "signed" with the bytes of the trust domain's public key, the classic confusion attack.
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'ec256' }));
  const payload = b64url(JSON.stringify({ sub: CLIENT, aud: [SERVER], exp: nowSeconds() + 300 }));
  const secret = ec256.publicKey.export({ format: 'pem', type: 'spki' });
  return `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
};

const invalidCases: InvalidCase[] = [
  // Algorithms.
  {
    name: 'alg none with an empty signature',
    bad: () => `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify({ sub: CLIENT, aud: SERVER, exp: nowSeconds() + 60 }))}.`,
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message:
      /^jwtsvid: unsupported token signature algorithm "none"; a JWT-SVID must be signed with one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512$/,
  },
  {
    name: 'alg none with a real ES256 signature',
    bad: () => mint({ header: { alg: 'none' }, key: ec256.privateKey }).replace(/^[^.]+/, b64url('{"alg":"none","kid":"ec256"}')),
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /"none"/,
  },
  {
    name: 'HS256 keyed with the public key bytes',
    bad: hs256,
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /"HS256"/,
  },
  {
    name: 'EdDSA with an Ed25519 key of the bundle',
    bad: () => mint({ alg: 'EdDSA', kid: 'ed' }),
    good: () => mint({ alg: 'ES256', kid: 'ec256' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /"EdDSA"/,
  },
  {
    name: 'a lowercase alg',
    bad: () => mint({ alg: 'es256' }),
    good: () => mint({ alg: 'ES256' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /"es256"/,
  },
  {
    name: 'ES256K',
    bad: () => mint({ alg: 'ES256K', kid: 'k1' }),
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /"ES256K"/,
  },
  {
    name: 'a missing alg',
    bad: () => mint({ header: { alg: undefined } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /algorithm nothing/,
  },
  {
    name: 'a non-string alg',
    bad: () => mint({ header: { alg: ['ES256'] } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /\["ES256"\]/,
  },
  {
    name: 'an ES256 header on an Ed25519 key',
    keyFit: true,
    bad: () => mint({ alg: 'ES256', kid: 'ed', key: ec256.privateKey }),
    good: () => mint({ alg: 'ES256', kid: 'ec256' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: 'jwtsvid: token algorithm ES256 does not fit JWT authority "ed" of trust domain "example.org" (Ed25519)',
  },
  {
    name: 'an ES384 header on a P-256 key',
    keyFit: true,
    bad: () => mint({ alg: 'ES384', kid: 'ec256' }),
    good: () => mint({ alg: 'ES384', kid: 'ec384' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: 'jwtsvid: token algorithm ES384 does not fit JWT authority "ec256" of trust domain "example.org" (EC P-256)',
  },
  {
    name: 'an ES256 header on a P-384 key',
    keyFit: true,
    bad: () => mint({ alg: 'ES256', kid: 'ec384' }),
    good: () => mint({ alg: 'ES256', kid: 'ec256' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /does not fit JWT authority "ec384".*EC P-384/,
  },
  {
    name: 'an ES512 header on a P-384 key',
    keyFit: true,
    bad: () => mint({ alg: 'ES512', kid: 'ec384', key: ec521.privateKey }),
    good: () => mint({ alg: 'ES512', kid: 'ec521' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /does not fit/,
  },
  {
    name: 'an ES256 header on a secp256k1 key',
    keyFit: true,
    bad: () => mint({ alg: 'ES256', kid: 'k1' }),
    good: () => mint({ alg: 'ES256', kid: 'ec256' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /EC secp256k1/,
  },
  {
    name: 'an RS256 header on an EC key',
    keyFit: true,
    bad: () => mint({ alg: 'RS256', kid: 'ec256', key: rsa.privateKey }),
    good: () => mint({ alg: 'RS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /RS256 does not fit JWT authority "ec256"/,
  },
  {
    name: 'a PS256 header on an EC key',
    keyFit: true,
    bad: () => mint({ alg: 'PS256', kid: 'ec256', key: rsa.privateKey }),
    good: () => mint({ alg: 'PS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /PS256 does not fit/,
  },
  {
    name: 'an ES256 header on an RSA key',
    keyFit: true,
    bad: () => mint({ alg: 'ES256', kid: 'rsa', key: ec256.privateKey }),
    good: () => mint({ alg: 'RS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /RSA 2048-bit/,
  },
  {
    name: 'an RS256 header on a 1024-bit RSA key',
    keyFit: true,
    bad: () => mint({ alg: 'RS256', kid: 'rsa1024' }),
    good: () => mint({ alg: 'RS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /RSA 1024-bit/,
  },
  {
    name: 'PS256 on a key published with alg RS256',
    keyFit: true,
    bad: () => mint({ alg: 'PS256', kid: 'rsa-rs256-only' }),
    good: () => mint({ alg: 'RS256', kid: 'rsa-rs256-only' }),
    code: 'ERR_JWTSVID_UNSUPPORTED_ALG',
    message: /\(RSA 2048-bit, published for RS256\)/,
  },
  // Header.
  {
    name: 'typ foo',
    bad: () => mint({ header: { typ: 'foo' } }),
    good: () => mint({ header: { typ: 'JOSE' } }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: 'jwtsvid: token header has an unsupported type "foo"; "typ" must be "JWT" or "JOSE" when present',
  },
  {
    name: 'typ jwt in lowercase',
    bad: () => mint({ header: { typ: 'jwt' } }),
    good: () => mint({ header: { typ: 'JWT' } }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"jwt"/,
  },
  {
    name: 'typ null',
    bad: () => mint({ header: { typ: null } }),
    good: () => mint({ header: { typ: undefined } }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /null/,
  },
  {
    name: 'an unknown crit',
    bad: () => mint({ header: { crit: ['urn:example:x'], 'urn:example:x': 1 } }),
    good: () => mint({ header: { 'urn:example:x': 1 } }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /critical extensions this validator does not understand \("crit": \["urn:example:x"\]\)/,
  },
  {
    name: 'crit naming b64',
    bad: () => mint({ header: { crit: ['b64'], b64: true } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"crit": \["b64"\]/,
  },
  {
    name: 'an empty crit',
    bad: () => mint({ header: { crit: [] } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"crit": \[\]/,
  },
  {
    name: 'b64 false without crit',
    bad: () => mint({ header: { b64: false } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"b64"/,
  },
  {
    name: 'a numeric kid',
    bad: () => mint({ header: { kid: 7 } }),
    good: () => mint({ header: { kid: 'ec256' } }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"kid" must be a non-empty string, got 7/,
  },
  {
    name: 'an empty kid',
    bad: () => mint({ kid: '' }),
    good: () => mint({ kid: null }),
    code: 'ERR_JWTSVID_INVALID_HEADER',
    message: /"kid" must be a non-empty string/,
  },
  // Keys.
  {
    name: 'an unknown kid',
    bad: () => mint({ kid: 'nope', key: ec256.privateKey }),
    good: () => mint({ kid: 'ec256' }),
    code: 'ERR_JWTSVID_KEY_NOT_FOUND',
    message: 'jwtsvid: no JWT authority "nope" found for trust domain "example.org"',
  },
  {
    name: "a kid of another trust domain's bundle (sub in A, key in B)",
    bad: () => mint({ kid: 'b-key' }),
    good: () => mint({ kid: 'b-key', claims: { sub: 'spiffe://other.org/client' } }),
    code: 'ERR_JWTSVID_KEY_NOT_FOUND',
    message: 'jwtsvid: no JWT authority "b-key" found for trust domain "example.org"',
  },
  {
    name: "no kid, signed by another trust domain's key",
    bad: () => mint({ kid: null, key: bKey.privateKey }),
    good: () => mint({ kid: null, key: bKey.privateKey, claims: { sub: 'spiffe://other.org/client' } }),
    code: 'ERR_JWTSVID_SIGNATURE',
    message:
      'jwtsvid: token has no "kid" and its signature verifies with none of the 1 ES256 JWT authorities of trust domain "example.org"',
  },
  {
    name: 'no kid and no key of the trust domain fits the alg',
    bad: () => mint({ kid: null, claims: { sub: 'spiffe://rsa-only.org/client' } }),
    good: () => mint({ kid: null, alg: 'RS256', key: rsa.privateKey, claims: { sub: 'spiffe://rsa-only.org/client' } }),
    code: 'ERR_JWTSVID_KEY_NOT_FOUND',
    message: 'jwtsvid: token has no "kid" and no JWT authority of trust domain "rsa-only.org" fits algorithm ES256',
  },
  {
    name: 'the kid of a key whose use is x509-svid',
    bad: () => mint({ kid: 'x509' }),
    good: () => mint({ kid: 'ec256' }),
    code: 'ERR_JWTSVID_KEY_NOT_FOUND',
    message: /no JWT authority "x509"/,
  },
  {
    name: 'no kid, signed by a key whose use is x509-svid',
    bad: () => mint({ kid: null, key: ec256.privateKey, claims: { sub: 'spiffe://rsa-only.org/client' } }),
    good: () => mint({ kid: 'rsa', alg: 'RS256', claims: { sub: 'spiffe://rsa-only.org/client' } }),
    code: 'ERR_JWTSVID_KEY_NOT_FOUND',
    message: /no JWT authority of trust domain "rsa-only.org" fits algorithm ES256/,
  },
  {
    name: 'a subject whose trust domain has no bundle',
    bad: () => mint({ claims: { sub: 'spiffe://unknown.org/client' } }),
    good: () => mint({ claims: { sub: 'spiffe://example.org/client' } }),
    code: 'ERR_BUNDLE_NOT_FOUND',
    message: 'jwtsvid: no JWT bundle for trust domain "unknown.org" (the token\'s subject is spiffe://unknown.org/client)',
  },
  // Signature.
  {
    name: 'a tampered payload',
    bad: () => withPayload(mint(), { sub: 'spiffe://example.org/admin', aud: [SERVER], exp: nowSeconds() + 300 }),
    good: () => mint({ claims: { sub: 'spiffe://example.org/admin' } }),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: 'jwtsvid: token signature does not verify with JWT authority "ec256" of trust domain "example.org"',
  },
  {
    name: 'a flipped signature bit (ES256)',
    bad: () => flipSignatureBit(mint()),
    good: () => mint(),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'a flipped signature bit (RS256)',
    bad: () => flipSignatureBit(mint({ alg: 'RS256', kid: 'rsa' })),
    good: () => mint({ alg: 'RS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'a flipped signature bit (PS384)',
    bad: () => flipSignatureBit(mint({ alg: 'PS384', kid: 'rsa' })),
    good: () => mint({ alg: 'PS384', kid: 'rsa' }),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'an RS256 signature under a PS256 header',
    bad: () => {
      const t = mint({ alg: 'RS256', kid: 'rsa' });
      const [, p, s] = splitToken(t);
      return `${b64url('{"alg":"PS256","kid":"rsa"}')}.${p}.${s}`;
    },
    good: () => mint({ alg: 'PS256', kid: 'rsa' }),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'a DER-encoded ES256 signature',
    bad: () => {
      const [h, p] = splitToken(mint());
      return `${h}.${p}.${b64url(nodeSign('sha256', Buffer.from(`${h}.${p}`), { key: ec256.privateKey, dsaEncoding: 'der' }))}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'a truncated ES256 signature',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return `${h}.${p}.${b64url(Buffer.from(s, 'base64url').subarray(0, 63))}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify/,
  },
  {
    name: 'a signature of another key of the same curve',
    bad: () => mint({ key: stranger.privateKey }),
    good: () => mint(),
    code: 'ERR_JWTSVID_SIGNATURE',
    message: /does not verify with JWT authority "ec256"/,
  },
  // Claims.
  {
    name: 'a wrong audience',
    bad: () => mint({ claims: { aud: ['spiffe://example.org/some-other-server'] } }),
    good: () => mint({ claims: { aud: [SERVER] } }),
    code: 'ERR_JWTSVID_AUDIENCE',
    message: 'jwtsvid: expected audience in ["spiffe://example.org/server"] (audience=["spiffe://example.org/some-other-server"])',
  },
  {
    name: 'a wrong audience as a string',
    bad: () => mint({ claims: { aud: 'spiffe://example.org/some-other-server' } }),
    good: () => mint({ claims: { aud: SERVER } }),
    code: 'ERR_JWTSVID_AUDIENCE',
    message: 'jwtsvid: expected audience in ["spiffe://example.org/server"] (audience=["spiffe://example.org/some-other-server"])',
  },
  {
    name: 'a missing aud',
    bad: () => mint({ claims: { aud: undefined } }),
    good: () => mint({ claims: { aud: SERVER } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: 'jwtsvid: token has no "aud" claim; a JWT-SVID names its audience',
  },
  {
    name: 'aud an empty array',
    bad: () => mint({ claims: { aud: [] } }),
    good: () => mint({ claims: { aud: [SERVER] } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /"aud" claim must be a string or a non-empty array of strings, got \[\]/,
  },
  {
    name: 'aud holding a number',
    bad: () => mint({ claims: { aud: [SERVER, 1] } }),
    good: () => mint({ claims: { aud: [SERVER, '1'] } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /"aud" claim must be/,
  },
  {
    name: 'an expired token',
    bad: () => mint({ claims: { exp: nowSeconds() - 10, iat: nowSeconds() - 100 } }),
    good: () => mint({ claims: { exp: nowSeconds() + 10, iat: nowSeconds() - 100 } }),
    code: 'ERR_JWTSVID_EXPIRED',
    message: /^jwtsvid: token has expired \(exp \d{4}-\d\d-\d\dT[\d:.]+Z, now \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
  },
  {
    name: 'nbf in the future',
    bad: () => mint({ claims: { nbf: nowSeconds() + 60 } }),
    good: () => mint({ claims: { nbf: nowSeconds() - 1 } }),
    code: 'ERR_JWTSVID_NOT_YET_VALID',
    message: /^jwtsvid: token is not valid yet \(nbf /,
  },
  {
    name: 'iat in the future',
    bad: () => mint({ claims: { iat: nowSeconds() + 60 } }),
    good: () => mint({ claims: { iat: nowSeconds() - 1 } }),
    code: 'ERR_JWTSVID_NOT_YET_VALID',
    message: /^jwtsvid: token was issued in the future \(iat /,
  },
  {
    name: 'a missing exp',
    bad: () => mint({ claims: { exp: undefined } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: 'jwtsvid: token has no "exp" claim; a JWT-SVID must expire',
  },
  {
    name: 'exp a string',
    bad: () => mint({ claims: { exp: String(nowSeconds() + 60) } }),
    good: () => mint({ claims: { exp: nowSeconds() + 60 } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /"exp" claim must be a number/,
  },
  {
    name: 'nbf a string',
    bad: () => mint({ claims: { nbf: '0' } }),
    good: () => mint({ claims: { nbf: 0 } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /"nbf" claim must be a number/,
  },
  {
    name: 'iat a string',
    bad: () => mint({ claims: { iat: 'yesterday' } }),
    good: () => mint({ claims: { iat: nowSeconds() - 86400 } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: 'jwtsvid: token "iat" claim must be a number (seconds since the epoch), got "yesterday"',
  },
  {
    name: 'a missing sub',
    bad: () => mint({ claims: { sub: undefined } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: 'jwtsvid: token has no "sub" claim; a JWT-SVID names its SPIFFE ID in "sub"',
  },
  {
    name: 'sub a number',
    bad: () => mint({ claims: { sub: 42 } }),
    good: () => mint(),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /"sub" claim must be a string, got 42/,
  },
  {
    name: 'sub an https URL',
    bad: () => mint({ claims: { sub: 'https://example.org/client' } }),
    good: () => mint({ claims: { sub: 'spiffe://example.org/client' } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /^jwtsvid: token "sub" claim "https:\/\/example.org\/client" is not a valid SPIFFE ID: spiffeid: /,
  },
  {
    name: 'sub with an empty path segment',
    bad: () => mint({ claims: { sub: 'spiffe://example.org/a//b' } }),
    good: () => mint({ claims: { sub: 'spiffe://example.org/a/b' } }),
    code: 'ERR_JWTSVID_INVALID_CLAIMS',
    message: /is not a valid SPIFFE ID/,
  },
  // Compact form.
  {
    name: 'two parts',
    bad: () => splitToken(mint()).slice(0, 2).join('.'),
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token is not a compact JWS: expected 3 dot-separated parts (header.payload.signature), found 2',
  },
  { name: 'four parts', bad: () => `${mint()}.${b64url('x')}`, good: () => mint(), code: 'ERR_JWTSVID_MALFORMED', message: /found 4$/ },
  { name: 'five parts (a JWE)', bad: () => `${mint()}.AA.AA`, good: () => mint(), code: 'ERR_JWTSVID_MALFORMED', message: /found 5$/ },
  { name: 'an empty string', bad: () => '', good: () => mint(), code: 'ERR_JWTSVID_MALFORMED', message: /found 0$/ },
  {
    name: 'standard base64 characters',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64').replace(/=+$/, '')}+/`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token signature is not canonical unpadded base64url',
  },
  {
    name: 'padding',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return `${h}.${p}.${s}==`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /signature is not canonical/,
  },
  {
    name: 'non-canonical trailing bits',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      const last = s[s.length - 1] as string;
      const alt = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return `${h}.${p}.${s.slice(0, -1)}${alt[alt.indexOf(last) + 1]}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /signature is not canonical/,
  },
  {
    name: 'a payload of invalid base64url length',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return `${h}.${p.length % 4 === 0 ? `${p}A` : `${p}AAAAA`.slice(0, p.length + ((5 - (p.length % 4)) % 4))}.${s}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /payload is not canonical/,
  },
  {
    name: 'an empty signature',
    bad: () => {
      const [h, p] = splitToken(mint());
      return `${h}.${p}.`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token signature is empty',
  },
  {
    name: 'a non-JSON header',
    bad: () => {
      const [, p, s] = splitToken(mint());
      return `${b64url('alg=ES256')}.${p}.${s}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /^jwtsvid: token header is not valid JSON/,
  },
  {
    name: 'a JSON array header',
    bad: () => {
      const [, p, s] = splitToken(mint());
      return `${b64url('["ES256"]')}.${p}.${s}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token header is not a JSON object',
  },
  {
    name: 'a non-JSON payload',
    bad: () => compactJws({ alg: 'ES256', kid: 'ec256' }, 'not json', ec256.privateKey),
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /^jwtsvid: token payload is not valid JSON/,
  },
  {
    name: 'a JSON string payload',
    bad: () => compactJws({ alg: 'ES256', kid: 'ec256' }, '"sub"', ec256.privateKey),
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token payload is not a JSON object',
  },
  {
    name: 'the JWS JSON serialization',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return JSON.stringify({ payload: p, protected: h, signature: s });
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: 'jwtsvid: token uses the JWS JSON serialization; a JWT-SVID must use the compact serialization (header.payload.signature)',
  },
  {
    name: 'the JWS JSON serialization with exactly two dots in it',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return JSON.stringify({ payload: p, protected: h, signature: s, note: 'a.b.c' });
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /JWS JSON serialization/,
  },
  {
    name: 'the general JWS JSON serialization',
    bad: () => {
      const [h, p, s] = splitToken(mint());
      return ` {"payload":"${p}","signatures":[{"protected":"${h}","signature":"${s}"}]}`;
    },
    good: () => mint(),
    code: 'ERR_JWTSVID_MALFORMED',
    message: /JWS JSON serialization/,
  },
];

describe('parseAndValidateJwtSvid: rejected tokens, each beside a valid counterpart', () => {
  for (const c of invalidCases) {
    it(`rejects ${c.name}`, async () => {
      await assertRejects(parseAndValidateJwtSvid(c.bad(), bundles, audiences), c.code, c.message);
      const svid = await parseAndValidateJwtSvid(c.good(), bundles, audiences);
      assert.ok(svid instanceof JwtSvid);
    });
  }
});

describe('parseAndValidateJwtSvid: accepted shapes', () => {
  const accepted: [string, () => string][] = [
    ['typ JWT', () => mint({ header: { typ: 'JWT' } })],
    ['typ JOSE', () => mint({ header: { typ: 'JOSE' } })],
    ['no typ', () => mint({ header: { typ: undefined } })],
    ['no kid (a fitting key exists)', () => mint({ kid: null })],
    ['no kid, the second fitting key signs', () => mint({ kid: null, alg: 'RS512', key: rsa.privateKey })],
    ['aud as a string', () => mint({ claims: { aud: SERVER } })],
    ['aud with several entries, one expected', () => mint({ claims: { aud: ['spiffe://example.org/x', SERVER] } })],
    ['nbf in the past', () => mint({ claims: { nbf: nowSeconds() - 5 } })],
    ['no iat', () => mint({ claims: { iat: undefined } })],
    ['a fractional exp', () => mint({ claims: { exp: nowSeconds() + 60.5 } })],
    ['the trust domain ID as sub', () => mint({ claims: { sub: 'spiffe://example.org' } })],
    ['a sub in mixed-case trust domain', () => mint({ claims: { sub: 'spiffe://Example.ORG/client' } })],
    ['unknown header parameters', () => mint({ header: { cty: 'foo', 'x-extra': true } })],
    ['extra claims', () => mint({ claims: { iss: 'spire', jti: 'abc', custom: { nested: [1] } } })],
    ['a key of another trust domain used for its own subject', () => mint({ kid: 'b-key', claims: { sub: 'spiffe://other.org/w' } })],
  ];
  for (const [name, make] of accepted) {
    it(`accepts ${name}`, async () => {
      const token = make();
      const svid = await parseAndValidateJwtSvid(token, bundles, audiences);
      assert.equal(svid.token, token);
    });
  }

  it('fills in the JwtSvid', async () => {
    const now = nowSeconds();
    const token = mint({ claims: { aud: SERVER, exp: now + 120, iat: now - 1, custom: 'x', sub: 'spiffe://Example.org/Client' } });
    const svid = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/other', SERVER]);
    assert.ok(svid.id.equals(SpiffeId.fromString('spiffe://example.org/Client')));
    assert.deepEqual(svid.audience, [SERVER]);
    assert.equal(svid.expiry.getTime(), (now + 120) * 1000);
    assert.equal(svid.issuedAt?.getTime(), (now - 1) * 1000);
    assert.equal(svid.claims['custom'], 'x');
    assert.equal(svid.claims['sub'], 'spiffe://Example.org/Client');
    assert.equal(svid.hint, '');
    assert.equal(svid.marshal(), token);
    assert.ok(Object.isFrozen(svid.audience));
  });

  it('validates against a single JwtBundle as the source', async () => {
    assert.equal((await parseAndValidateJwtSvid(mint(), bundleA, audiences)).id.toString(), CLIENT);
    await assertRejects(
      parseAndValidateJwtSvid(mint({ kid: 'b-key', claims: { sub: 'spiffe://other.org/w' } }), bundleA, audiences),
      'ERR_BUNDLE_NOT_FOUND',
      /no JWT bundle for trust domain "other.org"/,
    );
  });

  it('follows a bundle that changes: a removed key stops verifying, an added one starts', async () => {
    const td = TrustDomain.fromString('rotating.org');
    const key1 = keyPair('P-256', true);
    const key2 = keyPair('P-256', true);
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k1', key1.publicKey]]));
    const sub = 'spiffe://rotating.org/w';
    const byKey2 = mint({ kid: null, key: key2.privateKey, claims: { sub } });
    await assertRejects(parseAndValidateJwtSvid(byKey2, bundle, audiences), 'ERR_JWTSVID_SIGNATURE', /none of the 1 ES256/);
    bundle.addJwtAuthority('k2', key2.publicKey);
    assert.equal((await parseAndValidateJwtSvid(byKey2, bundle, audiences)).id.toString(), sub);
    assert.equal((await parseAndValidateJwtSvid(byKey2, bundle, audiences)).id.toString(), sub);
    bundle.removeJwtAuthority('k2');
    await assertRejects(parseAndValidateJwtSvid(byKey2, bundle, audiences), 'ERR_JWTSVID_SIGNATURE', /none of the 1 ES256/);
  });
});

describe('parseAndValidateJwtSvid: remembered tokens', () => {
  const sub = 'spiffe://remember.org/w';
  const td = TrustDomain.fromString('remember.org');

  it('forgets a verified token when its key is replaced under the same kid', async () => {
    const key1 = keyPair('P-256', true);
    const key2 = keyPair('P-256', true);
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k', key1.publicKey]]));
    const token = mint({ kid: 'k', key: key1.privateKey, claims: { sub } });
    await parseAndValidateJwtSvid(token, bundle, audiences);
    await parseAndValidateJwtSvid(token, bundle, audiences);
    bundle.addJwtAuthority('k', key2.publicKey);
    await assertRejects(
      parseAndValidateJwtSvid(token, bundle, audiences),
      'ERR_JWTSVID_SIGNATURE',
      /does not verify with JWT authority "k"/,
    );
    bundle.addJwtAuthority('k', key1.publicKey);
    await parseAndValidateJwtSvid(token, bundle, audiences);
  });

  it('does not carry a verified token over to another bundle of the same trust domain', async () => {
    const key1 = keyPair('P-256', true);
    const key2 = keyPair('P-256', true);
    const before = JwtBundle.fromJwtAuthorities(td, new Map([['k', key1.publicKey]]));
    const after = JwtBundle.fromJwtAuthorities(td, new Map([['k', key2.publicKey]]));
    const token = mint({ kid: 'k', key: key1.privateKey, claims: { sub } });
    await parseAndValidateJwtSvid(token, before, audiences);
    await assertRejects(parseAndValidateJwtSvid(token, after, audiences), 'ERR_JWTSVID_SIGNATURE', /does not verify/);
  });

  it('still checks expiry and audience of a verified token on every call', async () => {
    const key = keyPair('P-256', true);
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k', key.publicKey]]));
    const exp = nowSeconds() + 60;
    const token = mint({ kid: 'k', key: key.privateKey, claims: { sub, exp } });
    await parseAndValidateJwtSvid(token, bundle, audiences);
    await assertRejects(
      parseAndValidateJwtSvid(token, bundle, audiences, { time: new Date(exp * 1000) }),
      'ERR_JWTSVID_EXPIRED',
      /token has expired/,
    );
    await assertRejects(
      parseAndValidateJwtSvid(token, bundle, ['spiffe://example.org/else']),
      'ERR_JWTSVID_AUDIENCE',
      /expected audience in \["spiffe:\/\/example.org\/else"\]/,
    );
    await assertRejects(parseAndValidateJwtSvid(flipSignatureBit(token), bundle, audiences), 'ERR_JWTSVID_SIGNATURE', /does not verify/);
    await parseAndValidateJwtSvid(token, bundle, audiences);
  });

  it('keeps verifying correctly past the number of tokens it remembers', async () => {
    const key = keyPair('P-256', true);
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k', key.publicKey]]));
    const tokens = Array.from({ length: 1100 }, (_, i) => mint({ kid: 'k', key: key.privateKey, claims: { sub, jti: String(i) } }));
    for (const token of tokens) await parseAndValidateJwtSvid(token, bundle, audiences);
    await parseAndValidateJwtSvid(tokens[0] as string, bundle, audiences);
    await parseAndValidateJwtSvid(tokens[1099] as string, bundle, audiences);
    await assertRejects(
      parseAndValidateJwtSvid(flipSignatureBit(tokens[0] as string), bundle, audiences),
      'ERR_JWTSVID_SIGNATURE',
      /does not verify/,
    );
  });
});

describe('parseAndValidateJwtSvid: time', () => {
  it('rejects a token at its exp instant and accepts it one millisecond before', async () => {
    const exp = nowSeconds() + 100;
    const token = mint({ claims: { exp, iat: exp - 200 } });
    await assertRejects(
      parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(exp * 1000) }),
      'ERR_JWTSVID_EXPIRED',
      /token has expired/,
    );
    const svid = await parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(exp * 1000 - 1) });
    assert.equal(svid.expiry.getTime(), exp * 1000);
  });

  it('accepts a token at its nbf instant and rejects it one millisecond before', async () => {
    const nbf = nowSeconds() + 100;
    const token = mint({ claims: { nbf, iat: undefined, exp: nbf + 100 } });
    await parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(nbf * 1000) });
    await assertRejects(
      parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(nbf * 1000 - 1) }),
      'ERR_JWTSVID_NOT_YET_VALID',
      /not valid yet/,
    );
  });

  it('allows the clock skew it is given, and no more', async () => {
    const expired = mint({ claims: { exp: nowSeconds() - 20, iat: nowSeconds() - 100 } });
    await assertRejects(parseAndValidateJwtSvid(expired, bundles, audiences), 'ERR_JWTSVID_EXPIRED', /token has expired/);
    await assertRejects(
      parseAndValidateJwtSvid(expired, bundles, audiences, { clockSkewSeconds: 10 }),
      'ERR_JWTSVID_EXPIRED',
      /token has expired/,
    );
    await parseAndValidateJwtSvid(expired, bundles, audiences, { clockSkewSeconds: 60 });
    const early = mint({ claims: { nbf: nowSeconds() + 20, iat: nowSeconds() + 20 } });
    await assertRejects(
      parseAndValidateJwtSvid(early, bundles, audiences, { clockSkewSeconds: 10 }),
      'ERR_JWTSVID_NOT_YET_VALID',
      /not valid yet/,
    );
    await parseAndValidateJwtSvid(early, bundles, audiences, { clockSkewSeconds: 60 });
  });

  it('reports a far-future exp without failing to format it', async () => {
    const token = mint({ claims: { exp: 1e300 } });
    const svid = await parseAndValidateJwtSvid(token, bundles, audiences);
    assert.ok(Number.isNaN(svid.expiry.getTime()));
    await assertRejects(
      parseAndValidateJwtSvid(mint({ claims: { exp: -1e300 } }), bundles, audiences),
      'ERR_JWTSVID_EXPIRED',
      /exp -1e\+300 s since the epoch/,
    );
  });
});

describe('parseAndValidateJwtSvid: misuse', () => {
  const token = mint();
  const misuse: [string, () => Promise<unknown>][] = [
    ['an empty audience list', () => parseAndValidateJwtSvid(token, bundles, [])],
    ['audiences as a string', () => parseAndValidateJwtSvid(token, bundles, SERVER as never)],
    ['an empty audience', () => parseAndValidateJwtSvid(token, bundles, [''])],
    ['a non-string token', () => parseAndValidateJwtSvid(Buffer.from(token) as never, bundles, audiences)],
    ['no bundle source', () => parseAndValidateJwtSvid(token, undefined as never, audiences)],
    ['a source without getJwtBundleForTrustDomain', () => parseAndValidateJwtSvid(token, {} as never, audiences)],
    ['an invalid Date', () => parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(NaN) })],
    ['a time that is not a Date', () => parseAndValidateJwtSvid(token, bundles, audiences, { time: Date.now() as never })],
    ['a negative clock skew', () => parseAndValidateJwtSvid(token, bundles, audiences, { clockSkewSeconds: -1 })],
    ['options that are not an object', () => parseAndValidateJwtSvid(token, bundles, audiences, 5 as never)],
    [
      'a source returning something that is not a JwtBundle',
      () => parseAndValidateJwtSvid(token, { getJwtBundleForTrustDomain: () => ({ trustDomain: tdA }) } as never, audiences),
    ],
  ];
  for (const [name, call] of misuse) {
    it(`rejects ${name} with TypeError`, async () => {
      await assert.rejects(call(), TypeError);
    });
  }
  it('accepts the same call with proper arguments', async () => {
    await parseAndValidateJwtSvid(token, bundles, audiences, { time: new Date(), clockSkewSeconds: 0 });
  });
  it('names the empty audience list as the problem', async () => {
    await assert.rejects(parseAndValidateJwtSvid(token, bundles, []), /list of expected audiences is empty/);
  });
});

describe('parseAndValidateJwtSvid: bundle sources', () => {
  it('rejects a source that answers with the bundle of another trust domain', async () => {
    const liar: JwtBundleSource = { getJwtBundleForTrustDomain: () => bundleB };
    await assertRejects(
      parseAndValidateJwtSvid(mint({ kid: 'b-key' }), liar, audiences),
      'ERR_BUNDLE_NOT_FOUND',
      'jwtsvid: the bundle source returned the bundle of trust domain "other.org" when asked for "example.org"',
    );
    const honest: JwtBundleSource = { getJwtBundleForTrustDomain: (td) => bundles.getJwtBundleForTrustDomain(td) };
    await parseAndValidateJwtSvid(mint(), honest, audiences);
  });

  it('passes on source errors other than a missing bundle', async () => {
    const closed = new BundleError('ERR_BUNDLE_INVALID', 'jwtbundle: broken');
    const failing: JwtBundleSource = {
      getJwtBundleForTrustDomain: () => {
        throw closed;
      },
    };
    await assert.rejects(parseAndValidateJwtSvid(mint(), failing, audiences), (err) => err === closed);
  });

  it('keeps the BundleError of the source as the cause of a missing bundle', async () => {
    await assert.rejects(
      parseAndValidateJwtSvid(mint({ claims: { sub: 'spiffe://nowhere.org/x' } }), bundles, audiences),
      (err: unknown) => {
        assert.ok(err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND');
        assert.ok(err.cause instanceof BundleError);
        return true;
      },
    );
  });
});

describe('parseInsecureJwtSvid', () => {
  it('accepts a badly signed token, an unknown kid and an unknown trust domain', () => {
    for (const token of [
      flipSignatureBit(mint()),
      mint({ kid: 'nope' }),
      mint({ claims: { sub: 'spiffe://nowhere.org/x' } }),
      mint({ alg: 'ES384', kid: 'ec256' }),
    ]) {
      const svid = parseInsecureJwtSvid(token, audiences);
      assert.equal(svid.token, token);
      assert.deepEqual(svid.audience, [SERVER]);
    }
  });

  it('records the hint it is given', () => {
    assert.equal(parseInsecureJwtSvid(mint(), audiences, { hint: 'internal' }).hint, 'internal');
    assert.equal(parseInsecureJwtSvid(mint(), audiences).hint, '');
  });

  const shapeCases = invalidCases.filter(
    (c) => !c.keyFit && !['ERR_JWTSVID_SIGNATURE', 'ERR_JWTSVID_KEY_NOT_FOUND', 'ERR_BUNDLE_NOT_FOUND'].includes(c.code),
  );
  for (const c of shapeCases) {
    it(`still rejects ${c.name}`, async () => {
      await assertRejects(() => parseInsecureJwtSvid(c.bad(), audiences), c.code, c.message);
      assert.ok(parseInsecureJwtSvid(c.good(), audiences) instanceof JwtSvid);
    });
  }

  it('rejects misuse with TypeError', () => {
    assert.throws(() => parseInsecureJwtSvid(mint(), []), TypeError);
    assert.throws(() => parseInsecureJwtSvid(mint(), audiences, { hint: 3 as never }), TypeError);
    assert.throws(() => parseInsecureJwtSvid(42 as never, audiences), TypeError);
  });
});
