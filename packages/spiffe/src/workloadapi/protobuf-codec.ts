/**
 * A protobuf codec driven by message descriptions ({@link MessageSpec}): it decodes and
 * encodes any message whose fields are of the scalar types below, nested messages, repeated
 * fields, `map<string, V>` and oneofs, on top of the wire reader and writer of
 * `protobuf-wire.ts`. The message types themselves are described in `schema.ts`.
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
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, WireWriter } from './protobuf-wire.js';

/** The scalar types the codec handles (those the Workload API messages use). */
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

/** A message type named `name` with `fields`, indexed by field number. */
export function message(name: string, fields: FieldSpec[]): MessageSpec {
  return { name, fields, byNumber: new Map(fields.map((f) => [f.no, f])) };
}

/** Deeper nesting than this (Struct in Struct in ...) is refused, as protobuf runtimes do. */
const MAX_DEPTH = 100;

/** The wire type of a value of `type` (a map field's entries are always length-delimited). */
function wireTypeOf(type: FieldSpec['type']): number {
  if (type === 'double') return WIRE_FIXED64;
  if (type === 'bool' || type === 'enum') return WIRE_VARINT;
  return WIRE_LEN;
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

function readScalar(reader: WireReader, field: FieldSpec, depth: number): unknown {
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

function readMapEntry(reader: WireReader, field: FieldSpec, depth: number): [string, unknown] {
  const length = reader.length();
  const entry = new WireReader(reader.buf, reader.pos, reader.pos + length, `${reader.type}.${field.name} entry`);
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
  const reader = new WireReader(buf, start, end, spec.name);
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
function writeValue(
  writer: WireWriter,
  spec: MessageSpec,
  field: FieldSpec,
  no: number,
  value: unknown,
  always: boolean,
  depth: number,
): void {
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
  const writer = new WireWriter();
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
        const entry = new WireWriter();
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
