/**
 * Loads the Workload API service definition from the `proto/workload.proto` file the package
 * ships.
 *
 * @module
 * @internal
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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

let cached: grpc.ServiceDefinition | undefined;

/**
 * The `SpiffeWorkloadAPI` service definition (methods keyed by name, e.g. `FetchX509SVID`),
 * loaded once. Messages decode with `keepCase` (snake_case fields), `bytes` as `Buffer`, and
 * defaults filled in.
 *
 * @example
 * ```ts
 * const Client = grpc.makeGenericClientConstructor(workloadServiceDefinition(), 'SpiffeWorkloadAPI');
 * ```
 * @internal
 */
export function workloadServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(WORKLOAD_PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = packageDefinition['SpiffeWorkloadAPI'];
  if (!service || !('FetchX509SVID' in service)) {
    throw new Error(`workloadapi: ${WORKLOAD_PROTO_PATH} does not define service SpiffeWorkloadAPI`);
  }
  cached = service as unknown as grpc.ServiceDefinition;
  return cached;
}
