/**
 * The key identifiers of a certificate (RFC 5280 4.2.1.1 and 4.2.1.2), as lowercase hex: SPIRE
 * names an X.509 authority by its CA certificate's subject key identifier (`localauthority x509
 * show`), and an SVID names the authority that signed it by its authority key identifier. The
 * rotation phase uses them to say which authority each CA and each SVID belongs to. Also the
 * certificates of concatenated DER, as SPIRE's JSON output carries chains and bundles.
 */
import { X509Certificate } from 'node:crypto';

const SUBJECT_KEY_ID_OID = Buffer.from('0603551d0e', 'hex');
const AUTHORITY_KEY_ID_OID = Buffer.from('0603551d23', 'hex');

/** One DER element at `at`: its tag, where its contents start and end. */
function element(der: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  if (start + length > der.length) throw new Error(`DER element at ${at} runs past the end`);
  return { tag, start, end: start + length };
}

/** The extnValue contents of the extension `oid`, or undefined when the certificate has none. */
function extensionValue(cert: X509Certificate, oid: Buffer): Buffer | undefined {
  const der = cert.raw;
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let next = element(der, at).end;
  let e = element(der, next);
  // critical BOOLEAN, when present
  if (e.tag === 0x01) {
    next = e.end;
    e = element(der, next);
  }
  if (e.tag !== 0x04) throw new Error(`extension ${oid.toString('hex')}: expected an OCTET STRING, found tag ${e.tag}`);
  return der.subarray(e.start, e.end);
}

/** The certificate's subject key identifier, or undefined. */
export function subjectKeyId(cert: X509Certificate): string | undefined {
  const value = extensionValue(cert, SUBJECT_KEY_ID_OID);
  if (!value) return undefined;
  const id = element(value, 0);
  return id.tag === 0x04 ? value.subarray(id.start, id.end).toString('hex') : undefined;
}

/** The keyIdentifier of the certificate's authority key identifier, or undefined. */
export function authorityKeyId(cert: X509Certificate): string | undefined {
  const value = extensionValue(cert, AUTHORITY_KEY_ID_OID);
  if (!value) return undefined;
  const seq = element(value, 0);
  if (seq.tag !== 0x30 || seq.start === seq.end) return undefined;
  const id = element(value, seq.start);
  return id.tag === 0x80 ? value.subarray(id.start, id.end).toString('hex') : undefined;
}

/** The certificates of concatenated DER (how SPIRE's JSON output carries chains and bundles). */
export function splitCertificates(der: Buffer): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (let at = 0; at < der.length;) {
    const cert = element(der, at);
    out.push(new X509Certificate(der.subarray(at, cert.end)));
    at = cert.end;
  }
  return out;
}
