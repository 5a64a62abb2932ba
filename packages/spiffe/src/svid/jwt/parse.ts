/**
 * The two ways to read a JWT-SVID: {@link parseAndValidateJwtSvid} (decode, find the bundle of
 * the subject's trust domain, verify the signature, check the clock and the audience) and
 * {@link parseInsecureJwtSvid} (everything but the bundle and the signature). This module checks
 * their arguments and runs the steps, each in its own module: `decode.ts`, `claims.ts`,
 * `bundle-lookup.ts`, `signature.ts` and `verified-tokens.ts`.
 *
 * @module
 */
import type { JwtBundleSource } from '../../bundle/source.js';
import { lookUpBundle } from './bundle-lookup.js';
import { checkTimeAndAudience, type Clock } from './claims.js';
import { decodeJwtSvid, type DecodedJwtSvid } from './decode.js';
import { JwtSvid } from './jwt-svid.js';
import { verifySignature } from './verified-tokens.js';

/**
 * Options of {@link parseAndValidateJwtSvid} and {@link parseInsecureJwtSvid}.
 *
 * @example
 * ```ts
 * const options: JwtSvidValidationOptions = { clockSkewSeconds: 30 };
 * ```
 */
export interface JwtSvidValidationOptions {
  /** The time to validate `exp`, `nbf` and `iat` against; now when absent. */
  time?: Date;
  /**
   * How many seconds of clock difference to tolerate on `exp`, `nbf` and `iat`. Default `0`:
   * a token is accepted only while `nbf <= now < exp`.
   */
  clockSkewSeconds?: number;
}

/**
 * Options of {@link parseInsecureJwtSvid}.
 *
 * @example
 * ```ts
 * const svid = parseInsecureJwtSvid(token, [audience], { hint: response.hint });
 * ```
 */
export interface JwtSvidParseOptions extends JwtSvidValidationOptions {
  /** The hint to record in {@link JwtSvid.hint} (as delivered by the Workload API). */
  hint?: string;
}

function checkAudiences(audiences: unknown, where: string): asserts audiences is readonly string[] {
  if (!Array.isArray(audiences)) {
    throw new TypeError(`${where}: expected the audiences as an array of strings`);
  }
  if (audiences.length === 0) {
    throw new TypeError(`${where}: the list of expected audiences is empty; name at least one audience this validator accepts`);
  }
  for (const a of audiences) {
    if (typeof a !== 'string' || a === '') {
      throw new TypeError(`${where}: every expected audience must be a non-empty string`);
    }
  }
}

function checkOptions(options: unknown, where: string): Clock {
  if (options === undefined) return { nowSeconds: Date.now() / 1000, skew: 0 };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: expected the options as an object`);
  }
  const { time, clockSkewSeconds } = options as JwtSvidValidationOptions;
  let nowMs: number;
  if (time === undefined) {
    nowMs = Date.now();
  } else if (time instanceof Date && !Number.isNaN(time.getTime())) {
    nowMs = time.getTime();
  } else {
    throw new TypeError(`${where}: options.time must be a valid Date`);
  }
  let skew = 0;
  if (clockSkewSeconds !== undefined) {
    if (typeof clockSkewSeconds !== 'number' || !Number.isFinite(clockSkewSeconds) || clockSkewSeconds < 0) {
      throw new TypeError(`${where}: options.clockSkewSeconds must be a finite number >= 0`);
    }
    skew = clockSkewSeconds;
  }
  return { nowSeconds: nowMs / 1000, skew };
}

function toSvid(decoded: DecodedJwtSvid, hint: string | undefined): JwtSvid {
  return new JwtSvid({
    id: decoded.id,
    audience: decoded.audience,
    expiry: new Date(decoded.exp * 1000),
    issuedAt: decoded.iat === undefined ? undefined : new Date(decoded.iat * 1000),
    claims: decoded.claims,
    token: decoded.token,
    hint,
  });
}

/**
 * Parses a JWT-SVID and validates it: the signature against the JWT bundle of the trust domain
 * of its own subject (`sub`), the algorithm, the header, the claims, the expiry and the
 * audience. Resolves to the {@link JwtSvid}, or rejects.
 *
 * The rules: compact JWS only; `alg` one of RS256/384/512, ES256/384/512, PS256/384/512 (never
 * `none`, HS* or EdDSA), and it must fit the key (ES256 ↔ P-256, ES384 ↔ P-384, ES512 ↔ P-521,
 * RS/PS ↔ RSA of at least 2048 bits, and the key's published JWK `alg` if it has one); `typ`
 * absent, `JWT` or `JOSE`; no `crit`; with a `kid`, that key of the subject's trust domain
 * verifies; without one, any key of that trust domain that fits `alg` may; `sub` a SPIFFE ID,
 * `aud` a string or non-empty array of strings, `exp` a number and in the future; `nbf` and
 * `iat` numbers not in the future; at least one of `audiences` in `aud`. Keys of other trust
 * domains are never used. No clock skew is allowed unless `options.clockSkewSeconds` says so.
 *
 * The work is synchronous (the promise is settled by the time it is returned to the event loop).
 * The signature check is done with node:crypto on keys imported once by the bundle. For each
 * bundle, the last 1024 tokens whose signature verified are remembered (exact strings; the
 * Workload API hands out the same JWT-SVID for many requests), so a repeated token skips the
 * signature computation; every other check, expiry and audience included, runs on every call,
 * and any change of the bundle's keys forgets the remembered tokens.
 *
 * @param token - the JWT-SVID, compact serialization (`header.payload.signature`).
 * @param jwtBundleSource - where to find the JWT bundle of the token's trust domain.
 * @param audiences - the audiences this validator accepts; at least one.
 * @param options - the time to validate at and the clock skew to allow.
 * @throws {@link JwtSvidError} (rejection) with a code saying what was wrong:
 *   `ERR_JWTSVID_MALFORMED`, `ERR_JWTSVID_UNSUPPORTED_ALG`, `ERR_JWTSVID_INVALID_HEADER`,
 *   `ERR_JWTSVID_INVALID_CLAIMS`, `ERR_BUNDLE_NOT_FOUND`, `ERR_JWTSVID_KEY_NOT_FOUND`,
 *   `ERR_JWTSVID_SIGNATURE`, `ERR_JWTSVID_EXPIRED`, `ERR_JWTSVID_NOT_YET_VALID`,
 *   `ERR_JWTSVID_AUDIENCE`.
 * @throws TypeError (rejection) if `audiences` is empty or an argument has the wrong type.
 * @example
 * ```ts
 * import { parseAndValidateJwtSvid, JwtSvidError } from '@spiffe-node/spiffe';
 * try {
 *   const svid = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/server']);
 *   console.log(`request from ${svid.id}`);
 * } catch (err) {
 *   if (err instanceof JwtSvidError) res.status(401).end(); else throw err;
 * }
 * ```
 */
export async function parseAndValidateJwtSvid(
  token: string,
  jwtBundleSource: JwtBundleSource,
  audiences: string[],
  options?: JwtSvidValidationOptions,
): Promise<JwtSvid> {
  const where = 'parseAndValidateJwtSvid';
  if (typeof token !== 'string') throw new TypeError(`${where}: expected the token as a string`);
  if (typeof jwtBundleSource !== 'object' || jwtBundleSource === null || typeof jwtBundleSource.getJwtBundleForTrustDomain !== 'function') {
    throw new TypeError(`${where}: expected a JwtBundleSource (a JwtBundle, JwtBundleSet, SpiffeBundle or source)`);
  }
  checkAudiences(audiences, where);
  const clock = checkOptions(options, where);
  const decoded = decodeJwtSvid(token);
  verifySignature(lookUpBundle(jwtBundleSource, decoded), decoded);
  checkTimeAndAudience(decoded, audiences, clock);
  return toSvid(decoded, undefined);
}

/**
 * **Unsafe: does not check the signature.** Parses a JWT-SVID and checks everything
 * {@link parseAndValidateJwtSvid} checks except the signature and key: the compact form, the
 * algorithm name, the header, the claims, the expiry and the audience.
 *
 * Use it only for a token you obtained yourself from a trusted channel (the Workload API hands
 * your own JWT-SVIDs over it) and want to read. Never use it to authenticate a token someone sent
 * you: anyone can forge a token that this accepts.
 *
 * @param token - the JWT-SVID, compact serialization.
 * @param audiences - the audiences expected; at least one must be in `aud`.
 * @param options - the time to check at, the clock skew to allow, and the hint to record.
 * @throws {@link JwtSvidError} with the same codes as {@link parseAndValidateJwtSvid} (minus the
 *   key and signature ones).
 * @throws TypeError if `audiences` is empty or an argument has the wrong type.
 * @example
 * ```ts
 * import { parseInsecureJwtSvid } from '@spiffe-node/spiffe';
 * // A token this workload fetched for itself from the Workload API:
 * const svid = parseInsecureJwtSvid(response.svid, ['spiffe://example.org/server'], { hint: response.hint });
 * console.log(svid.expiry);
 * ```
 */
export function parseInsecureJwtSvid(token: string, audiences: string[], options?: JwtSvidParseOptions): JwtSvid {
  const where = 'parseInsecureJwtSvid';
  if (typeof token !== 'string') throw new TypeError(`${where}: expected the token as a string`);
  checkAudiences(audiences, where);
  const clock = checkOptions(options, where);
  const hint = options?.hint;
  if (hint !== undefined && typeof hint !== 'string') {
    throw new TypeError(`${where}: options.hint must be a string`);
  }
  const decoded = decodeJwtSvid(token);
  checkTimeAndAudience(decoded, audiences, clock);
  return toSvid(decoded, hint);
}
