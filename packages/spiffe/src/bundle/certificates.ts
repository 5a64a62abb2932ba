/**
 * Certificate helpers shared by bundles and X509-SVIDs: identity keys for certificates and
 * strict parsing of PEM and DER certificate lists.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { X509Certificate, hash } from 'node:crypto';
import { DerError, splitSequences } from './der.js';
import { PemError, decodePem } from './pem.js';

const keys = new WeakMap<X509Certificate, string>();

/** A stable identity for DER bytes: their SHA-256, base64. */
export function derKey(der: Uint8Array): string {
  return hash('sha256', der, 'base64');
}

/** A stable identity for a certificate (SHA-256 of its DER), cached per object. */
export function certificateKey(cert: X509Certificate): string {
  let key = keys.get(cert);
  if (key === undefined) {
    key = derKey(cert.raw);
    keys.set(cert, key);
  }
  return key;
}

/** Builds the caller's error from a message (without area prefix) and an optional cause. */
export type ErrorFactory = (message: string, cause?: unknown) => Error;

/** Parses one DER certificate; `what` names it in messages (e.g. `certificate 2`). */
export function parseDerCertificate(der: Uint8Array, what: string, fail: ErrorFactory): X509Certificate {
  try {
    const whole = splitSequences(der);
    if (whole.length !== 1) throw new DerError(`expected one certificate, found ${whole.length} DER elements`);
    const cert = new X509Certificate(der);
    // OpenSSL quietly repairs some encodings (a BIT STRING with padding bits set, for one): the
    // certificate it holds would then differ from the bytes given. Only exact DER is accepted.
    if (!Buffer.from(der.buffer, der.byteOffset, der.byteLength).equals(cert.raw)) {
      throw new DerError('it is not in canonical DER: the parsed certificate differs from the bytes given');
    }
    return cert;
  } catch (err) {
    throw fail(`${what} cannot be parsed: ${(err as Error).message}`, err);
  }
}

/** Parses concatenated DER certificates, or a list of DER certificates. */
export function parseDerCertificates(input: Uint8Array | readonly Uint8Array[], fail: ErrorFactory): X509Certificate[] {
  if (input instanceof Uint8Array) {
    let parts: Uint8Array[];
    try {
      parts = splitSequences(input);
    } catch (err) {
      throw fail(`cannot split the DER certificates: ${(err as Error).message}`, err);
    }
    return parts.map((der, i) => parseDerCertificate(der, `certificate ${i + 1}`, fail));
  }
  if (!Array.isArray(input)) {
    throw new TypeError('expected DER certificates as a Uint8Array or an array of Uint8Array');
  }
  return input.map((der, i) => {
    if (!(der instanceof Uint8Array)) throw new TypeError(`certificate ${i + 1}: expected a Uint8Array`);
    return parseDerCertificate(der, `certificate ${i + 1}`, fail);
  });
}

/** Parses PEM `CERTIFICATE` blocks; any other block type is an error. */
export function parsePemCertificates(input: string | Uint8Array, fail: ErrorFactory): X509Certificate[] {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError(`expected PEM as a string or Uint8Array, got ${typeof input}`);
  }
  let blocks;
  try {
    blocks = decodePem(input);
  } catch (err) {
    if (err instanceof PemError) throw fail(`cannot parse PEM: ${err.message}`, err);
    throw err;
  }
  return blocks.map((block, i) => {
    if (block.label !== 'CERTIFICATE') {
      throw fail(`PEM block ${i + 1} is a "${block.label}" block; only CERTIFICATE blocks are expected here`);
    }
    return parseDerCertificate(block.der, `certificate ${i + 1}`, fail);
  });
}
