/**
 * Minting of the X.509 side of a trust domain: a self-signed root, an intermediate signed by
 * the root, and X509-SVIDs signed by the intermediate. Conforms to the X509-SVID specification:
 * CAs have `cA=true` and `keyCertSign`; a leaf has `cA=false`, `digitalSignature`, no
 * `keyCertSign`/`cRLSign`, and exactly one URI SAN (its SPIFFE ID).
 *
 * @module
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { X509Certificate, randomBytes, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { exportPrivateKey, generateKeyPair, importPrivateKey, type KeyType, signingAlgorithm } from './key-type.js';

type CryptoKey = webcrypto.CryptoKey;

/** Certificates start this long before they are minted, for clock skew. */
const BACKDATE_MS = 10_000;

/** A CA certificate with its private key, able to sign. */
export interface SigningCert {
  /** The serial number (hex, as node:crypto prints it); identifies the CA in rotation. */
  readonly id: string;
  readonly keyType: KeyType;
  /** The certificate. */
  readonly cert: X509Certificate;
  /** The certificate, DER. */
  readonly der: Buffer;
  /** The private key (WebCrypto, for signing). */
  readonly privateKey: CryptoKey;
  /** The private key, PKCS#8 DER (for the state file). */
  readonly privateKeyDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** When it was minted: notBefore is backdated by {@link BACKDATE_MS}. */
  readonly issuedAt: Date;
}

/** How a {@link SigningCert} is stored in the data directory. */
export interface StoredSigningCert {
  keyType: KeyType;
  certPem: string;
  keyPem: string;
}

/** A freshly minted X509-SVID. */
export interface MintedX509Svid {
  /** The leaf certificate. */
  readonly cert: X509Certificate;
  /** The leaf, DER. */
  readonly der: Buffer;
  /** The SVID's private key, PKCS#8 DER. */
  readonly privateKeyDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The serial number, hex. */
  readonly serial: string;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function clampNotAfter(wanted: Date, issuer: SigningCert | undefined): Date {
  if (issuer && wanted.getTime() > issuer.notAfter.getTime()) return issuer.notAfter;
  return wanted;
}

async function toSigningCert(keyType: KeyType, cert: x509.X509Certificate, privateKey: CryptoKey): Promise<SigningCert> {
  const der = Buffer.from(cert.rawData);
  const nodeCert = new X509Certificate(der);
  return {
    id: nodeCert.serialNumber,
    keyType,
    cert: nodeCert,
    der,
    privateKey,
    privateKeyDer: await exportPrivateKey(privateKey),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuedAt: new Date(cert.notBefore.getTime() + BACKDATE_MS),
  };
}

function caExtensions(trustDomainId: string): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId }], false),
  ];
}

/**
 * Mints a self-signed root CA for a trust domain.
 *
 * @example
 * ```ts
 * const root = await mintRootCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 365 * 86400 });
 * ```
 */
export async function mintRootCa(params: { trustDomain: string; keyType: KeyType; ttlSeconds: number; now?: Date }): Promise<SigningCert> {
  const now = params.now ?? new Date();
  const keys = await generateKeyPair(params.keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${params.trustDomain} root CA, O=SPIFFE dev agent`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + params.ttlSeconds * 1000),
    signingAlgorithm: signingAlgorithm(params.keyType),
    keys,
    extensions: [...caExtensions(`spiffe://${params.trustDomain}`), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return toSigningCert(params.keyType, cert, keys.privateKey);
}

/**
 * Issues a certificate for `publicKey` signed by `issuer`: backdated like every certificate here,
 * never outliving its issuer, with `extensions` followed by the subject and authority key
 * identifiers.
 */
async function issue(params: {
  subject: string;
  publicKey: CryptoKey;
  issuer: SigningCert;
  ttlSeconds: number;
  now: Date;
  extensions: x509.Extension[];
}): Promise<x509.X509Certificate> {
  const issuer = new x509.X509Certificate(params.issuer.der);
  return x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: params.subject,
    issuer: issuer.subjectName,
    notBefore: new Date(params.now.getTime() - BACKDATE_MS),
    notAfter: clampNotAfter(new Date(params.now.getTime() + params.ttlSeconds * 1000), params.issuer),
    signingAlgorithm: signingAlgorithm(params.issuer.keyType),
    publicKey: params.publicKey,
    signingKey: params.issuer.privateKey,
    extensions: [
      ...params.extensions,
      await x509.SubjectKeyIdentifierExtension.create(params.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
}

/**
 * Mints an intermediate CA signed by `issuer`; it never outlives its issuer.
 *
 * @example
 * ```ts
 * const intermediate = await mintIntermediateCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 86400, issuer: root });
 * ```
 */
export async function mintIntermediateCa(params: {
  trustDomain: string;
  keyType: KeyType;
  ttlSeconds: number;
  issuer: SigningCert;
  now?: Date;
}): Promise<SigningCert> {
  const keys = await generateKeyPair(params.keyType);
  const cert = await issue({
    subject: `CN=${params.trustDomain} intermediate CA, O=SPIFFE dev agent`,
    publicKey: keys.publicKey,
    issuer: params.issuer,
    ttlSeconds: params.ttlSeconds,
    now: params.now ?? new Date(),
    extensions: caExtensions(`spiffe://${params.trustDomain}`),
  });
  return toSigningCert(params.keyType, cert, keys.privateKey);
}

/**
 * Mints an X509-SVID for `spiffeId`, signed by `issuer`, valid for `ttlSeconds` (never beyond the
 * issuer). DNS names become DNS SANs, and the first one the subject's common name.
 *
 * @example
 * ```ts
 * const svid = await mintX509Svid({ spiffeId: 'spiffe://example.org/web', dnsNames: [], keyType: 'ec-p256', ttlSeconds: 3600, issuer: intermediate });
 * ```
 */
export async function mintX509Svid(params: {
  spiffeId: string;
  dnsNames: readonly string[];
  keyType: KeyType;
  ttlSeconds: number;
  issuer: SigningCert;
  now?: Date;
}): Promise<MintedX509Svid> {
  const keys = await generateKeyPair(params.keyType);
  const usage =
    params.keyType === 'rsa-2048'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement;
  const firstDns = params.dnsNames[0];
  const cert = await issue({
    subject: firstDns === undefined ? 'O=SPIFFE' : `CN=${firstDns}, O=SPIFFE`,
    publicKey: keys.publicKey,
    issuer: params.issuer,
    ttlSeconds: params.ttlSeconds,
    now: params.now ?? new Date(),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension(
        [{ type: 'url', value: params.spiffeId }, ...params.dnsNames.map((value) => ({ type: 'dns' as const, value }))],
        false,
      ),
    ],
  });
  const der = Buffer.from(cert.rawData);
  return {
    cert: new X509Certificate(der),
    der,
    privateKeyDer: await exportPrivateKey(keys.privateKey),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serial: cert.serialNumber,
  };
}

/** Converts a {@link SigningCert} into its stored form (PEM). */
export function storeSigningCert(sc: SigningCert): StoredSigningCert {
  return {
    keyType: sc.keyType,
    certPem: sc.cert.toString(),
    keyPem: derToPem(sc.privateKeyDer, 'PRIVATE KEY'),
  };
}

/** Loads a {@link SigningCert} from its stored form. */
export async function loadSigningCert(stored: StoredSigningCert): Promise<SigningCert> {
  const cert = new X509Certificate(stored.certPem);
  const privateKeyDer = pemToDer(stored.keyPem);
  return {
    id: cert.serialNumber,
    keyType: stored.keyType,
    cert,
    der: cert.raw,
    privateKey: await importPrivateKey(stored.keyType, privateKeyDer),
    privateKeyDer,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    issuedAt: new Date(new Date(cert.validFrom).getTime() + BACKDATE_MS),
  };
}

/** DER → PEM with the given label. */
function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function pemToDer(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}
