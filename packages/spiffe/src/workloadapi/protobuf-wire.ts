/**
 * The protobuf wire format, with no knowledge of any message type: a reader of varints, tags,
 * length-delimited payloads and doubles that checks every length against its buffer and can
 * skip any field, and a writer that collects them into one buffer.
 *
 * Malformed input is a {@link WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE`, naming the message
 * type and the byte offset: the bytes read are those a Workload API peer sent.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { WorkloadApiError } from '../errors.js';

/** Wire type 0: a varint (int32, int64, uint32, uint64, bool, enum...). */
export const WIRE_VARINT = 0;
/** Wire type 1: 8 bytes (double, fixed64, sfixed64). */
export const WIRE_FIXED64 = 1;
/** Wire type 2: a length-delimited payload (string, bytes, message, map entry, packed). */
export const WIRE_LEN = 2;
/** Wire type 5: 4 bytes (float, fixed32, sfixed32). */
const WIRE_FIXED32 = 5;
/** The largest field number protobuf allows. */
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** Reads the wire format of one message, from `start` to `end` of `buf`. */
export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly type: string,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new WorkloadApiError(
      'ERR_WORKLOADAPI_RESPONSE',
      `workloadapi: malformed ${this.type} message: ${what} at byte ${this.pos}; the peer is not speaking the Workload API protocol`,
    );
  }

  /** An unsigned varint of at most 10 bytes, exact up to 2^53. */
  varint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      if (i === 9 && byte > 1) this.fail('varint overflows 64 bits');
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return value;
      multiplier *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint read as int32 (the low 32 bits, two's complement), as enums are. */
  int32(): number {
    const start = this.pos;
    this.varint();
    let low = 0;
    for (let i = 0; i < 5 && start + i < this.pos; i++) low |= (this.buf[start + i]! & 0x7f) << (7 * i);
    return low | 0;
  }

  /** The bounds of a length-delimited payload, checked against the buffer. */
  length(): number {
    const length = this.varint();
    if (length > this.end - this.pos) this.fail(`length ${length} runs past the end`);
    return length;
  }

  bytes(): Buffer {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }

  double(): number {
    if (this.end - this.pos < 8) this.fail('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  skipField(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN: {
        const length = this.length();
        this.pos += length;
        return;
      }
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  /** The next tag as [field number, wire type]. */
  tag(): [number, number] {
    const tag = this.varint();
    const fieldNumber = Math.floor(tag / 8);
    if (fieldNumber === 0 || fieldNumber > MAX_FIELD_NUMBER) this.fail(`invalid field number ${fieldNumber}`);
    return [fieldNumber, tag % 8];
  }
}

/** Writes the wire format of one message; {@link WireWriter.finish} joins the chunks. */
export class WireWriter {
  readonly chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  varint(value: number): void {
    const bytes: number[] = [];
    let v = value;
    while (v >= 0x80) {
      bytes.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.push(Buffer.from(bytes));
  }

  /** A negative int32, sign-extended to 64 bits: 10 bytes on the wire. */
  negativeVarint(value: number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Buffer.from(bytes));
  }

  tag(no: number, wireType: number): void {
    this.varint(no * 8 + wireType);
  }

  lengthDelimited(no: number, payload: Buffer): void {
    this.tag(no, WIRE_LEN);
    this.varint(payload.length);
    this.push(payload);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}
