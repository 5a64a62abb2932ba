/**
 * What Node shows an application as a certificate's subjectAltName, read without side effects.
 *
 * Node 20 (OpenSSL 3.0) leaves OpenSSL's error on the thread's error queue when it cannot decode
 * the extension (`X509Certificate.subjectAltName` is then null): the next unrelated call that
 * reports the queue, such as `createPrivateKey` of a valid key, throws that stale error ("no
 * matching choice type"). This reads the value on a fresh object and then clears the queue with
 * an operation that does (`new X509Certificate` of the same, valid DER). Node 22+ throws
 * `ERR_CRYPTO_OPERATION_FAILED` ("Failed to format subject alternative name") instead of
 * answering null: both mean Node shows the application no SAN, and both give null here.
 *
 * @example
 * ```ts
 * const san = nodeSubjectAltName(cert); // 'URI:spiffe://example.org/w' or null
 * ```
 */
import { X509Certificate } from 'node:crypto';

export function nodeSubjectAltName(cert: X509Certificate): string | null {
  const fresh = new X509Certificate(cert.raw);
  let san: string | null;
  try {
    san = fresh.subjectAltName ?? null;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_CRYPTO_OPERATION_FAILED') throw err;
    san = null;
  }
  // Constructing an X509Certificate clears OpenSSL's error queue on return.
  void new X509Certificate(cert.raw);
  return san;
}
