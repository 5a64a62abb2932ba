/**
 * `@spiffe-node/spiffe`: SPIFFE workload identity for Node.js.
 *
 * The root entry re-exports the public API of every module that needs no optional package and
 * adds no global type: `/spiffeid`, `/bundle`, `/svid/x509`, `/svid/jwt`, `/authorize`,
 * `/workloadapi`, `/tls`, `/http2`, `/files`, `/errors`, each also its own subpath. The
 * integrations with optional peers are imported from their subpath only:
 * `@spiffe-node/spiffe/undici` (undici), `/grpc` (`@grpc/grpc-js`) and `/express` (which adds
 * `spiffeId` to express's `Express.Request`).
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './spiffeid/index.js';
export * from './bundle/index.js';
export * from './svid/x509/index.js';
export * from './svid/jwt/index.js';
export * from './authorize/index.js';
export * from './workloadapi/index.js';
export * from './tls/index.js';
export * from './http2/index.js';
export * from './files/index.js';
export * from './federation/index.js';
