/**
 * The X509-SVID rules (SPIFFE X509-SVID specification), one function per certificate role.
 * Each throws an {@link X509SvidError} that names the rule the certificate broke.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { SpiffeError, X509SvidError } from '../../errors.js';
import { SpiffeId } from '../../spiffeid/index.js';
import { DerError } from '../../bundle/der.js';
import { KeyUsage, certInfo, certInfoFromDer, type CertInfo } from './cert-info.js';
import type { X509Certificate } from 'node:crypto';

export function invalid(message: string, cause?: unknown, rule?: string): X509SvidError {
  return new X509SvidError('ERR_X509SVID_INVALID', `x509svid: ${message}`, { cause, rule });
}

/** The name of the certificate at `index` of a presented chain, for messages. */
function roleName(index: number): string {
  return index === 0 ? 'leaf certificate' : `signing certificate ${index + 1}`;
}

/** Parses a DER certificate of a chain into its cached facts. */
export function infoFromDer(der: Uint8Array, index: number): CertInfo {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(`certificate ${index + 1}: expected DER bytes as a Uint8Array`);
  }
  try {
    return certInfoFromDer(der);
  } catch (err) {
    throw invalid(`${roleName(index)} cannot be parsed: ${(err as Error).message}`, err, 'unparseable');
  }
}

/** The cached facts of a certificate object. */
export function infoFromCert(cert: X509Certificate, index: number): CertInfo {
  try {
    return certInfo(cert);
  } catch (err) {
    if (err instanceof DerError) throw invalid(`${roleName(index)} cannot be parsed: ${err.message}`, err, 'unparseable');
    throw err;
  }
}

/**
 * The SPIFFE ID of a leaf: exactly one URI SAN, a valid SPIFFE ID with a non-root path.
 */
export function leafSpiffeId(leaf: CertInfo): SpiffeId {
  const { uris } = leaf;
  if (uris.length === 0) {
    throw invalid(
      'leaf certificate has no URI SAN; an X509-SVID carries its SPIFFE ID as exactly one URI SAN',
      undefined,
      'leaf-uri-san-missing',
    );
  }
  if (uris.length > 1) {
    throw invalid(
      `leaf certificate has ${uris.length} URI SANs; an X509-SVID must have exactly one (its SPIFFE ID)`,
      undefined,
      'leaf-uri-san-multiple',
    );
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.fromString(uris[0] as string);
  } catch (err) {
    const reason = err instanceof SpiffeError ? err.message : String(err);
    throw invalid(`leaf certificate URI SAN is not a valid SPIFFE ID: ${reason}`, err, 'leaf-uri-san-invalid');
  }
  if (id.path === '') {
    throw invalid(
      `leaf certificate SPIFFE ID "${id}" has no path; the ID of an X509-SVID must have a path (the trust domain ID alone is not a workload identity)`,
      undefined,
      'leaf-id-no-path',
    );
  }
  return id;
}

/** Leaf rules: not a CA, digitalSignature, neither keyCertSign nor cRLSign. */
export function checkLeaf(leaf: CertInfo): void {
  if (leaf.isCa) {
    throw invalid('leaf certificate must not be a CA (basic constraints cA=true)', undefined, 'leaf-ca');
  }
  const ku = leaf.keyUsage ?? 0;
  if (ku & KeyUsage.keyCertSign) {
    throw invalid('leaf certificate must not have the keyCertSign key usage', undefined, 'leaf-key-cert-sign');
  }
  if (ku & KeyUsage.cRLSign) {
    throw invalid('leaf certificate must not have the cRLSign key usage', undefined, 'leaf-crl-sign');
  }
  if ((ku & KeyUsage.digitalSignature) === 0) {
    throw invalid(
      leaf.keyUsage === undefined
        ? 'leaf certificate must have the digitalSignature key usage (it has no key usage extension)'
        : 'leaf certificate must have the digitalSignature key usage',
      undefined,
      'leaf-digital-signature',
    );
  }
}

/**
 * Why a certificate cannot sign others (not a CA, or no keyCertSign), or undefined if it can.
 */
export function signingProblem(info: CertInfo): string | undefined {
  if (!info.hasBasicConstraints || !info.isCa) {
    return info.hasBasicConstraints ? 'must be a CA (basic constraints cA=true)' : 'must be a CA (it has no basic constraints extension)';
  }
  if (info.keyUsage === undefined || (info.keyUsage & KeyUsage.keyCertSign) === 0) {
    return info.keyUsage === undefined
      ? 'must have the keyCertSign key usage (it has no key usage extension)'
      : 'must have the keyCertSign key usage';
  }
  return undefined;
}

/** Signing certificate rules (every certificate after the leaf). */
export function checkSigning(info: CertInfo, index: number): void {
  const problem = signingProblem(info);
  if (problem !== undefined) {
    throw invalid(`${roleName(index)} ${problem}`, undefined, problem.includes('keyCertSign') ? 'signing-key-cert-sign' : 'signing-not-ca');
  }
}

/** Rejects a certificate with a critical extension that validation does not process. */
export function checkCriticalExtensions(info: CertInfo, index: number): void {
  if (info.unhandledCritical !== undefined) {
    throw invalid(
      `${roleName(index)} has the critical extension ${info.unhandledCritical}, which this library does not process; a critical extension that is not understood must cause rejection`,
      undefined,
      'critical-extension',
    );
  }
}

/** Rejects a certificate signed with a refused algorithm (SHA-1, MD5, or one Go does not verify). */
export function checkSignatureAlgorithm(info: CertInfo, index: number): void {
  const { problem } = info.signatureAlgorithm;
  if (problem !== undefined) throw invalid(`${roleName(index)} ${problem}`, undefined, 'signature-algorithm');
}

/** The validity problem of a certificate at time `t` (ms), or undefined. */
export function validityProblem(
  info: CertInfo,
  t: number,
): { code: 'ERR_X509SVID_EXPIRED' | 'ERR_X509SVID_NOT_YET_VALID'; text: string } | undefined {
  if (t > info.notAfter) {
    return {
      code: 'ERR_X509SVID_EXPIRED',
      text: `expired at ${new Date(info.notAfter).toISOString()} (checked at ${new Date(t).toISOString()})`,
    };
  }
  if (t < info.notBefore) {
    return {
      code: 'ERR_X509SVID_NOT_YET_VALID',
      text: `is not valid before ${new Date(info.notBefore).toISOString()} (checked at ${new Date(t).toISOString()})`,
    };
  }
  return undefined;
}

/** Rejects a certificate outside its validity period at `t`. */
export function checkValidity(info: CertInfo, index: number, t: number): void {
  const problem = validityProblem(info, t);
  if (problem !== undefined) {
    throw new X509SvidError(problem.code, `x509svid: ${roleName(index)} ${problem.text}`, {
      rule: problem.code === 'ERR_X509SVID_EXPIRED' ? 'expired' : 'not-yet-valid',
    });
  }
}
