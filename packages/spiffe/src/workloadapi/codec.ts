/**
 * A small protobuf codec for the Workload API messages of `proto/workload.proto` (and the
 * `google.protobuf.Struct` family it imports), so the client does not load a .proto parser at run
 * time.
 *
 * Decoded objects have the shape `@grpc/proto-loader` gives with `{ keepCase: true, longs: String,
 * enums: String, defaults: true, oneofs: true }`: the .proto field names, `bytes` as `Buffer`,
 * repeated fields as arrays and maps as plain objects (empty when absent), strings `''` when
 * absent, unset messages `null`, and a oneof member followed by a property naming it (`kind`).
 * Decoding rejects truncated or malformed input with a {@link WorkloadApiError}; unknown fields
 * are skipped.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { WorkloadApiError } from '../errors.js';

/** The scalar types the Workload API messages use. */
type ScalarType = 'string' | 'bytes' | 'double' | 'bool' | 'enum';

/** One field of a message. */
interface FieldSpec {
  /** The field name as the .proto spells it (what proto-loader uses with `keepCase`). */
  readonly name: string;
  readonly no: number;
  readonly type: ScalarType | 'message';
  /** The message type of a `message` field, or of the values of a `map<string, message>`. */
  readonly message?: () => MessageSpec;
  readonly repeated?: boolean;
  /** `map<string, V>`: `type` is the type of V. */
  readonly map?: boolean;
  /** The oneof this field belongs to. */
  readonly oneof?: string;
  /** Another property name accepted on encoding when `name` is absent. */
  readonly alias?: string;
  /** For `enum`: the names of the values, by number. */
  readonly enumValues?: readonly string[];
}

/**
 * A message type: its name and its fields.
 *
 * @example
 * ```ts
 * const spec: MessageSpec = message('JWTSVID', [{ name: 'spiffe_id', no: 1, type: 'string' }]);
 * ```
 * @internal
 */
export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly byNumber: ReadonlyMap<number, FieldSpec>;
}

function message(name: string, fields: FieldSpec[]): MessageSpec {
  return { name, fields, byNumber: new Map(fields.map((f) => [f.no, f])) };
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
/** Deeper nesting than this (Struct in Struct in ...) is refused, as protobuf runtimes do. */
const MAX_DEPTH = 100;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** The wire type of a value of `type` (a map field's entries are always length-delimited). */
function wireTypeOf(type: FieldSpec['type']): number {
  if (type === 'double') return WIRE_FIXED64;
  if (type === 'bool' || type === 'enum') return WIRE_VARINT;
  return WIRE_LEN;
}

// ---------------------------------------------------------------------------------------------
// The message types.

const NULL_VALUE_NAMES = ['NULL_VALUE'] as const;

const VALUE: MessageSpec = message('google.protobuf.Value', [
  { name: 'nullValue', no: 1, type: 'enum', oneof: 'kind', alias: 'null_value', enumValues: NULL_VALUE_NAMES },
  { name: 'numberValue', no: 2, type: 'double', oneof: 'kind', alias: 'number_value' },
  { name: 'stringValue', no: 3, type: 'string', oneof: 'kind', alias: 'string_value' },
  { name: 'boolValue', no: 4, type: 'bool', oneof: 'kind', alias: 'bool_value' },
  { name: 'structValue', no: 5, type: 'message', message: () => STRUCT, oneof: 'kind', alias: 'struct_value' },
  { name: 'listValue', no: 6, type: 'message', message: () => LIST_VALUE, oneof: 'kind', alias: 'list_value' },
]);

const STRUCT: MessageSpec = message('google.protobuf.Struct', [
  { name: 'fields', no: 1, type: 'message', map: true, message: () => VALUE },
]);

const LIST_VALUE: MessageSpec = message('google.protobuf.ListValue', [
  { name: 'values', no: 1, type: 'message', repeated: true, message: () => VALUE },
]);

const EMPTY_REQUEST = (name: string): MessageSpec => message(name, []);

const X509_SVID: MessageSpec = message('X509SVID', [
  { name: 'spiffe_id', no: 1, type: 'string' },
  { name: 'x509_svid', no: 2, type: 'bytes' },
  { name: 'x509_svid_key', no: 3, type: 'bytes' },
  { name: 'bundle', no: 4, type: 'bytes' },
  { name: 'hint', no: 5, type: 'string' },
]);

const JWT_SVID: MessageSpec = message('JWTSVID', [
  { name: 'spiffe_id', no: 1, type: 'string' },
  { name: 'svid', no: 2, type: 'string' },
  { name: 'hint', no: 3, type: 'string' },
]);

/**
 * The Workload API message types, by their .proto name.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage(MESSAGES.JWTSVIDRequest, { audience: ['spiffe://example.org/db'] });
 * ```
 * @internal
 */
export const MESSAGES = {
  X509SVIDRequest: EMPTY_REQUEST('X509SVIDRequest'),
  X509SVIDResponse: message('X509SVIDResponse', [
    { name: 'svids', no: 1, type: 'message', repeated: true, message: () => X509_SVID },
    { name: 'crl', no: 2, type: 'bytes', repeated: true },
    { name: 'federated_bundles', no: 3, type: 'bytes', map: true },
  ]),
  X509SVID: X509_SVID,
  X509BundlesRequest: EMPTY_REQUEST('X509BundlesRequest'),
  X509BundlesResponse: message('X509BundlesResponse', [
    { name: 'crl', no: 1, type: 'bytes', repeated: true },
    { name: 'bundles', no: 2, type: 'bytes', map: true },
  ]),
  JWTSVIDRequest: message('JWTSVIDRequest', [
    { name: 'audience', no: 1, type: 'string', repeated: true },
    { name: 'spiffe_id', no: 2, type: 'string' },
  ]),
  JWTSVIDResponse: message('JWTSVIDResponse', [
    { name: 'svids', no: 1, type: 'message', repeated: true, message: () => JWT_SVID },
  ]),
  JWTSVID: JWT_SVID,
  JWTBundlesRequest: EMPTY_REQUEST('JWTBundlesRequest'),
  JWTBundlesResponse: message('JWTBundlesResponse', [{ name: 'bundles', no: 1, type: 'bytes', map: true }]),
  ValidateJWTSVIDRequest: message('ValidateJWTSVIDRequest', [
    { name: 'audience', no: 1, type: 'string' },
    { name: 'svid', no: 2, type: 'string' },
  ]),
  ValidateJWTSVIDResponse: message('ValidateJWTSVIDResponse', [
    { name: 'spiffe_id', no: 1, type: 'string' },
    { name: 'claims', no: 2, type: 'message', message: () => STRUCT },
  ]),
  'google.protobuf.Struct': STRUCT,
  'google.protobuf.Value': VALUE,
  'google.protobuf.ListValue': LIST_VALUE,
} as const satisfies Record<string, MessageSpec>;

/**
 * The name of a message type of {@link MESSAGES}.
 *
 * @example
 * ```ts
 * const name: MessageName = 'X509SVIDResponse';
 * ```
 * @internal
 */
export type MessageName = keyof typeof MESSAGES;

// ---------------------------------------------------------------------------------------------
// Decoding.

class Reader {
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

function setProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  // A map key such as "__proto__" must stay an ordinary property.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function scalarDefault(field: FieldSpec): unknown {
  switch (field.type) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'double':
      return 0;
    case 'bool':
      return false;
    case 'enum':
      return field.enumValues![0];
    case 'message':
      return null;
  }
}

function readScalar(reader: Reader, field: FieldSpec, depth: number): unknown {
  switch (field.type) {
    case 'string':
      return reader.bytes().toString('utf8');
    case 'bytes':
      return reader.bytes();
    case 'double':
      return reader.double();
    case 'bool':
      return reader.varint() !== 0;
    case 'enum': {
      const number = reader.int32();
      return field.enumValues![number] ?? number;
    }
    case 'message': {
      const length = reader.length();
      const start = reader.pos;
      reader.pos += length;
      return decodeRange(field.message!(), reader.buf, start, start + length, depth + 1);
    }
  }
}

function readMapEntry(reader: Reader, field: FieldSpec, depth: number): [string, unknown] {
  const length = reader.length();
  const entry = new Reader(reader.buf, reader.pos, reader.pos + length, `${reader.type}.${field.name} entry`);
  reader.pos += length;
  let key = '';
  let value: unknown;
  while (entry.pos < entry.end) {
    const [no, wireType] = entry.tag();
    if (no === 1 && wireType === WIRE_LEN) key = entry.bytes().toString('utf8');
    else if (no === 2 && wireType === wireTypeOf(field.type)) value = readScalar(entry, field, depth);
    else if (no === 1 || no === 2) entry.fail(`field ${no} has wire type ${wireType}`);
    else entry.skipField(wireType);
  }
  if (value === undefined) {
    value = field.type === 'message' ? decodeRange(field.message!(), Buffer.alloc(0), 0, 0, depth + 1) : scalarDefault(field);
  }
  return [key, value];
}

function decodeRange(spec: MessageSpec, buf: Buffer, start: number, end: number, depth: number): Record<string, unknown> {
  const reader = new Reader(buf, start, end, spec.name);
  if (depth > MAX_DEPTH) reader.fail(`nested more than ${MAX_DEPTH} levels deep`);
  const result: Record<string, unknown> = {};
  for (const field of spec.fields) {
    if (field.oneof) continue;
    result[field.name] = field.map ? {} : field.repeated ? [] : scalarDefault(field);
  }
  const oneofs = new Map<string, [FieldSpec, unknown]>();
  while (reader.pos < reader.end) {
    const [no, wireType] = reader.tag();
    const field = spec.byNumber.get(no);
    if (!field) {
      reader.skipField(wireType);
      continue;
    }
    if (wireType !== (field.map ? WIRE_LEN : wireTypeOf(field.type))) reader.fail(`field ${field.name} (${no}) has wire type ${wireType}`);
    if (field.map) {
      const [key, value] = readMapEntry(reader, field, depth);
      setProperty(result[field.name] as Record<string, unknown>, key, value);
    } else if (field.repeated) {
      (result[field.name] as unknown[]).push(readScalar(reader, field, depth));
    } else if (field.oneof) {
      oneofs.set(field.oneof, [field, readScalar(reader, field, depth)]);
    } else {
      result[field.name] = readScalar(reader, field, depth);
    }
  }
  for (const [oneof, [field, value]] of oneofs) {
    result[field.name] = value;
    result[oneof] = field.name;
  }
  return result;
}

/**
 * Decodes one message of type `spec` from its wire form.
 *
 * @throws {WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE` when the bytes are truncated or malformed.
 * @example
 * ```ts
 * const response = decodeMessage(MESSAGES.X509SVIDResponse, buffer);
 * ```
 * @internal
 */
export function decodeMessage(spec: MessageSpec, bytes: Uint8Array): Record<string, unknown> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeRange(spec, buf, 0, buf.length, 0);
}

// ---------------------------------------------------------------------------------------------
// Encoding.

class Writer {
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

function encodeFailure(spec: MessageSpec, field: FieldSpec, what: string): TypeError {
  return new TypeError(`workloadapi: cannot encode ${spec.name}.${field.name}: ${what}`);
}

function toBytes(spec: MessageSpec, field: FieldSpec, value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  if (Array.isArray(value)) return Buffer.from(value as number[]);
  throw encodeFailure(spec, field, 'expected a Uint8Array or a base64 string');
}

function toEnumNumber(spec: MessageSpec, field: FieldSpec, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value | 0;
  const index = typeof value === 'string' ? field.enumValues!.indexOf(value) : -1;
  if (index < 0) throw encodeFailure(spec, field, `unknown enum value ${String(value)}`);
  return index;
}

/** Writes one value; `always` writes proto3 default values too (oneof members, map entries). */
function writeValue(writer: Writer, spec: MessageSpec, field: FieldSpec, no: number, value: unknown, always: boolean, depth: number): void {
  switch (field.type) {
    case 'string': {
      const text = typeof value === 'string' ? value : String(value);
      if (always || text !== '') writer.lengthDelimited(no, Buffer.from(text, 'utf8'));
      return;
    }
    case 'bytes': {
      const bytes = toBytes(spec, field, value);
      if (always || bytes.length > 0) writer.lengthDelimited(no, bytes);
      return;
    }
    case 'double': {
      const number = Number(value);
      if (always || number !== 0 || Object.is(number, -0)) {
        writer.tag(no, WIRE_FIXED64);
        const payload = Buffer.alloc(8);
        payload.writeDoubleLE(number);
        writer.push(payload);
      }
      return;
    }
    case 'bool': {
      const flag = Boolean(value);
      if (always || flag) {
        writer.tag(no, WIRE_VARINT);
        writer.varint(flag ? 1 : 0);
      }
      return;
    }
    case 'enum': {
      const number = toEnumNumber(spec, field, value);
      if (always || number !== 0) {
        writer.tag(no, WIRE_VARINT);
        if (number >= 0) writer.varint(number);
        else writer.negativeVarint(number);
      }
      return;
    }
    case 'message':
      writer.lengthDelimited(no, encodeObject(field.message!(), value ?? {}, depth + 1));
      return;
  }
}

function fieldValue(object: Record<string, unknown>, field: FieldSpec): unknown {
  const value = object[field.name];
  if ((value === undefined || value === null) && field.alias !== undefined) return object[field.alias];
  return value;
}

function encodeObject(spec: MessageSpec, value: unknown, depth: number): Buffer {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`workloadapi: cannot encode ${spec.name}: expected an object`);
  }
  if (depth > MAX_DEPTH) throw new TypeError(`workloadapi: cannot encode ${spec.name}: nested more than ${MAX_DEPTH} levels deep`);
  const object = value as Record<string, unknown>;
  const writer = new Writer();
  // Of the members of a oneof, only the last one set (in field order) goes on the wire: that
  // is the one a decoder keeps.
  const oneofChoice = new Map<string, FieldSpec>();
  for (const field of spec.fields) {
    if (field.oneof && fieldValue(object, field) != null) oneofChoice.set(field.oneof, field);
  }
  for (const field of spec.fields) {
    const v = fieldValue(object, field);
    if (v === undefined || v === null) continue;
    if (field.map) {
      if (typeof v !== 'object' || Array.isArray(v)) throw encodeFailure(spec, field, 'expected an object');
      for (const [key, entryValue] of Object.entries(v as Record<string, unknown>)) {
        const entry = new Writer();
        entry.lengthDelimited(1, Buffer.from(key, 'utf8'));
        writeValue(entry, spec, field, 2, field.type === 'message' ? (entryValue ?? {}) : entryValue, true, depth);
        writer.lengthDelimited(field.no, entry.finish());
      }
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw encodeFailure(spec, field, 'expected an array');
      for (const element of v) writeValue(writer, spec, field, field.no, element ?? (field.type === 'message' ? {} : ''), true, depth);
    } else if (field.oneof) {
      if (oneofChoice.get(field.oneof) === field) writeValue(writer, spec, field, field.no, v, true, depth);
    } else {
      writeValue(writer, spec, field, field.no, v, field.type === 'message', depth);
    }
  }
  return writer.finish();
}

/**
 * Encodes one message of type `spec`. Accepts the decoded shape (and missing fields, `null`
 * messages, `Uint8Array` or base64 strings for `bytes`); proto3 default values are left off.
 *
 * @throws {TypeError} when a field has a value of the wrong kind.
 * @example
 * ```ts
 * const bytes = encodeMessage(MESSAGES.ValidateJWTSVIDRequest, { audience: 'spiffe://example.org/db', svid: token });
 * ```
 * @internal
 */
export function encodeMessage(spec: MessageSpec, value: unknown): Buffer {
  return encodeObject(spec, value, 0);
}
