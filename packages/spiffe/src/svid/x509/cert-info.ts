/**
 * The facts about a certificate that SPIFFE validation needs (subject alternative names, basic
 * constraints, key usage, name constraints, signature algorithm, validity, critical
 * extensions), read once from the DER with a small reader and cached:
 * per `X509Certificate` object in a WeakMap, and per DER (keyed by its SHA-256) in a bounded
 * cache, so the TLS hot path pays for parsing a peer's certificates only the first time.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { X509Certificate } from 'node:crypto';
import { DerError, children, oidText, readTlv, type Tlv } from '../../bundle/der.js';
import { certificateKey, derKey } from '../../bundle/certificates.js';
import { BoundedCache } from './bounded-cache.js';
import { generalNameTypeName, readSubjectAltNames, type SubjectAltNames } from './general-names.js';
import { readNameConstraints, uncheckedForms, type NameConstraints } from './name-constraints.js';
import { readSignatureAlgorithm, type SignatureAlgorithm } from './signature-algorithms.js';

/** KeyUsage bits as a mask: bit n of the ASN.1 named bit list is `1 << n`. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

/** What validation needs to know about one certificate. */
export interface CertInfo {
  readonly cert: X509Certificate;
  /** SHA-256 of the DER, base64: the certificate's identity in caches. */
  readonly key: string;
  /** URI SANs, in order. */
  readonly uris: readonly string[];
  /** Every name of the subjectAltName extension, or undefined when there is none. */
  readonly sans: SubjectAltNames | undefined;
  /** Whether the subject DN is empty (an empty SEQUENCE). */
  readonly subjectEmpty: boolean;
  /** The name constraints extension, if any. */
  readonly nameConstraints: NameConstraints | undefined;
  /** What the certificate is signed with, and why that is refused (if it is). */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** Whether the basic constraints extension is present. */
  readonly hasBasicConstraints: boolean;
  /** The basic constraints cA flag (false when the extension is absent). */
  readonly isCa: boolean;
  /** pathLenConstraint, if set. */
  readonly pathLen: number | undefined;
  /** The key usage mask, or undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  /** notBefore and notAfter, in milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** The OID of the first critical extension this library does not process, if any. */
  readonly unhandledCritical: string | undefined;
}

// Extension OIDs (content bytes of the OBJECT IDENTIFIER), as hex.
const OID_BASIC_CONSTRAINTS = '551d13';
const OID_KEY_USAGE = '551d0f';
const OID_SUBJECT_ALT_NAME = '551d11';
const OID_NAME_CONSTRAINTS = '551d1e';
/**
 * Extensions whose criticality does not stop validation: the four above plus these (a
 * critical name constraints extension only when every form it holds can be checked).
 */
const HANDLED = new Set([
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_NAME_CONSTRAINTS,
  '551d25', // extKeyUsage (not restricted by SPIFFE validation)
  '551d0e', // subjectKeyIdentifier
  '551d23', // authorityKeyIdentifier
]);

function expect(bytes: Uint8Array, el: Tlv | undefined, tag: number, what: string): Tlv {
  if (el === undefined) throw new DerError(`${what} is missing`);
  if (el.tag !== tag) {
    throw new DerError(`${what} has tag 0x${el.tag.toString(16).padStart(2, '0')}, expected 0x${tag.toString(16).padStart(2, '0')}`);
  }
  return el;
}

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) throw new DerError(`malformed time "${s}"`);
    v = v * 10 + c;
  }
  return v;
}

/** UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, as RFC 5280 requires. */
function readTime(bytes: Uint8Array, el: Tlv | undefined, what: string): number {
  if (el === undefined) throw new DerError(`${what} is missing`);
  const s = Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart).toString('latin1');
  let year: number;
  let rest: number;
  if (el.tag === 0x17 && s.length === 13) {
    const yy = digits(s, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (el.tag === 0x18 && s.length === 15) {
    year = digits(s, 0, 4);
    rest = 4;
  } else {
    throw new DerError(`${what} is not a UTCTime or GeneralizedTime in the form RFC 5280 requires`);
  }
  if (s.charCodeAt(s.length - 1) !== 0x5a) throw new DerError(`${what} is not in UTC ("Z")`);
  const month = digits(s, rest, 2);
  const day = digits(s, rest + 2, 2);
  const hour = digits(s, rest + 4, 2);
  const minute = digits(s, rest + 6, 2);
  const second = digits(s, rest + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new DerError(`${what} "${s}" is out of range`);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function hex(bytes: Uint8Array, el: Tlv): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart).toString('hex');
}

function readBasicConstraints(bytes: Uint8Array, value: Tlv): { isCa: boolean; pathLen: number | undefined } {
  const seq = expect(bytes, readTlv(bytes, value.contentStart, value.end), 0x30, 'basic constraints');
  let isCa = false;
  let pathLen: number | undefined;
  for (const item of children(bytes, seq)) {
    if (item.tag === 0x01) {
      if (item.end - item.contentStart !== 1) throw new DerError('basic constraints cA is not a one-byte BOOLEAN');
      isCa = bytes[item.contentStart] !== 0;
    } else if (item.tag === 0x02) {
      const len = item.end - item.contentStart;
      if (len < 1 || len > 4 || ((bytes[item.contentStart] as number) & 0x80) !== 0) {
        throw new DerError('basic constraints pathLenConstraint is not a small non-negative INTEGER');
      }
      pathLen = 0;
      for (let i = item.contentStart; i < item.end; i++) pathLen = pathLen * 256 + (bytes[i] as number);
    } else {
      throw new DerError('basic constraints holds an unexpected element');
    }
  }
  return { isCa, pathLen };
}

function readKeyUsage(bytes: Uint8Array, value: Tlv): number {
  const bits = expect(bytes, readTlv(bytes, value.contentStart, value.end), 0x03, 'key usage');
  const len = bits.end - bits.contentStart;
  if (len < 1) throw new DerError('key usage BIT STRING is empty');
  let mask = 0;
  // Only the first two bytes carry named bits (0..8).
  for (let i = 1; i < len && i <= 2; i++) {
    const byte = bytes[bits.contentStart + i] as number;
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (0x80 >> bit)) mask |= 1 << ((i - 1) * 8 + bit);
    }
  }
  return mask;
}

/** Reads the facts of a certificate from its DER. Throws {@link DerError} if malformed. */
export function readCertInfo(cert: X509Certificate, der: Uint8Array, key: string): CertInfo {
  const certificate = readTlv(der, 0);
  if (certificate.tag !== 0x30 || certificate.end !== der.length) throw new DerError('not a single DER certificate');
  try {
    // OpenSSL decodes the key lazily; a key it cannot decode must fail here, as a parse error of
    // this certificate, rather than later inside a signature check.
    void cert.publicKey;
  } catch (err) {
    throw new DerError(`its public key cannot be decoded (${(err as Error).message})`);
  }
  const [tbsEl, outerAlgorithm] = children(der, certificate);
  const tbs = expect(der, tbsEl, 0x30, 'tbsCertificate');
  const fields = children(der, tbs);
  let i = 0;
  if (fields[0]?.tag === 0xa0) i++; // version
  i += 1; // serialNumber
  const signatureAlgorithm = readSignatureAlgorithm(der, outerAlgorithm, fields[i++]);
  i += 1; // issuer
  const validity = children(der, expect(der, fields[i++], 0x30, 'validity'));
  const notBefore = readTime(der, validity[0], 'notBefore');
  const notAfter = readTime(der, validity[1], 'notAfter');
  const subject = expect(der, fields[i++], 0x30, 'subject');
  const subjectEmpty = subject.end === subject.contentStart;
  i += 1; // subjectPublicKeyInfo

  let hasBasicConstraints = false;
  let isCa = false;
  let pathLen: number | undefined;
  let keyUsage: number | undefined;
  let sans: SubjectAltNames | undefined;
  let nameConstraints: NameConstraints | undefined;
  let unhandledCritical: string | undefined;
  const extensions = fields.slice(i).find((f) => f.tag === 0xa3);
  if (extensions !== undefined) {
    const list = expect(der, readTlv(der, extensions.contentStart, extensions.end), 0x30, 'extensions');
    const seen = new Set<string>();
    for (const ext of children(der, list)) {
      const parts = children(der, expect(der, ext, 0x30, 'extension'));
      const oid = expect(der, parts[0], 0x06, 'extension OID');
      let critical = false;
      let valueEl = parts[1];
      if (valueEl?.tag === 0x01) {
        critical = der[valueEl.contentStart] !== 0;
        valueEl = parts[2];
      }
      const value = expect(der, valueEl, 0x04, 'extension value');
      const id = hex(der, oid);
      if (seen.has(id)) throw new DerError(`extension ${oidText(der, oid)} appears more than once`);
      seen.add(id);
      if (id === OID_BASIC_CONSTRAINTS) {
        hasBasicConstraints = true;
        ({ isCa, pathLen } = readBasicConstraints(der, value));
      } else if (id === OID_KEY_USAGE) {
        keyUsage = readKeyUsage(der, value);
      } else if (id === OID_SUBJECT_ALT_NAME) {
        sans = readSubjectAltNames(der, value);
      } else if (id === OID_NAME_CONSTRAINTS) {
        nameConstraints = readNameConstraints(der, value, critical);
        const unchecked = uncheckedForms(nameConstraints);
        if (critical && unhandledCritical === undefined && unchecked.length > 0) {
          unhandledCritical = `${oidText(der, oid)} (name constraints of a form this library cannot check: ${unchecked.map(generalNameTypeName).join(', ')})`;
        }
      }
      if (critical && unhandledCritical === undefined && !HANDLED.has(id)) {
        unhandledCritical = oidText(der, oid);
      }
    }
  }
  return {
    cert,
    key,
    uris: sans?.uris ?? [],
    sans,
    subjectEmpty,
    nameConstraints,
    signatureAlgorithm,
    hasBasicConstraints,
    isCa,
    pathLen,
    keyUsage,
    notBefore,
    notAfter,
    unhandledCritical,
  };
}

const byDer = new BoundedCache<string, CertInfo>(2048);
const byObject = new WeakMap<X509Certificate, CertInfo>();

/**
 * The facts of a DER certificate, parsed once (cached by the SHA-256 of the DER).
 * Throws whatever `new X509Certificate` throws, or {@link DerError}.
 */
export function certInfoFromDer(der: Uint8Array): CertInfo {
  const key = derKey(der);
  let info = byDer.get(key);
  if (info === undefined) {
    const cert = new X509Certificate(der);
    info = readCertInfo(cert, der, key);
    byDer.set(key, info);
    byObject.set(cert, info);
  }
  return info;
}

/** The facts of a certificate object, parsed once per object. Throws {@link DerError}. */
export function certInfo(cert: X509Certificate): CertInfo {
  let info = byObject.get(cert);
  if (info === undefined) {
    const key = certificateKey(cert);
    info = byDer.get(key);
    if (info === undefined || info.cert !== cert) {
      info = readCertInfo(cert, cert.raw, key);
    }
    byObject.set(cert, info);
  }
  return info;
}

const issuedBy = new BoundedCache<string, boolean>(4096);

/**
 * Whether `parent` issued `child`: `child`'s issuer name is `parent`'s subject name and
 * `child`'s signature verifies with `parent`'s public key (natively, with OpenSSL). Key usage
 * and basic constraints are checked by the caller, so that it can say which rule broke.
 * Results are cached per pair of DER hashes.
 */
export function isIssuedBy(child: CertInfo, parent: CertInfo): boolean {
  const pair = `${child.key}|${parent.key}`;
  let ok = issuedBy.get(pair);
  if (ok === undefined) {
    ok = child.cert.issuer === parent.cert.subject && child.cert.verify(parent.cert.publicKey);
    issuedBy.set(pair, ok);
  }
  return ok;
}

/** A short, one-line description of a certificate for error messages. */
export function describe(info: CertInfo): string {
  const subject = info.cert.subject;
  return subject ? `"${subject.split('\n').join(', ')}"` : '(empty subject)';
}
