import { KeyObject, X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import { X509SvidError } from '../../errors.js';
import type { SpiffeId } from '../../spiffeid/index.js';
import { parseDerCertificates, parsePemCertificates } from '../../bundle/certificates.js';
import { PemError, decodePem, encodePem } from '../../bundle/pem.js';
import { checkLeaf, checkSigning, infoFromCert, invalid, leafSpiffeId } from './rules.js';
import type { X509SvidSource } from './source.js';

/** PEM block labels of unencrypted private keys, and the DER type node:crypto reads them as. */
const KEY_BLOCKS: Record<string, 'pkcs8' | 'sec1' | 'pkcs1'> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};

function parseKeyPem(keyPem: string | Uint8Array): KeyObject {
  if (typeof keyPem !== 'string' && !(keyPem instanceof Uint8Array)) {
    throw new TypeError(`X509Svid.parse: expected the private key PEM as a string or Uint8Array, got ${typeof keyPem}`);
  }
  let blocks;
  try {
    blocks = decodePem(keyPem);
  } catch (err) {
    if (err instanceof PemError) throw invalid(`cannot parse the private key PEM: ${err.message}`, err);
    throw err;
  }
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key: skip it.
  const keys = blocks.filter((b) => b.label !== 'EC PARAMETERS');
  if (keys.length !== 1) {
    throw invalid(`expected exactly one private key PEM block, found ${keys.length}`);
  }
  const block = keys[0]!;
  const type = KEY_BLOCKS[block.label];
  if (type === undefined) {
    throw invalid(
      block.label === 'ENCRYPTED PRIVATE KEY'
        ? 'the private key is encrypted; provide an unencrypted PKCS#8 key'
        : `the private key PEM block is a "${block.label}" block; expected "PRIVATE KEY" (PKCS#8)`,
    );
  }
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (err) {
    // The underlying message never contains key material, but keep ours generic anyway.
    throw invalid(`the "${block.label}" block cannot be parsed as a private key`, err);
  }
}

function parseKeyDer(keyDer: Uint8Array): KeyObject {
  if (!(keyDer instanceof Uint8Array)) {
    throw new TypeError('X509Svid.parseRaw: expected the private key as PKCS#8 DER in a Uint8Array');
  }
  try {
    return createPrivateKey({ key: Buffer.from(keyDer.buffer, keyDer.byteOffset, keyDer.byteLength), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw invalid('the private key cannot be parsed as unencrypted PKCS#8 DER', err);
  }
}

function certError(message: string, cause?: unknown): X509SvidError {
  return invalid(message, cause);
}

/**
 * An X509-SVID with its private key: the identity a workload presents in mutual TLS.
 *
 * Constructing one (through {@link X509Svid.parse}, {@link X509Svid.parseRaw} or
 * {@link X509Svid.fromCertificates}) checks the X509-SVID rules: exactly one URI SAN holding a
 * SPIFFE ID with a path; a leaf that is not a CA, has `digitalSignature` and neither
 * `keyCertSign` nor `cRLSign`; intermediates that are CAs with `keyCertSign`; and a private
 * key that matches the leaf. It does not check validity dates or the chain to a bundle (that
 * is the peer's job, with {@link parseAndVerifyX509Svid}).
 *
 * An X509Svid is also an {@link X509SvidSource} that always returns itself, so a static SVID
 * can stand wherever a source is expected.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { X509Svid } from '@spiffe-node/spiffe';
 * const svid = X509Svid.parse(readFileSync('svid.pem'), readFileSync('svid.key'));
 * svid.id.toString();     // 'spiffe://example.org/web'
 * svid.expiresAt;         // the leaf's notAfter
 * const { certificates, privateKey } = svid.marshal(); // PEM, for tls.createSecureContext
 * ```
 */
export class X509Svid implements X509SvidSource {
  /** The SPIFFE ID of the leaf certificate. */
  readonly id: SpiffeId;
  /** The certificate chain, leaf first. */
  readonly certificates: readonly X509Certificate[];
  /** The private key of the leaf certificate. */
  readonly privateKey: KeyObject;
  /** The Workload API's hint for this SVID ('' when none). */
  readonly hint: string;
  /** When the leaf certificate expires (its notAfter). */
  readonly expiresAt: Date;

  private constructor(id: SpiffeId, certificates: X509Certificate[], privateKey: KeyObject, hint: string, expiresAt: Date) {
    this.id = id;
    this.certificates = Object.freeze(certificates);
    this.privateKey = privateKey;
    this.hint = hint;
    this.expiresAt = expiresAt;
  }

  /**
   * Builds an SVID from certificate objects (leaf first) and the leaf's private key, checking
   * the X509-SVID rules.
   *
   * @throws {@link X509SvidError} `ERR_X509SVID_INVALID` for a rule the certificates break,
   *   `ERR_X509SVID_KEY_MISMATCH` when the key is not the leaf's.
   * @example
   * ```ts
   * const svid = X509Svid.fromCertificates([new X509Certificate(leafPem)], createPrivateKey(keyPem));
   * ```
   */
  static fromCertificates(certificates: readonly X509Certificate[], privateKey: KeyObject, hint = ''): X509Svid {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- as `unknown`, so that Array.isArray does not narrow the declared array type to any[]
    if (!Array.isArray(certificates as unknown) || certificates.some((c) => !(c instanceof X509Certificate))) {
      throw new TypeError('X509Svid.fromCertificates: expected an array of node:crypto X509Certificate');
    }
    if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private') {
      throw new TypeError('X509Svid.fromCertificates: expected a private KeyObject');
    }
    if (typeof hint !== 'string') {
      throw new TypeError('X509Svid: the hint must be a string');
    }
    if (certificates.length === 0) {
      throw invalid('no certificates; an X509-SVID needs at least its leaf certificate');
    }
    const infos = certificates.map((cert, i) => infoFromCert(cert, i));
    const leaf = infos[0]!;
    const id = leafSpiffeId(leaf);
    checkLeaf(leaf);
    for (let i = 1; i < infos.length; i++) checkSigning(infos[i]!, i);
    let matches: boolean;
    try {
      // checkPrivateKey compares the public parts only; a signature that verifies with the
      // leaf's key proves that the private part is the leaf's too.
      matches = leaf.cert.checkPrivateKey(privateKey) && provesPossession(privateKey, leaf.cert);
    } catch {
      matches = false;
    }
    if (!matches) {
      throw new X509SvidError(
        'ERR_X509SVID_KEY_MISMATCH',
        "x509svid: the private key does not match the leaf certificate's public key; pair each certificate with its own key",
      );
    }
    return new X509Svid(id, [...certificates], privateKey, hint, new Date(leaf.notAfter));
  }

  /**
   * Parses an SVID from PEM: the certificate chain (leaf first) and the private key
   * (`PRIVATE KEY` PKCS#8; `EC PRIVATE KEY` and `RSA PRIVATE KEY` are accepted too).
   *
   * @throws {@link X509SvidError} `ERR_X509SVID_INVALID` for unparsable PEM (empty, garbage,
   *   wrong block types, an encrypted key) or a broken rule, `ERR_X509SVID_KEY_MISMATCH` when
   *   the key is not the leaf's.
   * @example
   * ```ts
   * const svid = X509Svid.parse(readFileSync('svid.pem', 'utf8'), readFileSync('svid.key', 'utf8'));
   * ```
   */
  static parse(certChainPem: string | Uint8Array, keyPem: string | Uint8Array, hint = ''): X509Svid {
    const certificates = parsePemCertificates(certChainPem, certError);
    return X509Svid.fromCertificates(certificates, parseKeyPem(keyPem), hint);
  }

  /**
   * Parses an SVID from DER: the certificates (concatenated back to back, as the Workload API
   * sends them, or one array entry per certificate), leaf first, and the PKCS#8 private key.
   *
   * @throws {@link X509SvidError} as {@link X509Svid.parse}.
   * @example
   * ```ts
   * const svid = X509Svid.parseRaw(msg.x509_svid, msg.x509_svid_key, msg.hint);
   * ```
   */
  static parseRaw(certsDer: Uint8Array | readonly Uint8Array[], keyDer: Uint8Array, hint = ''): X509Svid {
    if (certsDer instanceof Uint8Array && certsDer.length === 0) {
      throw invalid('no certificates (the DER input is empty)');
    }
    const certificates = parseDerCertificates(certsDer, certError);
    return X509Svid.fromCertificates(certificates, parseKeyDer(keyDer), hint);
  }

  /**
   * The chain and key as PEM: `certificates` holds the chain, leaf first; `privateKey` the
   * PKCS#8 key. Keep the key out of logs and write it with mode 0600.
   *
   * @example
   * ```ts
   * const { certificates, privateKey } = svid.marshal();
   * tls.createSecureContext({ cert: certificates, key: privateKey });
   * ```
   */
  marshal(): { certificates: string; privateKey: string } {
    return {
      certificates: this.certificates.map((c) => encodePem('CERTIFICATE', c.raw)).join(''),
      privateKey: this.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  /**
   * The chain as DER, one entry per certificate, leaf first.
   *
   * @example
   * ```ts
   * const [leafDer] = svid.rawCertificates();
   * ```
   */
  rawCertificates(): Uint8Array[] {
    return this.certificates.map((c) => new Uint8Array(c.raw));
  }

  /**
   * Returns this SVID: a static SVID is its own {@link X509SvidSource}.
   *
   * @example
   * ```ts
   * const source: X509SvidSource = X509Svid.parse(certPem, keyPem);
   * source.getX509Svid().id;
   * ```
   */
  getX509Svid(): X509Svid {
    return this;
  }

  /** Never reveals the key: `{ id, hint, expiresAt }` only. */
  toJSON(): { id: string; hint: string; expiresAt: string } {
    return { id: this.id.toString(), hint: this.hint, expiresAt: this.expiresAt.toISOString() };
  }
}

const POSSESSION_CHALLENGE = Buffer.from('spiffe-node: proof of possession of an X509-SVID key');

/** Whether `privateKey` makes signatures that verify with `cert`'s public key. */
function provesPossession(privateKey: KeyObject, cert: X509Certificate): boolean {
  const type = privateKey.asymmetricKeyType;
  // Ed25519/Ed448 take no digest; every other key type is used with SHA-256 here.
  const digest = type === 'ed25519' || type === 'ed448' ? null : 'sha256';
  const signature = sign(digest, POSSESSION_CHALLENGE, privateKey);
  return verify(digest, POSSESSION_CHALLENGE, cert.publicKey, signature);
}
