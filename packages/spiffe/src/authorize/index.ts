/**
 * Authorizers: decide, after authentication, which peer SPIFFE IDs may connect.
 *
 * @module
 */
export { authorizeAny, authorizeId, authorizeOneOf, authorizeMemberOf, authorizeMatch } from './authorizer.js';
export type { Authorizer } from './authorizer.js';
