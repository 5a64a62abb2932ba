/**
 * Test-only helpers for JWT-SVID tests: key pairs of every kind, JWKs, and a hand-rolled
 * compact-JWS signer that can produce any header (so that every defect can be crafted).
 *
 * @internal
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export type KeyKind = 'P-256' | 'P-384' | 'P-521' | 'RSA' | 'RSA-1024' | 'Ed25519' | 'secp256k1';

export interface TestKeyPair {
  readonly kind: KeyKind;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const cache = new Map<KeyKind, TestKeyPair>();

/** A key pair of `kind`, generated once per process (`fresh` forces a new one). */
export function keyPair(kind: KeyKind, fresh = false): TestKeyPair {
  const cached = cache.get(kind);
  if (cached && !fresh) return cached;
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  switch (kind) {
    case 'P-256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'P-384':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      break;
    case 'P-521':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
      break;
    case 'secp256k1':
      pair = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
      break;
    case 'RSA':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'RSA-1024':
      pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
      break;
    case 'Ed25519':
      pair = generateKeyPairSync('ed25519');
      break;
  }
  const result = { kind, ...pair };
  if (!fresh) cache.set(kind, result);
  return result;
}

/** The public JWK of `key` with `kid` and any extra members. */
export function publicJwk(key: KeyObject, kid: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const jwk: Record<string, unknown> = { ...key.export({ format: 'jwk' }) };
  if (kid !== undefined) jwk['kid'] = kid;
  return { ...jwk, ...extra };
}

/** A JWK Set document of `keys`. */
export function jwks(...keys: Record<string, unknown>[]): string {
  return JSON.stringify({ keys });
}

export const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/**
 * Signs `signingInput` the way JWS algorithm `alg` says (RS*, PS*, ES* and EdDSA), with the
 * private key `key`. Any other `alg` (such as `none` or HS*) gives an empty signature; craft
 * those by hand.
 */
function signJws(alg: string, signingInput: string, key: KeyObject): Buffer {
  const data = Buffer.from(signingInput, 'latin1');
  const family = alg.slice(0, 2);
  const hash = HASHES[alg.slice(2)];
  if (alg === 'EdDSA') return sign(null, data, key);
  if (hash === undefined) return Buffer.alloc(0);
  switch (family) {
    case 'RS':
      return sign(hash, data, key);
    case 'PS':
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
    case 'ES':
      return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
    default:
      return Buffer.alloc(0);
  }
}

/** A compact JWS of `header` and `payload` (an object, or raw payload text) signed by `key`. */
export function compactJws(header: Record<string, unknown>, payload: Record<string, unknown> | string, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  return `${input}.${b64url(signJws(String(header['alg']), input, key))}`;
}

/** Seconds since the epoch, now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
