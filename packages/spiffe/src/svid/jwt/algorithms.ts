/**
 * The JWS algorithms a JWT-SVID may use, and which public keys fit each of them.
 *
 * Used by `JwtBundle` (to precompute, once per key, the algorithms the key may verify and the
 * ready-made `crypto.verify` key arguments) and by the JWT-SVID validator. Not part of the public
 * API.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { constants, type KeyObject, type VerifyKeyObjectInput, type VerifyPublicKeyInput } from 'node:crypto';

/** The JWS `alg` values a JWT-SVID may carry (JWT-SVID specification §3). */
export type JwtSvidAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'PS384' | 'PS512';

/** The allowed algorithms, in a stable order (used in error messages). */
export const JWT_SVID_ALGORITHMS: readonly JwtSvidAlgorithm[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
]);

/** The smallest RSA modulus, in bits, that may verify a JWT-SVID. */
const MIN_RSA_MODULUS_BITS = 2048;

interface AlgorithmSpec {
  /** The digest name for `crypto.verify`. */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly family: 'RS' | 'PS' | 'ES';
  /** For ES*: the OpenSSL curve name node reports in `asymmetricKeyDetails.namedCurve`. */
  readonly curve?: string;
  /** For ES*: the exact length of an IEEE P1363 (r || s) signature. */
  readonly signatureLength?: number;
  /** For PS*: the salt length (the digest length). */
  readonly saltLength?: number;
}

const SPECS: Readonly<Record<JwtSvidAlgorithm, AlgorithmSpec>> = Object.freeze({
  RS256: { hash: 'sha256', family: 'RS' },
  RS384: { hash: 'sha384', family: 'RS' },
  RS512: { hash: 'sha512', family: 'RS' },
  PS256: { hash: 'sha256', family: 'PS', saltLength: 32 },
  PS384: { hash: 'sha384', family: 'PS', saltLength: 48 },
  PS512: { hash: 'sha512', family: 'PS', saltLength: 64 },
  ES256: { hash: 'sha256', family: 'ES', curve: 'prime256v1', signatureLength: 64 },
  ES384: { hash: 'sha384', family: 'ES', curve: 'secp384r1', signatureLength: 96 },
  ES512: { hash: 'sha512', family: 'ES', curve: 'secp521r1', signatureLength: 132 },
} satisfies Record<JwtSvidAlgorithm, AlgorithmSpec>);

/** Whether `alg` is one of the algorithms a JWT-SVID may use. */
export function isJwtSvidAlgorithm(alg: unknown): alg is JwtSvidAlgorithm {
  return typeof alg === 'string' && Object.prototype.hasOwnProperty.call(SPECS, alg);
}

/** The digest name of an allowed algorithm. */
export function hashOf(alg: JwtSvidAlgorithm): AlgorithmSpec['hash'] {
  return SPECS[alg].hash;
}

/** The exact signature length an ES* algorithm requires, or `undefined` for RS and PS. */
export function signatureLengthOf(alg: JwtSvidAlgorithm): number | undefined {
  return SPECS[alg].signatureLength;
}

/** The argument `crypto.verify` takes as its key. */
export type VerifyKey = VerifyKeyObjectInput | VerifyPublicKeyInput | KeyObject;

/**
 * One trusted key, with everything validation needs precomputed: the algorithms it may verify
 * and, for each, the key argument to hand to `crypto.verify`.
 */
export interface JwtAuthorityEntry {
  readonly kid: string;
  readonly key: KeyObject;
  /** The JWK `alg` the key was published with, if any (it then verifies that algorithm only). */
  readonly jwkAlg: string | undefined;
  /** A short description of the key for error messages, e.g. `EC P-256` or `RSA 2048-bit`. */
  readonly description: string;
  /** The allowed algorithms this key may verify, each with its `crypto.verify` key argument. */
  readonly verifiers: ReadonlyMap<JwtSvidAlgorithm, VerifyKey>;
}

const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp256k1: 'secp256k1',
};

/** Describes a public key for messages: `EC P-256`, `RSA 2048-bit`, `Ed25519`. */
function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `EC ${CURVE_NAMES[curve] ?? curve}`;
    }
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}-bit`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}-bit`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return String(type ?? 'unknown');
  }
}

/** Whether the public key `key` fits `alg` by type, curve and size (ignoring any JWK `alg`). */
function keyFits(key: KeyObject, alg: JwtSvidAlgorithm): boolean {
  const spec = SPECS[alg];
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (spec.family) {
    case 'ES':
      return type === 'ec' && details.namedCurve === spec.curve;
    case 'RS':
      return type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS;
    case 'PS':
      return (type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS;
  }
}

function verifyKeyFor(key: KeyObject, alg: JwtSvidAlgorithm): VerifyKey {
  const spec = SPECS[alg];
  switch (spec.family) {
    case 'ES':
      return { key, dsaEncoding: 'ieee-p1363' };
    case 'PS':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength as number };
    case 'RS':
      return { key, padding: constants.RSA_PKCS1_PADDING };
  }
}

/**
 * Builds the entry of a trusted key: the algorithms it fits (restricted to `jwkAlg` when the key
 * was published with one) and their `crypto.verify` arguments. Keys that fit no allowed algorithm
 * (Ed25519, small RSA, other curves) get an entry with no verifiers: held, never verifying.
 */
export function makeAuthorityEntry(kid: string, key: KeyObject, jwkAlg: string | undefined): JwtAuthorityEntry {
  const verifiers = new Map<JwtSvidAlgorithm, VerifyKey>();
  for (const alg of JWT_SVID_ALGORITHMS) {
    if (jwkAlg !== undefined && jwkAlg !== alg) continue;
    if (keyFits(key, alg)) verifiers.set(alg, verifyKeyFor(key, alg));
  }
  return Object.freeze({ kid, key, jwkAlg, description: describeKey(key), verifiers });
}
