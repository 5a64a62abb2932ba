/**
 * JWT fixtures for the JV, JB, JF and ID cases, built with `node:crypto` only: signing keys of
 * every JWS algorithm the cases need, JWK Sets with chosen `use` and `kty`, and tokens with any
 * header or claims (including deliberately broken ones).
 *
 * @module
 */
import { constants, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** The audience the suite validates with (catalogue §6). */
export const AUDIENCE = 'conformance';

/** JWS algorithms the fixtures can sign with (HS* are built separately, from a secret). */
export type SigningAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

/**
 * A JWT signing key with its key ID, and the `use` its JWK carries (`null`: no `use`).
 *
 * @example
 * ```ts
 * const key = newJwtKey('ES256');
 * const token = signToken(key, {}, validClaims('spiffe://test.example.org/web'));
 * ```
 */
export interface JwtKey {
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  use: string | null;
}

let kidCounter = 0;

/**
 * A new key pair for `alg` (RSA 2048, P-256/P-384/P-521, Ed25519) with a fresh key ID.
 *
 * @example
 * ```ts
 * const rsa = newJwtKey('PS384');
 * ```
 */
export function newJwtKey(alg: SigningAlg, kid = `k${++kidCounter}-${randomBytes(4).toString('hex')}`): JwtKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (alg.startsWith('RS') || alg.startsWith('PS')) pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'ES256') pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (alg === 'ES384') pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  else if (alg === 'ES512') pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  else pair = generateKeyPairSync('ed25519');
  return { kid, alg, ...pair, use: 'jwt-svid' };
}

/**
 * The public JWK of `key`: its key ID, and `use` unless `key.use` is `null`.
 *
 * @example
 * ```ts
 * jwk(newJwtKey('ES256')); // { kty: 'EC', crv: 'P-256', x, y, kid, use: 'jwt-svid' }
 * ```
 */
function jwk(key: JwtKey): Record<string, unknown> {
  const out: Record<string, unknown> = { ...key.publicKey.export({ format: 'jwk' }), kid: key.kid };
  if (key.use !== null) out['use'] = key.use;
  return out;
}

/**
 * A JWK Set as JSON bytes: the keys' JWKs, with `extra` raw entries spliced in at `extraAt`
 * (default: at the end).
 *
 * @example
 * ```ts
 * agent.setJwtBundlesResponse({ bundles: { 'spiffe://test.example.org': jwks([k0, k1]) } });
 * ```
 */
export function jwks(keys: readonly JwtKey[], extra: readonly Record<string, unknown>[] = [], extraAt = keys.length): Buffer {
  const entries: Record<string, unknown>[] = keys.map(jwk);
  entries.splice(extraAt, 0, ...extra);
  return Buffer.from(JSON.stringify({ keys: entries }));
}

/**
 * base64url without padding.
 *
 * @example
 * ```ts
 * b64url('{}'); // 'e30'
 * ```
 */
export function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * base64url of the JSON of `value`.
 *
 * @example
 * ```ts
 * b64Json({ alg: 'none' }); // 'eyJhbGciOiJub25lIn0'
 * ```
 */
export function b64Json(value: unknown): string {
  return b64url(JSON.stringify(value));
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function signatureOf(alg: SigningAlg, key: KeyObject, input: Buffer): Buffer {
  if (alg === 'EdDSA') return sign(null, input, key);
  const hash = HASH[alg.slice(2)] as string;
  if (alg.startsWith('RS')) return sign(hash, input, key);
  if (alg.startsWith('PS')) {
    return sign(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  }
  return sign(hash, input, { key, dsaEncoding: 'ieee-p1363' });
}

/**
 * Signs `input` (the `header.payload` string) with `key` the way its algorithm says, and returns
 * the compact token.
 *
 * @example
 * ```ts
 * const token = signInput(key, `${b64Json(header)}.${b64Json(claims)}`);
 * ```
 */
export function signInput(key: JwtKey, input: string, alg: SigningAlg = key.alg): string {
  return `${input}.${b64url(signatureOf(alg, key.privateKey, Buffer.from(input)))}`;
}

/**
 * Signs `claims` with `key`. The header is `{ alg, kid, typ: 'JWT' }` with `header` merged over
 * it; a `null` value removes a member (e.g. `{ kid: null }`). The signature is always made with
 * the key's own algorithm, whatever `alg` the header then claims.
 *
 * @example
 * ```ts
 * signToken(key, { typ: 'JOSE' }, validClaims('spiffe://test.example.org/a'));
 * signToken(key, { kid: null }, claims); // no kid
 * ```
 */
export function signToken(key: JwtKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const merged: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'JWT' };
  for (const [name, value] of Object.entries(header)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return signInput(key, `${b64Json(merged)}.${b64Json(claims)}`);
}

/**
 * An HMAC-signed token (HS256/384/512) whose header names `kid`.
 *
 * @example
 * ```ts
 * hmacToken('HS256', randomBytes(32), defaultKey.kid, claims);
 * ```
 */
export function hmacToken(alg: 'HS256' | 'HS384' | 'HS512', secret: Uint8Array, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64Json({ alg, kid, typ: 'JWT' })}.${b64Json(claims)}`;
  const mac = createHmac(HASH[alg.slice(2)] as string, secret)
    .update(input)
    .digest();
  return `${input}.${b64url(mac)}`;
}

/**
 * The catalogue's default claims: `sub`, `aud: [audience]`, `iat` now and `exp` in 5 minutes.
 *
 * @example
 * ```ts
 * validClaims('spiffe://test.example.org/jv-1'); // { sub, aud: ['conformance'], iat, exp }
 * ```
 */
export function validClaims(sub: string, audience: string | string[] = [AUDIENCE]): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub, aud: audience, iat: now, exp: now + 300 };
}
