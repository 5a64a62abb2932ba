/**
 * Minting and validation of JWT-SVIDs. Minted tokens are ES256 with `kid` and `typ: JWT` in the
 * header and the claims `sub`, `aud`, `exp`, `iat`. Validation follows the JWT-SVID
 * specification: an allowed algorithm that fits the key, the key of the subject's own trust
 * domain, `sub`/`aud`/`exp` present, `exp`/`nbf` honoured, and the audience among `aud`.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { SpiffeId } from '@spiffe-node/spiffe/spiffeid';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { JwtKey } from '../ca/jwt-key.js';
import { goQuoteList } from './go-quote.js';

const ALLOWED_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/**
 * Mints a JWT-SVID. Its expiry never passes the signing key's.
 *
 * @example
 * ```ts
 * const token = await mintJwtSvid({ spiffeId: 'spiffe://example.org/web', audience: ['api'], ttlSeconds: 300, key });
 * ```
 */
export async function mintJwtSvid(params: {
  spiffeId: string;
  audience: readonly string[];
  ttlSeconds: number;
  key: JwtKey;
  now?: number;
}): Promise<{ token: string; issuedAt: Date; expiresAt: Date }> {
  const now = params.now ?? Date.now();
  const iat = Math.floor(now / 1000);
  const exp = Math.min(iat + params.ttlSeconds, Math.floor(params.key.notAfter.getTime() / 1000));
  const token = await new SignJWT({ aud: [...params.audience] })
    .setProtectedHeader({ alg: 'ES256', kid: params.key.id, typ: 'JWT' })
    .setSubject(params.spiffeId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(params.key.privateKey);
  return { token, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}

/** A JWT-SVID that failed validation; the message is the reason. */
export class JwtSvidValidationError extends Error {
  override name = 'JwtSvidValidationError';
}

/**
 * Validates a JWT-SVID against the JWT keys of the subject's trust domain (`keysByTrustDomain`
 * maps trust domain names to `kid` → public key).
 *
 * @throws {@link JwtSvidValidationError} with the reason.
 * @example
 * ```ts
 * const { spiffeId, claims } = await validateJwtSvid(token, 'api', new Map([['example.org', keys]]));
 * ```
 */
export async function validateJwtSvid(
  token: string,
  audience: string,
  keysByTrustDomain: ReadonlyMap<string, ReadonlyMap<string, KeyObject>>,
): Promise<{ spiffeId: string; claims: JWTPayload }> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch {
    throw new JwtSvidValidationError('token is malformed: not a compact JWS with a JSON header and claims');
  }
  const alg = header.alg ?? '';
  if (!ALLOWED_ALGS.includes(alg)) throw new JwtSvidValidationError(`unsupported token signature algorithm "${alg}"`);
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    throw new JwtSvidValidationError(`token header "typ" must be "JWT" or "JOSE", got "${String(header.typ)}"`);
  }
  if (header.crit !== undefined) {
    throw new JwtSvidValidationError(
      `token header lists critical parameters this validator does not understand: ${JSON.stringify(header.crit)}`,
    );
  }
  if (typeof unverified.sub !== 'string') throw new JwtSvidValidationError('token has no subject claim');
  let subject: SpiffeId;
  try {
    subject = SpiffeId.fromString(unverified.sub);
  } catch (err) {
    throw new JwtSvidValidationError(`token subject "${unverified.sub}" is not a SPIFFE ID: ${(err as Error).message}`);
  }
  const td = subject.trustDomain.name;
  const keys = keysByTrustDomain.get(td);
  if (keys === undefined) throw new JwtSvidValidationError(`no keys found for trust domain "${td}"`);
  let candidates: KeyObject[];
  if (header.kid !== undefined) {
    const key = keys.get(header.kid);
    if (key === undefined) throw new JwtSvidValidationError(`no key found for key ID "${header.kid}" in trust domain "${td}"`);
    candidates = [key];
  } else {
    candidates = [...keys.values()];
  }
  let lastError: unknown = new JwtSvidValidationError(`no keys found for trust domain "${td}"`);
  for (const key of candidates) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        audience,
        requiredClaims: ['sub', 'aud', 'exp'],
      });
      return { spiffeId: subject.toString(), claims: payload };
    } catch (err) {
      lastError = err;
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JOSEAlgNotAllowed)) break;
    }
  }
  throw new JwtSvidValidationError(reason(lastError, audience, unverified));
}

/**
 * SPIRE's message for a token without the expected audience, Go-quoted as SPIRE prints it:
 * `expected audience in ["<expected>"] (audience=["<aud>" "<aud>"])`.
 */
function audienceMismatch(expected: string, aud: unknown): string {
  const have = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  return `expected audience in ${goQuoteList([expected])} (audience=${goQuoteList(have)})`;
}

function reason(err: unknown, audience: string, claims: JWTPayload): string {
  if (err instanceof JwtSvidValidationError) return err.message;
  if (err instanceof joseErrors.JWTExpired) return 'token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return audienceMismatch(audience, claims.aud);
    if (err.claim === 'nbf') return 'token is not yet valid';
    return `token claim "${err.claim}" is invalid: ${err.reason}`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported || err instanceof TypeError) {
    return 'token signature algorithm does not fit the key';
  }
  if (err instanceof joseErrors.JOSEError) return `token is invalid: ${err.message}`;
  return `token is invalid: ${(err as Error).message}`;
}
