/**
 * The Workload API's message types (`proto/workload.proto`, and the `google.protobuf.Struct`
 * family it imports), described for the codec of `protobuf-codec.ts`: names, field numbers and
 * types, as the .proto declares them.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { message, type MessageSpec } from './protobuf-codec.js';

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
  JWTSVIDResponse: message('JWTSVIDResponse', [{ name: 'svids', no: 1, type: 'message', repeated: true, message: () => JWT_SVID }]),
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
