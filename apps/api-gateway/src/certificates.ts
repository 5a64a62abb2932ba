/**
 * Client certificates: reading PEM (files, inline, headers), the chain a TLS peer presented, and
 * matching pinned certificates.
 *
 * @module
 */
import { type X509Certificate, createHash } from 'node:crypto';

/** At most this many certificates are read from one header or file. */
const MAX_CERTIFICATES = 16;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * The DER of every `CERTIFICATE` block in `text`, in order. Whitespace inside a block may be
 * anything (newlines, spaces, none), so a PEM squeezed onto one header line reads as well as a
 * file. Other blocks (a private key in a Secret's `tls.crt`, say) are skipped, never returned.
 *
 * @param text - PEM text.
 * @returns DER certificates (possibly none); a block whose body is not base64 throws.
 * @throws `Error` for a malformed certificate block.
 * @example
 * ```ts
 * const ders = pemCertificates(readFileSync('/etc/api-gateway/certs/mtls-configmap/tls.crt', 'utf8'));
 * ```
 */
export function pemCertificates(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] !== 'CERTIFICATE') continue;
    const body = (match[2] ?? '').replace(/\s+/g, '');
    if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('a CERTIFICATE block is not base64');
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
    if (out.length > MAX_CERTIFICATES) throw new Error(`more than ${MAX_CERTIFICATES} certificates`);
  }
  return out;
}

/**
 * Decodes a certificate header value: PEM (raw, on one line or several) or URL-encoded PEM (as
 * Envoy and WSO2 APK send it). Leaf first when it holds a chain.
 *
 * @param value - The header value.
 * @returns DER certificates, at least one.
 * @throws `Error` saying what is wrong (never echoing the value).
 * @example
 * ```ts
 * const chain = decodeCertificateHeader(encodeURIComponent(pem));
 * ```
 */
export function decodeCertificateHeader(value: string): Uint8Array[] {
  let text = value.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
  if (/%[0-9A-Fa-f]{2}/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      throw new Error('the header is neither PEM nor valid URL-encoded PEM');
    }
  }
  const ders = pemCertificates(text);
  if (ders.length === 0) throw new Error('the header holds no PEM certificate');
  return ders;
}

/**
 * The hex SHA-256 of a DER certificate, as in the `Hash` of `x-forwarded-client-cert`.
 *
 * @example
 * ```ts
 * const hash = certificateHash(chain[0]);
 * ```
 */
export function certificateHash(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/**
 * PEM of a DER certificate.
 *
 * @example
 * ```ts
 * const pem = toPem(chain[0]);
 * ```
 */
export function toPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function validAt(cert: X509Certificate, now: number): boolean {
  return new Date(cert.validFrom).getTime() <= now && now <= new Date(cert.validTo).getTime();
}

/**
 * The certificates an API pins. A client certificate is accepted when it is one of them (same
 * DER, compared by SHA-256) or when it was issued directly by one of them that is a CA
 * (`basicConstraints cA`, name and key identifiers match, the signature verifies). Both the
 * client certificate and the pinned one must be within their validity period. Nothing else is
 * consulted: no system CAs, no host names.
 *
 * @example
 * ```ts
 * const pins = new PinnedCertificates([new X509Certificate(pem)]);
 * const verdict = pins.check(new X509Certificate(chain[0]));
 * if (!verdict.ok) console.log(verdict.reason);
 * ```
 */
export class PinnedCertificates {
  readonly #byHash = new Map<string, X509Certificate>();
  readonly #cas: X509Certificate[] = [];

  constructor(certificates: readonly X509Certificate[]) {
    for (const cert of certificates) {
      this.#byHash.set(certificateHash(cert.raw), cert);
      if (cert.ca) this.#cas.push(cert);
    }
  }

  /** How many certificates are pinned. */
  get size(): number {
    return this.#byHash.size;
  }

  /**
   * Whether `leaf` is accepted now.
   *
   * @param leaf - The client's certificate.
   * @param now - The time to check validity at (ms since the epoch).
   */
  check(leaf: X509Certificate, now = Date.now()): { ok: true; how: 'pinned' | 'issued' } | { ok: false; reason: string } {
    if (this.#byHash.has(certificateHash(leaf.raw))) {
      return validAt(leaf, now) ? { ok: true, how: 'pinned' } : { ok: false, reason: 'the pinned certificate is expired or not yet valid' };
    }
    for (const ca of this.#cas) {
      if (leaf.ca || !leaf.checkIssued(ca)) continue;
      let signed = false;
      try {
        signed = leaf.verify(ca.publicKey);
      } catch {
        signed = false;
      }
      if (!signed) continue;
      if (!validAt(ca, now) || !validAt(leaf, now))
        return { ok: false, reason: 'the certificate or its pinned issuer is expired or not yet valid' };
      return { ok: true, how: 'issued' };
    }
    return { ok: false, reason: 'the certificate is not one of the pinned certificates nor issued by one of them' };
  }
}
