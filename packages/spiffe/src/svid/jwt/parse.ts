import { verify as cryptoVerify } from 'node:crypto';
import { BundleError, JwtSvidError, SpiffeIdError, type JwtSvidErrorCode } from '../../errors.js';
import { SpiffeId } from '../../spiffeid/index.js';
import { JwtBundle, jwtAuthorityEntriesFor, jwtAuthorityEntry, jwtBundleKeysVersion } from '../../bundle/jwt-bundle.js';
import type { JwtBundleSource } from '../../bundle/source.js';
import {
  JWT_SVID_ALGORITHMS,
  hashOf,
  isJwtSvidAlgorithm,
  signatureLengthOf,
  type JwtAuthorityEntry,
  type JwtSvidAlgorithm,
} from './algorithms.js';
import { JwtSvid } from './jwt-svid.js';

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

const BASE64URL_PART = /^[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALLOWED_ALGS_TEXT = JWT_SVID_ALGORITHMS.join(', ');

function fail(code: JwtSvidErrorCode, message: string, cause?: unknown): JwtSvidError {
  return new JwtSvidError(code, `jwtsvid: ${message}`, cause === undefined ? undefined : { cause });
}

/** A token split, decoded and checked for shape, but not verified. */
interface DecodedJwtSvid {
  token: string;
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string;
  signaturePart: string;
  alg: JwtSvidAlgorithm;
  kid: string | undefined;
  claims: Record<string, unknown>;
  id: SpiffeId;
  audience: string[];
  exp: number;
  nbf: number | undefined;
  iat: number | undefined;
}

/**
 * Checks that `part` is canonical unpadded base64url: only the alphabet, a length that is not
 * 1 mod 4, and no stray bits in the last character (so each token has exactly one spelling).
 */
function isCanonicalBase64url(part: string): boolean {
  if (!BASE64URL_PART.test(part)) return false;
  const rem = part.length & 3;
  if (rem === 0) return true;
  if (rem === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(part[part.length - 1] as string);
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0;
}

function checkPart(part: string, name: 'header' | 'payload' | 'signature'): void {
  if (!isCanonicalBase64url(part)) {
    throw fail(
      'ERR_JWTSVID_MALFORMED',
      part === '' ? `token ${name} is empty` : `token ${name} is not canonical unpadded base64url`,
    );
  }
}

function decodeJsonObject(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    throw fail('ERR_JWTSVID_MALFORMED', `token ${what} is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('ERR_JWTSVID_MALFORMED', `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

function formatTime(seconds: number): string {
  const ms = seconds * 1000;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${seconds} s since the epoch`;
}

function checkAudiences(audiences: unknown, where: string): asserts audiences is readonly string[] {
  if (!Array.isArray(audiences)) {
    throw new TypeError(`${where}: expected the audiences as an array of strings`);
  }
  if (audiences.length === 0) {
    throw new TypeError(
      `${where}: the list of expected audiences is empty; name at least one audience this validator accepts`,
    );
  }
  for (const a of audiences) {
    if (typeof a !== 'string' || a === '') {
      throw new TypeError(`${where}: every expected audience must be a non-empty string`);
    }
  }
}

interface Clock {
  nowSeconds: number;
  skew: number;
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

/** Splits, decodes and checks the header and the shape of the claims. Verifies nothing. */
function decode(token: string): DecodedJwtSvid {
  const c0 = token.charCodeAt(0);
  if ((c0 === 0x7b || c0 <= 0x20) && token.trimStart().startsWith('{')) {
    throw fail(
      'ERR_JWTSVID_MALFORMED',
      'token uses the JWS JSON serialization; a JWT-SVID must use the compact serialization (header.payload.signature)',
    );
  }
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    const parts = token === '' ? 0 : token.split('.').length;
    throw fail(
      'ERR_JWTSVID_MALFORMED',
      `token is not a compact JWS: expected 3 dot-separated parts (header.payload.signature), found ${parts}`,
    );
  }
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  const signaturePart = token.slice(second + 1);
  checkPart(headerPart, 'header');
  const header = decodeJsonObject(headerPart, 'header');
  const alg = header['alg'];
  if (!isJwtSvidAlgorithm(alg)) {
    throw fail(
      'ERR_JWTSVID_UNSUPPORTED_ALG',
      `unsupported token signature algorithm ${describeValue(alg)}; a JWT-SVID must be signed with one of ${ALLOWED_ALGS_TEXT}`,
    );
  }
  const typ = header['typ'];
  if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') {
    throw fail(
      'ERR_JWTSVID_INVALID_HEADER',
      `token header has an unsupported type ${describeValue(typ)}; "typ" must be "JWT" or "JOSE" when present`,
    );
  }
  if (Object.hasOwn(header, 'crit')) {
    throw fail(
      'ERR_JWTSVID_INVALID_HEADER',
      `token header lists critical extensions this validator does not understand ("crit": ${describeValue(header['crit'])})`,
    );
  }
  if (Object.hasOwn(header, 'b64')) {
    throw fail(
      'ERR_JWTSVID_INVALID_HEADER',
      'token header has the "b64" parameter (RFC 7797 unencoded payload), which JWT-SVIDs do not use',
    );
  }
  const kid = header['kid'];
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw fail('ERR_JWTSVID_INVALID_HEADER', `token header "kid" must be a non-empty string, got ${describeValue(kid)}`);
  }

  checkPart(payloadPart, 'payload');
  checkPart(signaturePart, 'signature');
  const claims = decodeJsonObject(payloadPart, 'payload');
  const sub = claims['sub'];
  if (typeof sub !== 'string') {
    throw fail(
      'ERR_JWTSVID_INVALID_CLAIMS',
      sub === undefined ? 'token has no "sub" claim; a JWT-SVID names its SPIFFE ID in "sub"' : `token "sub" claim must be a string, got ${describeValue(sub)}`,
    );
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.fromString(sub);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw fail('ERR_JWTSVID_INVALID_CLAIMS', `token "sub" claim ${describeValue(sub)} is not a valid SPIFFE ID: ${err.message}`, err);
  }
  const aud = claims['aud'];
  let audience: string[];
  if (typeof aud === 'string') {
    audience = [aud];
  } else if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string')) {
    audience = aud;
  } else {
    throw fail(
      'ERR_JWTSVID_INVALID_CLAIMS',
      aud === undefined
        ? 'token has no "aud" claim; a JWT-SVID names its audience'
        : `token "aud" claim must be a string or a non-empty array of strings, got ${describeValue(aud)}`,
    );
  }
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw fail(
      'ERR_JWTSVID_INVALID_CLAIMS',
      exp === undefined ? 'token has no "exp" claim; a JWT-SVID must expire' : `token "exp" claim must be a number (seconds since the epoch), got ${describeValue(exp)}`,
    );
  }
  const nbf = numericClaim(claims, 'nbf');
  const iat = numericClaim(claims, 'iat');
  return {
    token,
    signingInput: token.slice(0, second),
    signaturePart,
    alg,
    kid,
    claims,
    id,
    audience,
    exp,
    nbf,
    iat,
  };
}

function numericClaim(claims: Record<string, unknown>, name: 'nbf' | 'iat'): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw fail('ERR_JWTSVID_INVALID_CLAIMS', `token "${name}" claim must be a number (seconds since the epoch), got ${describeValue(value)}`);
  }
  return value;
}

/** Checks `exp`, `nbf`, `iat` against the clock, then the audience. */
function checkTimeAndAudience(decoded: DecodedJwtSvid, audiences: readonly string[], clock: Clock): void {
  const { nowSeconds, skew } = clock;
  if (nowSeconds >= decoded.exp + skew) {
    throw fail(
      'ERR_JWTSVID_EXPIRED',
      `token has expired (exp ${formatTime(decoded.exp)}, now ${formatTime(nowSeconds)})`,
    );
  }
  if (decoded.nbf !== undefined && nowSeconds + skew < decoded.nbf) {
    throw fail(
      'ERR_JWTSVID_NOT_YET_VALID',
      `token is not valid yet (nbf ${formatTime(decoded.nbf)}, now ${formatTime(nowSeconds)})`,
    );
  }
  if (decoded.iat !== undefined && nowSeconds + skew < decoded.iat) {
    throw fail(
      'ERR_JWTSVID_NOT_YET_VALID',
      `token was issued in the future (iat ${formatTime(decoded.iat)}, now ${formatTime(nowSeconds)})`,
    );
  }
  const audience = decoded.audience;
  for (const expected of audiences) {
    if (audience.includes(expected)) return;
  }
  throw fail(
    'ERR_JWTSVID_AUDIENCE',
    `expected audience in ${JSON.stringify(audiences)} (audience=${JSON.stringify(audience)})`,
  );
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

function verifyWith(entry: JwtAuthorityEntry, decoded: DecodedJwtSvid, data: Buffer, signature: Buffer): boolean {
  const verifyKey = entry.verifiers.get(decoded.alg);
  if (verifyKey === undefined) return false;
  try {
    return cryptoVerify(hashOf(decoded.alg), data, verifyKey, signature);
  } catch {
    return false;
  }
}

function lookUpBundle(source: JwtBundleSource, decoded: DecodedJwtSvid): JwtBundle {
  const td = decoded.id.trustDomain;
  let bundle: unknown;
  try {
    bundle = source.getJwtBundleForTrustDomain(td);
  } catch (err) {
    if (err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND') {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `jwtsvid: no JWT bundle for trust domain "${td.name}" (the token's subject is ${decoded.id.toString()})`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!(bundle instanceof JwtBundle)) {
    throw new TypeError('parseAndValidateJwtSvid: the bundle source returned something that is not a JwtBundle');
  }
  if (!bundle.trustDomain.equals(td)) {
    throw new BundleError(
      'ERR_BUNDLE_NOT_FOUND',
      `jwtsvid: the bundle source returned the bundle of trust domain "${bundle.trustDomain.name}" when asked for "${td.name}"`,
    );
  }
  return bundle;
}

/** Finds the key(s) of the subject's own trust domain and checks the signature. */
function verifySignature(source: JwtBundleSource, decoded: DecodedJwtSvid): void {
  const bundle = lookUpBundle(source, decoded);
  let verified = verifiedTokens.get(bundle);
  if (verified === undefined || verified.keysVersion !== jwtBundleKeysVersion(bundle)) {
    verified = { keysVersion: jwtBundleKeysVersion(bundle), tokens: new Set() };
    verifiedTokens.set(bundle, verified);
  } else if (verified.tokens.has(decoded.token)) {
    return;
  }
  checkKeyAndSignature(bundle, decoded);
  remember(verified.tokens, decoded.token);
}

/** How many verified tokens are remembered per bundle (the oldest is forgotten first). */
const VERIFIED_TOKENS_MAX = 1024;
/** Tokens longer than this are never remembered. */
const VERIFIED_TOKEN_MAX_LENGTH = 16 * 1024;

/**
 * Per bundle, the exact token strings whose signature verified with the bundle's keys as they
 * were at `keysVersion`. Module-private: nothing outside this module can mark a token verified.
 */
const verifiedTokens = new WeakMap<JwtBundle, { keysVersion: number; tokens: Set<string> }>();

function remember(tokens: Set<string>, token: string): void {
  if (token.length > VERIFIED_TOKEN_MAX_LENGTH) return;
  if (tokens.size >= VERIFIED_TOKENS_MAX) {
    const oldest = tokens.values().next().value;
    if (oldest !== undefined) tokens.delete(oldest);
  }
  tokens.add(token);
}

function checkKeyAndSignature(bundle: JwtBundle, decoded: DecodedJwtSvid): void {
  const td = bundle.trustDomain.name;
  const { alg, kid } = decoded;
  const signature = Buffer.from(decoded.signaturePart, 'base64url');
  const expectedLength = signatureLengthOf(alg);
  const data = Buffer.from(decoded.signingInput, 'latin1');
  if (kid !== undefined) {
    const entry = jwtAuthorityEntry(bundle, kid);
    if (entry === undefined) {
      throw fail('ERR_JWTSVID_KEY_NOT_FOUND', `no JWT authority ${JSON.stringify(kid)} found for trust domain "${td}"`);
    }
    if (!entry.verifiers.has(alg)) {
      throw fail(
        'ERR_JWTSVID_UNSUPPORTED_ALG',
        `token algorithm ${alg} does not fit JWT authority ${JSON.stringify(kid)} of trust domain "${td}" (${entry.description}${entry.jwkAlg === undefined ? '' : `, published for ${entry.jwkAlg}`})`,
      );
    }
    if ((expectedLength !== undefined && signature.length !== expectedLength) || !verifyWith(entry, decoded, data, signature)) {
      throw fail('ERR_JWTSVID_SIGNATURE', `token signature does not verify with JWT authority ${JSON.stringify(kid)} of trust domain "${td}"`);
    }
    return;
  }
  const candidates = jwtAuthorityEntriesFor(bundle, alg);
  if (candidates.length === 0) {
    throw fail(
      'ERR_JWTSVID_KEY_NOT_FOUND',
      `token has no "kid" and no JWT authority of trust domain "${td}" fits algorithm ${alg}`,
    );
  }
  if (expectedLength === undefined || signature.length === expectedLength) {
    for (const entry of candidates) {
      if (verifyWith(entry, decoded, data, signature)) return;
    }
  }
  throw fail(
    'ERR_JWTSVID_SIGNATURE',
    `token has no "kid" and its signature verifies with none of the ${candidates.length} ${alg} JWT authorities of trust domain "${td}"`,
  );
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
  if (
    typeof jwtBundleSource !== 'object' ||
    jwtBundleSource === null ||
    typeof jwtBundleSource.getJwtBundleForTrustDomain !== 'function'
  ) {
    throw new TypeError(`${where}: expected a JwtBundleSource (a JwtBundle, JwtBundleSet, SpiffeBundle or source)`);
  }
  checkAudiences(audiences, where);
  const clock = checkOptions(options, where);
  const decoded = decode(token);
  verifySignature(jwtBundleSource, decoded);
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
export function parseInsecureJwtSvid(
  token: string,
  audiences: string[],
  options?: JwtSvidParseOptions,
): JwtSvid {
  const where = 'parseInsecureJwtSvid';
  if (typeof token !== 'string') throw new TypeError(`${where}: expected the token as a string`);
  checkAudiences(audiences, where);
  const clock = checkOptions(options, where);
  const hint = options?.hint;
  if (hint !== undefined && typeof hint !== 'string') {
    throw new TypeError(`${where}: options.hint must be a string`);
  }
  const decoded = decode(token);
  checkTimeAndAudience(decoded, audiences, clock);
  return toSvid(decoded, hint);
}
