/**
 * gRPC (`@grpc/grpc-js`) with SPIFFE: channel credentials for clients, server credentials for
 * servers, and the client's SPIFFE ID inside a call.
 *
 * This entry point is the only one whose types import `@grpc/grpc-js` (an optional peer
 * dependency: `npm install @grpc/grpc-js`, >= 1.14). The package is loaded when one of the
 * credentials functions is first called, never by importing this module.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grpcChannelCredentials } from '@spiffe-node/spiffe/grpc';
 * const credentials = grpcChannelCredentials({ svidSource: source, bundleSource: source, authorizer });
 * ```
 *
 * @module
 */
export { grpcChannelCredentials, grpcServerCredentials, peerIdFromGrpcCall } from '../tls/grpc.js';
export type { GrpcServerCredentialsOptions } from '../tls/grpc.js';
