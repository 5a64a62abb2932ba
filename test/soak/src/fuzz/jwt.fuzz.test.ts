/**
 * Property-based tests of the JWT-SVID parsers against an oracle. Tokens are really signed (EC
 * P-256/P-384, RSA PKCS#1 v1.5 and PSS) over headers and claims that vary every rule: `alg`
 * (allowed, mismatched, `none`, HS256, EdDSA), `kid` (right, unknown, absent, not a string),
 * `typ`, `crit`, `sub` (own trust domain, another one, not an ID), `aud`, `exp`, `nbf`, `iat`,
 * and a signature that is intact, corrupted or cut. `parseAndValidateJwtSvid` must accept exactly
 * the tokens the oracle accepts; any other outcome is a JwtSvidError (or BundleError for a trust
 * domain it has no bundle for). Noise and edited tokens are refused, never crash.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { BundleError, JwtBundle, JwtSvidError, TrustDomain } from '@spiffe-node/spiffe';
import { parseAndValidateJwtSvid, parseInsecureJwtSvid } from '@spiffe-node/spiffe/svid/jwt';
import { assertAsyncProperty, assertProperty, fixtureEntropy, mutatedString, params, typedOutcome, typedOutcomeAsync } from './config.js';

const TD = TrustDomain.fromString('example.org');
const AUDIENCE = 'spiffe://example.org/api';

interface SigningKey {
  name: string;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The algorithms this key can sign with. */
  algs: string[];
  inBundle: boolean;
}

function key(
  name: string,
  kid: string,
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  algs: string[],
  inBundle = true,
): SigningKey {
  return { name, kid, ...pair, algs, inBundle };
}

// Keys are derived from the seed (see fixtureEntropy), and ECDSA signatures are deterministic:
// a replayed seed signs the same tokens (but for the time claims and the random PSS salt).
const entropy = fixtureEntropy('jwt');
const KEYS: SigningKey[] = [
  key('ec256', 'k-ec256', entropy.keyPair('ec-p256'), ['ES256']),
  key('ec384', 'k-ec384', entropy.keyPair('ec-p384'), ['ES384']),
  key('rsa', 'k-rsa', entropy.keyPair('rsa-2048'), ['RS256', 'RS384', 'PS256', 'PS512']),
  key('foreign', 'k-foreign', entropy.keyPair('ec-p256'), ['ES256'], false),
];
/** A key no one knows, for an algorithm no other key makes. */
const stranger = entropy.keyPair('rsa-2048');
const bundle = JwtBundle.fromJwtAuthorities(TD, new Map(KEYS.filter((k) => k.inBundle).map((k) => [k.kid, k.publicKey])));

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

function signWith(alg: string, k: SigningKey, input: string): Buffer {
  const data = Buffer.from(input);
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('ES')) return entropy.sign(hash, data, k.privateKey, 'ieee-p1363');
  if (alg.startsWith('PS'))
    return sign(hash, data, { key: k.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  return sign(hash, data, k.privateKey);
}

const now = (): number => Math.floor(Date.now() / 1000);

interface TokenSpec {
  signer: SigningKey;
  algChoice: 'own' | 'other-allowed' | 'none' | 'HS256' | 'EdDSA' | 'missing' | 'number';
  kidChoice: 'own' | 'other-in-bundle' | 'unknown' | 'missing' | 'number' | 'empty';
  typ: string | number | undefined;
  crit: unknown;
  sub: string | number | undefined;
  aud: unknown;
  exp: 'future' | 'past' | 'missing' | 'string';
  nbf: 'absent' | 'past' | 'future' | 'string';
  iat: 'absent' | 'past' | 'future';
  signature: 'intact' | 'corrupt' | 'cut' | 'empty' | 'other-key';
}

/** A valid value most of the time (so that some tokens pass every rule), else one that breaks it. */
function mostly<T>(valid: fc.Arbitrary<T>, ...invalid: NoInfer<T>[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom(...invalid) });
}

const tokenSpec: fc.Arbitrary<TokenSpec> = fc.record({
  signer: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...KEYS.filter((k) => k.inBundle)) },
    { weight: 1, arbitrary: fc.constant(KEYS[3]!) },
  ),
  algChoice: mostly<TokenSpec['algChoice']>(fc.constant('own'), 'other-allowed', 'none', 'HS256', 'EdDSA', 'missing', 'number'),
  kidChoice: mostly<TokenSpec['kidChoice']>(fc.constantFrom('own', 'missing'), 'other-in-bundle', 'unknown', 'number', 'empty'),
  typ: mostly(fc.constantFrom<string | number | undefined>(undefined, 'JWT', 'JOSE'), 'at+jwt', 'jwt', 5),
  crit: mostly(fc.constant<unknown>(undefined), ['exp'], [], 'b64'),
  sub: mostly(
    fc.constantFrom<string | number | undefined>('spiffe://example.org/web', 'SPIFFE://Example.ORG/web'),
    'spiffe://other.org/web',
    'spiffe://example.org/a//b',
    'web',
    undefined,
    7,
  ),
  aud: mostly(fc.constantFrom<unknown>(AUDIENCE, [AUDIENCE, 'x'], ['x', AUDIENCE]), ['x'], 'x', [], undefined, [7], [AUDIENCE, 7]),
  exp: mostly<TokenSpec['exp']>(fc.constant('future'), 'past', 'missing', 'string'),
  nbf: mostly<TokenSpec['nbf']>(fc.constantFrom('absent', 'past'), 'future', 'string'),
  iat: mostly<TokenSpec['iat']>(fc.constantFrom('absent', 'past'), 'future'),
  signature: mostly<TokenSpec['signature']>(fc.constant('intact'), 'corrupt', 'cut', 'empty', 'other-key'),
});

function build(spec: TokenSpec): { token: string; valid: boolean; why: string } {
  const own = spec.signer.algs[0] as string;
  const otherAllowed = spec.signer.name === 'rsa' ? 'ES256' : 'RS256';
  const alg: unknown = {
    own,
    'other-allowed': otherAllowed,
    none: 'none',
    HS256: 'HS256',
    EdDSA: 'EdDSA',
    missing: undefined,
    number: 256,
  }[spec.algChoice];
  const otherInBundle = KEYS.find((k) => k.inBundle && k !== spec.signer)!.kid;
  const kid: unknown = {
    own: spec.signer.kid,
    'other-in-bundle': otherInBundle,
    unknown: 'k-nobody',
    missing: undefined,
    number: 3,
    empty: '',
  }[spec.kidChoice];
  const header: Record<string, unknown> = {};
  if (alg !== undefined) header['alg'] = alg;
  if (kid !== undefined) header['kid'] = kid;
  if (spec.typ !== undefined) header['typ'] = spec.typ;
  if (spec.crit !== undefined) header['crit'] = spec.crit;
  const t = now();
  const claims: Record<string, unknown> = {};
  if (spec.sub !== undefined) claims['sub'] = spec.sub;
  if (spec.aud !== undefined) claims['aud'] = spec.aud;
  if (spec.exp !== 'missing') claims['exp'] = spec.exp === 'future' ? t + 300 : spec.exp === 'past' ? t - 60 : 'soon';
  if (spec.nbf !== 'absent') claims['nbf'] = spec.nbf === 'past' ? t - 60 : spec.nbf === 'future' ? t + 120 : 'now';
  if (spec.iat !== 'absent') claims['iat'] = spec.iat === 'past' ? t - 60 : t + 120;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // The signature: with the signer's key for the algorithm named when the key can do it; for
  // 'other-key', with another key able to make that algorithm (in the bundle or not).
  const signAlg = typeof alg === 'string' && spec.signer.algs.includes(alg) ? alg : own;
  const effective =
    spec.signature === 'other-key'
      ? (KEYS.find((k) => k !== spec.signer && k.algs.includes(signAlg)) ?? key('stranger', 'k-stranger', stranger, [signAlg], false))
      : spec.signer;
  let signature = signWith(signAlg, effective, input);
  if (spec.signature === 'corrupt') {
    signature = Buffer.from(signature);
    signature[5] = (signature[5] as number) ^ 0x40;
  }
  if (spec.signature === 'cut') signature = signature.subarray(0, signature.length - 3);
  if (spec.signature === 'empty') signature = Buffer.alloc(0);
  const token = `${input}.${b64url(signature)}`;

  // The oracle: every rule, independently of the library.
  const reasons: string[] = [];
  const allowed = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];
  if (typeof alg !== 'string' || !allowed.includes(alg)) reasons.push('alg not allowed');
  else if (alg !== signAlg) reasons.push('alg is not the one the signature was made with');
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) reasons.push('bad kid');
  else if (kid !== undefined && kid !== effective.kid) reasons.push('kid names another key');
  if (!effective.inBundle) reasons.push('key not in the bundle');
  if (spec.typ !== undefined && spec.typ !== 'JWT' && spec.typ !== 'JOSE') reasons.push('typ');
  if (spec.crit !== undefined) reasons.push('crit');
  // The scheme and trust domain are case-insensitive; other.org has no bundle here.
  if (spec.sub !== 'spiffe://example.org/web' && spec.sub !== 'SPIFFE://Example.ORG/web') reasons.push('sub');
  const aud = spec.aud;
  const audOk =
    aud === AUDIENCE || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(AUDIENCE));
  if (!audOk) reasons.push('aud');
  if (spec.exp !== 'future') reasons.push('exp');
  if (spec.nbf === 'future' || spec.nbf === 'string') reasons.push('nbf');
  if (spec.iat === 'future') reasons.push('iat');
  if (spec.signature !== 'intact' && spec.signature !== 'other-key') reasons.push('signature');
  return { token, valid: reasons.length === 0, why: reasons.join(', ') || 'valid' };
}

function assertSvidFits(
  svid: { id: { toString(): string }; audience: readonly string[]; expiry: Date; claims: Record<string, unknown>; token: string },
  token: string,
): void {
  assert.equal(svid.token, token, 'the token is kept as given');
  assert.ok(svid.audience.includes(AUDIENCE), 'the audience includes the one asked for');
  assert.ok(svid.expiry.getTime() > Date.now(), 'not expired');
  assert.equal(svid.id.toString().toLowerCase(), String(svid.claims['sub']).toLowerCase(), 'the ID is the sub claim');
}

describe('fuzz: JWT-SVIDs', () => {
  it('parseAndValidateJwtSvid accepts exactly the tokens that follow every rule', async () => {
    let accepted = 0;
    await assertAsyncProperty(
      fc.asyncProperty(tokenSpec, async (spec) => {
        const { token, valid, why } = build(spec);
        const outcome = await typedOutcomeAsync(() => parseAndValidateJwtSvid(token, bundle, [AUDIENCE]), 'parseAndValidateJwtSvid');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof JwtSvidError || outcome.error instanceof BundleError, String(outcome.error));
          assert.equal(
            valid,
            false,
            `refused a valid token (${(outcome.error as Error).message})\nheader+claims: ${token
              .split('.')
              .slice(0, 2)
              .map((p) => Buffer.from(p, 'base64url').toString())
              .join(' ')}`,
          );
          return;
        }
        accepted++;
        assert.equal(
          valid,
          true,
          `accepted a token that breaks: ${why}\nheader+claims: ${token
            .split('.')
            .slice(0, 2)
            .map((p) => Buffer.from(p, 'base64url').toString())
            .join(' ')}`,
        );
        assertSvidFits(outcome.value, token);
      }),
      params(500),
    );
    assert.ok(accepted > 0, 'some valid tokens were generated and accepted');
  });

  it('an edited valid token is refused', async () => {
    const good = build({
      signer: KEYS[0]!,
      algChoice: 'own',
      kidChoice: 'own',
      typ: 'JWT',
      crit: undefined,
      sub: 'spiffe://example.org/web',
      aud: [AUDIENCE],
      exp: 'future',
      nbf: 'absent',
      iat: 'past',
      signature: 'intact',
    });
    assert.ok(good.valid);
    await parseAndValidateJwtSvid(good.token, bundle, [AUDIENCE]);
    const base64urlChars = fc.constantFrom(...'AZaz09-_'.split(''), '.', '=', '+', '/', ' ');
    await assertAsyncProperty(
      fc.asyncProperty(mutatedString(good.token, base64urlChars), async (token) => {
        fc.pre(token !== good.token);
        const outcome = await typedOutcomeAsync(
          () => parseAndValidateJwtSvid(token, bundle, [AUDIENCE]),
          'parseAndValidateJwtSvid(edited)',
        );
        assert.equal(outcome.ok, false, `accepted an edited token: ${token}`);
      }),
      params(300),
    );
  });

  it('parseInsecureJwtSvid: JwtSvidError, or an SVID whose claims fit the rules it checks', () => {
    const noise = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.tuple(fc.json(), fc.json(), fc.string({ maxLength: 20 })).map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${b64url(s)}`),
      fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}.${b}`),
      fc.constantFrom('', '.', '..', '...', '{"alg":"ES256"}', ' {"payload":"x"}', 'a.b.c', 'eyJ.eyJ.x'),
      tokenSpec.map((s) => build(s).token),
    );
    assertProperty(
      fc.property(noise, (token) => {
        const outcome = typedOutcome(() => parseInsecureJwtSvid(token, [AUDIENCE]), 'parseInsecureJwtSvid');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof JwtSvidError, String(outcome.error));
          return;
        }
        assertSvidFits(outcome.value, token);
      }),
      params(400),
    );
  });
});
