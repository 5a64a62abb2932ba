/**
 * Key types the agent can use for its X.509 CAs and the X509-SVIDs it mints.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import { DevAgentError } from '../errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcdsaParams = webcrypto.EcdsaParams;
type Algorithm = webcrypto.Algorithm;

/**
 * The key types, named as SPIRE names them (`ca_key_type`). `ec-p256` is the default.
 *
 * @example
 * ```ts
 * await startDevAgent({ keyType: 'rsa-2048' });
 * ```
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** All supported key types. */
const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048'];

interface KeyAlgorithms {
  generate: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;
  import: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  sign: EcdsaParams | Algorithm;
}

const ALGORITHMS: Record<KeyType, KeyAlgorithms> = {
  'ec-p256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    import: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
  'ec-p384': {
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    import: { name: 'ECDSA', namedCurve: 'P-384' },
    sign: { name: 'ECDSA', hash: 'SHA-384' },
  },
  'rsa-2048': {
    generate: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

/**
 * Checks a key type name.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG` for an unknown name.
 * @example
 * ```ts
 * parseKeyType('ec-p256'); // 'ec-p256'
 * ```
 */
export function parseKeyType(value: string): KeyType {
  if ((KEY_TYPES as readonly string[]).includes(value)) return value as KeyType;
  throw new DevAgentError('ERR_AGENT_CONFIG', `keyType: "${value}" is not one of ${KEY_TYPES.join(', ')}`);
}

/** The WebCrypto signature algorithm of a key type. */
export function signingAlgorithm(type: KeyType): EcdsaParams | Algorithm {
  return ALGORITHMS[type].sign;
}

/** Generates an extractable key pair of the given type. */
export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALGORITHMS[type].generate, true, ['sign', 'verify']);
}

/** Imports a PKCS#8 DER private key of the given type, for signing. */
export async function importPrivateKey(type: KeyType, pkcs8: Uint8Array): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', pkcs8, ALGORITHMS[type].import, true, ['sign']);
}

/** Exports a private key as PKCS#8 DER. */
export async function exportPrivateKey(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
}
