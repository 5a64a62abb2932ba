/**
 * Where the test CA's randomness comes from: keys, serial numbers, signatures and default
 * validity. {@link randomEntropy} (the default) draws fresh material; {@link seededEntropy}
 * derives all of it from a seed, so that a run with the same seed mints byte-identical
 * certificates and keys (the fuzz runs need this: a printed seed must replay the whole run,
 * fixtures included).
 *
 * Seeded material: EC (P-256, P-384) and Ed25519 private keys are derived from the seed; ECDSA
 * signatures use a nonce derived from the key and the message (deterministic, in the spirit of
 * RFC 6979; OpenSSL 3.0 has no deterministic ECDSA), computed here and checked natively; RSA
 * PKCS#1 v1.5 and Ed25519 signatures are deterministic anyway; RSA keys, which cannot be derived
 * cheaply, are taken from fixed test keys, chosen by the seed. Test-only: never use for real keys.
 *
 * @example
 * ```ts
 * const entropy = seededEntropy(20260125);
 * const ca = TestCa.create({ trustDomain: 'example.org', entropy }); // same bytes every run
 * const { privateKey } = entropy.keyPair('ec-p256');
 * ```
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { RSA_TEST_KEYS } from './rsa-test-keys.js';

/** The key types the test CA can mint (`ed25519` only through an entropy, for other tests). */
export type KeyAlgorithm = 'ec-p256' | 'ec-p384' | 'rsa-2048';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A source of everything random in minted test material. */
export interface TestEntropy {
  /** A new key pair. */
  keyPair(alg: KeyAlgorithm | 'ed25519'): KeyPair;
  /** 16 bytes for a serial number. */
  serial(): Buffer;
  /** As `crypto.sign(digest, data, key)`; ECDSA signatures DER-encoded unless `ieee-p1363` (JWS). */
  sign(digest: string | null, data: Uint8Array, key: KeyObject, dsaEncoding?: 'der' | 'ieee-p1363'): Buffer;
  /** The validity of certificates whose options give none; undefined: relative to now, by role. */
  readonly validity: { notBefore: Date; notAfter: Date } | undefined;
}

/** Fresh randomness (the default). */
export const randomEntropy: TestEntropy = {
  keyPair(alg) {
    switch (alg) {
      case 'ec-p256':
        return generateKeyPairSync('ec', { namedCurve: 'P-256' });
      case 'ec-p384':
        return generateKeyPairSync('ec', { namedCurve: 'P-384' });
      case 'rsa-2048':
        return generateKeyPairSync('rsa', { modulusLength: 2048 });
      case 'ed25519':
        return generateKeyPairSync('ed25519');
    }
  },
  serial: () => randomBytes(16),
  sign: (digest, data, key, dsaEncoding = 'der') => sign(digest, data, { key, dsaEncoding }),
  validity: undefined,
};

// ---------------------------------------------------------------- elliptic curve arithmetic

interface Curve {
  name: 'P-256' | 'P-384';
  p: bigint;
  n: bigint;
  g: Point;
  bytes: number;
}
type Point = { x: bigint; y: bigint } | null;

const CURVES: Record<'ec-p256' | 'ec-p384', Curve> = {
  'ec-p256': {
    name: 'P-256',
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    g: {
      x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
      y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    },
    bytes: 32,
  },
  'ec-p384': {
    name: 'P-384',
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    g: {
      x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
      y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    },
    bytes: 48,
  },
};

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

/** The inverse of `a` modulo the prime `m` (extended Euclid). */
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** Point addition on y² = x³ − 3x + b (both NIST curves have a = −3). */
function add(c: Curve, P: Point, Q: Point): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, c.p) === 0n) return null;
    l = mod((3n * P.x * P.x - 3n) * inverse(2n * P.y, c.p), c.p);
  } else {
    l = mod((Q.y - P.y) * inverse(Q.x - P.x, c.p), c.p);
  }
  const x = mod(l * l - P.x - Q.x, c.p);
  return { x, y: mod(l * (P.x - x) - P.y, c.p) };
}

function multiply(c: Curve, k: bigint, P: Point): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(c, result, addend);
    addend = add(c, addend, addend);
  }
  return result;
}

const toInt = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));
const toBytes = (v: bigint, len: number): Buffer => Buffer.from(v.toString(16).padStart(len * 2, '0'), 'hex');

/** A DER INTEGER of a non-negative value. */
function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if ((body[0] as number) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

function encodeSignature(r: bigint, s: bigint, bytes: number, dsaEncoding: 'der' | 'ieee-p1363'): Buffer {
  if (dsaEncoding === 'ieee-p1363') return Buffer.concat([toBytes(r, bytes), toBytes(s, bytes)]);
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from(body.length < 0x80 ? [0x30, body.length] : [0x30, 0x81, body.length]), body]);
}

function curveOf(key: KeyObject): 'ec-p256' | 'ec-p384' | undefined {
  const named = key.asymmetricKeyDetails?.namedCurve;
  return named === 'prime256v1' ? 'ec-p256' : named === 'secp384r1' ? 'ec-p384' : undefined;
}

/** ECDSA with a nonce derived from the private key and the digest (DER output). */
function deterministicEcdsa(
  alg: 'ec-p256' | 'ec-p384',
  digest: string,
  data: Uint8Array,
  key: KeyObject,
  dsaEncoding: 'der' | 'ieee-p1363',
): Buffer {
  const c = CURVES[alg];
  const d = toInt(Buffer.from(key.export({ format: 'jwk' }).d as string, 'base64url'));
  const h = createHash(digest).update(data).digest();
  const nBits = c.n.toString(2).length;
  let e = toInt(h);
  if (h.length * 8 > nBits) e >>= BigInt(h.length * 8 - nBits);
  for (let counter = 0; ; counter++) {
    const nonce = createHmac('sha512', toBytes(d, c.bytes)).update(h).update(String(counter)).digest();
    const k = mod(toInt(Buffer.concat([nonce, createHash('sha512').update(nonce).digest()])), c.n - 1n) + 1n;
    const R = multiply(c, k, c.g);
    const r = R === null ? 0n : mod(R.x, c.n);
    const s = mod(inverse(k, c.n) * (e + r * d), c.n);
    if (r !== 0n && s !== 0n) return encodeSignature(r, s, c.bytes, dsaEncoding);
  }
}

/**
 * Entropy derived from `seed`: the same seed mints the same keys, serials and signatures.
 * Certificates whose options give no validity are valid from 2025-01-01 to the end of 2049.
 */
export function seededEntropy(seed: number | string): TestEntropy {
  const secret = `spiffe-node test entropy ${seed}`;
  let counter = 0;
  const derive = (label: string): Buffer => createHmac('sha512', secret).update(`${label} ${counter++}`).digest();
  const rsaOffset = derive('rsa')[0] as number;
  let rsaNext = 0;
  return {
    keyPair(alg) {
      if (alg === 'rsa-2048') {
        const pem = RSA_TEST_KEYS[(rsaOffset + rsaNext++) % RSA_TEST_KEYS.length] as string;
        const privateKey = createPrivateKey(pem);
        return { privateKey, publicKey: createPublicKey(privateKey) };
      }
      if (alg === 'ed25519') {
        const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), derive('ed25519').subarray(0, 32)]);
        const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
        return { privateKey, publicKey: createPublicKey(privateKey) };
      }
      const c = CURVES[alg];
      const d = mod(toInt(Buffer.concat([derive('ec'), derive('ec')])), c.n - 1n) + 1n;
      const Q = multiply(c, d, c.g)!;
      const b64 = (v: bigint): string => toBytes(v, c.bytes).toString('base64url');
      const privateKey = createPrivateKey({ key: { kty: 'EC', crv: c.name, x: b64(Q.x), y: b64(Q.y), d: b64(d) }, format: 'jwk' });
      return { privateKey, publicKey: createPublicKey(privateKey) };
    },
    serial: () => derive('serial').subarray(0, 16),
    sign(digest, data, key, dsaEncoding = 'der') {
      const alg = key.asymmetricKeyType === 'ec' ? curveOf(key) : undefined;
      if (alg === undefined || digest === null) return sign(digest, data, key);
      const signature = deterministicEcdsa(alg, digest, data, key, dsaEncoding);
      if (!verify(digest, data, { key: createPublicKey(key), dsaEncoding }, signature)) {
        throw new Error('seededEntropy: the deterministic ECDSA signature does not verify (a bug in testing/entropy.ts)');
      }
      return signature;
    },
    validity: { notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2049-12-31T23:59:59Z') },
  };
}
