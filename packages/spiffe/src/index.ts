/**
 * `@spiffe-node/spiffe`: SPIFFE workload identity for Node.js.
 *
 * The root entry re-exports the public API of every module. Each concept also has its own
 * subpath (`@spiffe-node/spiffe/spiffeid`, `/bundle`, `/svid/x509`, `/svid/jwt`, `/authorize`,
 * `/workloadapi`, `/tls`, `/files`, `/errors`).
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
export * from './files/index.js';
export * from './federation/index.js';
