/**
 * SPIFFE IDs and trust domains.
 *
 * @module
 */
export { SpiffeId } from './spiffe-id.js';
export { TrustDomain } from './trust-domain.js';
export { MAX_ID_LENGTH, MAX_TRUST_DOMAIN_LENGTH } from './parse.js';
