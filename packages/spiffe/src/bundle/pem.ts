/**
 * A strict PEM reader. Text outside of blocks is ignored (as OpenSSL and Go do); every block
 * must be well-formed base64 without headers.
 *
 * Not part of the public API: no entry point exports this module.
 */

/** Malformed PEM. Callers turn it into the error type of their area. */
export class PemError extends Error {}

/** One decoded PEM block. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes every PEM block of `input`; throws {@link PemError} when there is none. */
export function decodePem(input: string | Uint8Array): PemBlock[] {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (text.trim().length === 0) throw new PemError('input is empty');
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', pos);
    if (begin < 0) break;
    const labelStart = begin + 11;
    const labelEnd = text.indexOf('-----', labelStart);
    if (labelEnd < 0) throw new PemError(`block ${blocks.length + 1} has an unterminated BEGIN line`);
    const label = text.slice(labelStart, labelEnd);
    if (!/^[A-Z0-9 ]*$/.test(label)) throw new PemError(`block ${blocks.length + 1} has a malformed BEGIN line`);
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, labelEnd + 5);
    if (end < 0) throw new PemError(`block ${blocks.length + 1} ("${label}") has no "${endMarker}" line`);
    const body = text.slice(labelEnd + 5, end);
    if (body.includes(':')) {
      throw new PemError(`block ${blocks.length + 1} ("${label}") has headers (it may be encrypted); only plain blocks are supported`);
    }
    const b64 = body.replace(/\s+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      throw new PemError(`block ${blocks.length + 1} ("${label}") is not valid base64`);
    }
    blocks.push({ label, der: Buffer.from(b64, 'base64') });
    pos = end + endMarker.length;
  }
  if (blocks.length === 0) throw new PemError('no PEM block found');
  return blocks;
}

/** PEM-armours DER bytes with 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}
