/**
 * JWT-SVIDs: parsing and validating SPIFFE identity tokens, and the interface of anything that
 * mints them.
 *
 * @module
 */
export { JwtSvid, type JwtSvidFields } from './jwt-svid.js';
export { parseAndValidateJwtSvid, parseInsecureJwtSvid, type JwtSvidValidationOptions, type JwtSvidParseOptions } from './parse.js';
export type { JwtSvidSource, JwtSvidParams } from './source.js';
