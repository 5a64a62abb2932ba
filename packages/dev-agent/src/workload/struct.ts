/**
 * JSON values as `google.protobuf.Struct` messages, for the claims of `ValidateJWTSVIDResponse`.
 * The field names are camelCase: @grpc/proto-loader takes the well-known types from protobufjs's
 * bundled definitions, which name them so even with `keepCase: true` (the wire is the same).
 *
 * @module
 */

/** A `google.protobuf.Value`. */
export type ProtoValue =
  | { nullValue: 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: ProtoStruct }
  | { listValue: { values: ProtoValue[] } };

/** A `google.protobuf.Struct`. */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

/**
 * Converts a JSON value into a `google.protobuf.Value`.
 *
 * @example
 * ```ts
 * toProtoValue(['a', 1]); // { listValue: { values: [{ stringValue: 'a' }, { numberValue: 1 }] } }
 * ```
 */
function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  if (typeof value === 'object') return { structValue: toProtoStruct(value as Record<string, unknown>) };
  // Objects returned above: what is left is a bigint, a symbol or a function.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return { stringValue: String(value) };
}

/**
 * Converts a JSON object into a `google.protobuf.Struct`.
 *
 * @example
 * ```ts
 * toProtoStruct({ sub: 'spiffe://example.org/web' }); // { fields: { sub: { stringValue: '...' } } }
 * ```
 */
export function toProtoStruct(object: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) fields[key] = toProtoValue(value);
  return { fields };
}
