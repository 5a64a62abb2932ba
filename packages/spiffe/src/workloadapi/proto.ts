/**
 * The Workload API service definition for `@grpc/grpc-js` servers (the test fake agent, the dev
 * agent; the client speaks gRPC itself, see `grpc-http2.ts`), built from the hand-written codec of
 * `protobuf-codec.ts` and the message types of `schema.ts` rather than by loading
 * `proto/workload.proto` at run time (the .proto stays the documented source of truth;
 * `protobuf-codec.test.ts` checks the codec and the schema against it).
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from './protobuf-codec.js';
import { MESSAGES, type MessageName } from './schema.js';

/**
 * The path of `workload.proto`. This module lives at `src/workloadapi/` (run through tsx) or
 * `dist/workloadapi/` (built); in both cases the proto directory is two levels up.
 *
 * @example
 * ```ts
 * readFileSync(WORKLOAD_PROTO_PATH, 'utf8');
 * ```
 * @internal
 */
export const WORKLOAD_PROTO_PATH = fileURLToPath(new URL('../../proto/workload.proto', import.meta.url));

/** The methods of `SpiffeWorkloadAPI`: name, request and response types, server streaming. */
const METHODS: ReadonlyArray<
  readonly [name: string, request: MessageName, response: MessageName, streaming: boolean, originalName: string]
> = [
  ['FetchX509SVID', 'X509SVIDRequest', 'X509SVIDResponse', true, 'fetchX509Svid'],
  ['FetchX509Bundles', 'X509BundlesRequest', 'X509BundlesResponse', true, 'fetchX509Bundles'],
  ['FetchJWTSVID', 'JWTSVIDRequest', 'JWTSVIDResponse', false, 'fetchJwtsvid'],
  ['FetchJWTBundles', 'JWTBundlesRequest', 'JWTBundlesResponse', true, 'fetchJwtBundles'],
  ['ValidateJWTSVID', 'ValidateJWTSVIDRequest', 'ValidateJWTSVIDResponse', false, 'validateJwtsvid'],
];

let cached: grpc.ServiceDefinition | undefined;

/**
 * The `SpiffeWorkloadAPI` service definition (methods keyed by name, e.g. `FetchX509SVID`),
 * built once. Messages decode as `@grpc/proto-loader` would with `keepCase` (snake_case fields),
 * `bytes` as `Buffer`, and defaults filled in; malformed messages fail to deserialize.
 *
 * @example
 * ```ts
 * const Client = grpc.makeGenericClientConstructor(workloadServiceDefinition(), 'SpiffeWorkloadAPI');
 * ```
 * @internal
 */
export function workloadServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, request, response, streaming, originalName] of METHODS) {
    const requestSpec = MESSAGES[request];
    const responseSpec = MESSAGES[response];
    definition[name] = {
      path: `/SpiffeWorkloadAPI/${name}`,
      requestStream: false,
      responseStream: streaming,
      requestSerialize: (value: unknown) => encodeMessage(requestSpec, value),
      requestDeserialize: (bytes: Buffer) => decodeMessage(requestSpec, bytes),
      responseSerialize: (value: unknown) => encodeMessage(responseSpec, value),
      responseDeserialize: (bytes: Buffer) => decodeMessage(responseSpec, bytes),
      originalName,
    };
  }
  cached = definition;
  return cached;
}
