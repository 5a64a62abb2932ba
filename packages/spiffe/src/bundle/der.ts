/**
 * A minimal DER reader: just enough to split concatenated certificates and to read the few
 * certificate fields and extensions SPIFFE validation needs. Every read is bounds-checked and
 * throws {@link DerError} on malformed input.
 *
 * Not part of the public API: no entry point exports this module.
 */

/** Malformed DER. Callers turn it into the error type of their area. */
export class DerError extends Error {}

/** One tag-length-value element: the content is `bytes[contentStart, end)`. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  contentStart: number;
  end: number;
}

/**
 * Reads the element at `offset`, which must end at or before `limit`.
 * Only low tag numbers (single tag byte) and definite lengths up to 2^32 are accepted.
 */
export function readTlv(bytes: Uint8Array, offset: number, limit: number = bytes.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated element at offset ${offset}`);
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported high tag number at offset ${offset}`);
  let len = bytes[offset + 1] as number;
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at offset ${offset} is not DER`);
    if (n > 4) throw new DerError(`length of ${n} bytes at offset ${offset} is too large`);
    if (contentStart + n > limit) throw new DerError(`truncated length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[contentStart + i] as number);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError(`element at offset ${offset} runs past the end of its container`);
  return { tag, start: offset, contentStart, end };
}

/** The dotted form of an OBJECT IDENTIFIER element's content (for messages). */
export function oidText(bytes: Uint8Array, el: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = el.contentStart; i < el.end; i++) {
    const b = bytes[i] as number;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Reads the children of a constructed element. */
export function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Splits concatenated DER SEQUENCEs (such as certificates) into views of `bytes`. */
export function splitSequences(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const el = readTlv(bytes, offset);
    if (el.tag !== 0x30) {
      throw new DerError(`expected a SEQUENCE at offset ${offset}, found tag 0x${el.tag.toString(16).padStart(2, '0')}`);
    }
    out.push(bytes.subarray(offset, el.end));
    offset = el.end;
  }
  return out;
}
