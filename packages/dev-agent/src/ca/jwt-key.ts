/**
 * JWT signing keys (ES256, P-256) and how they are published: JWK Set entries with `kid` and
 * `use: "jwt-svid"`.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/** A JWT signing key. */
export interface JwtKey {
  /** The key ID (`kid`), 32 characters. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

/** How a {@link JwtKey} is stored in the data directory. */
export interface StoredJwtKey {
  kid: string;
  keyPem: string;
  issuedAt: string;
  notAfter: string;
}

/**
 * Mints an ES256 key valid for `ttlSeconds`.
 *
 * @example
 * ```ts
 * const key = mintJwtKey(86400);
 * key.id.length; // 32
 * ```
 */
export function mintJwtKey(ttlSeconds: number, now = Date.now()): JwtKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    id: randomBytes(24).toString('base64url'),
    privateKey,
    publicKey,
    issuedAt: new Date(now),
    notAfter: new Date(now + ttlSeconds * 1000),
  };
}

/** Converts a key into its stored form. */
export function storeJwtKey(key: JwtKey): StoredJwtKey {
  return {
    kid: key.id,
    keyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    issuedAt: key.issuedAt.toISOString(),
    notAfter: key.notAfter.toISOString(),
  };
}

/** Loads a key from its stored form. */
export function loadJwtKey(stored: StoredJwtKey): JwtKey {
  const privateKey = createPrivateKey(stored.keyPem);
  return {
    id: stored.kid,
    privateKey,
    publicKey: createPublicKey(privateKey),
    issuedAt: new Date(stored.issuedAt),
    notAfter: new Date(stored.notAfter),
  };
}

/** The public JWK of a key as published in bundles: `kty`, `crv`, `x`, `y`, `kid`, `use`. */
export function publicJwk(key: JwtKey): Record<string, string> {
  const jwk = key.publicKey.export({ format: 'jwk' });
  return { kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x), y: String(jwk.y), kid: key.id, use: 'jwt-svid' };
}
