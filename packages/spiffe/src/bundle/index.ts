/**
 * Trust bundles: the CA certificates ({@link X509Bundle}) and JWT signing keys
 * ({@link JwtBundle}) of a trust domain, both together in the SPIFFE bundle format
 * ({@link SpiffeBundle}), and sets of them for several trust domains.
 *
 * @module
 */
export { X509Bundle } from './x509-bundle.js';
export { X509BundleSet } from './x509-bundle-set.js';
export { JwtBundle } from './jwt-bundle.js';
export { JwtBundleSet } from './jwt-bundle-set.js';
export { SpiffeBundle } from './spiffe-bundle.js';
export type { SpiffeBundleInit } from './spiffe-bundle.js';
export { SpiffeBundleSet } from './spiffe-bundle-set.js';
export type { X509BundleSource, JwtBundleSource } from './source.js';
