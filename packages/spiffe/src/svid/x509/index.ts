/**
 * X509-SVIDs: parsing a workload's own SVID ({@link X509Svid}) and verifying a peer's
 * ({@link parseAndVerifyX509Svid}).
 *
 * @module
 */
export { X509Svid } from './x509-svid.js';
export { parseAndVerifyX509Svid } from './verify.js';
export type { VerifyX509SvidOptions, VerifiedX509Svid } from './verify.js';
export type { X509SvidSource } from './source.js';
