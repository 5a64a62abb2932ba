/**
 * The registered claims of a JWT-SVID: reading `sub`, `aud`, `exp`, `nbf` and `iat` from the
 * payload (each checked for its type), and checking them against the clock and the audiences
 * the validator accepts.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { SpiffeIdError } from '../../errors.js';
import { SpiffeId } from '../../spiffeid/index.js';
import type { DecodedJwtSvid } from './decode.js';
import { describeValue, jwtSvidError } from './errors.js';

/** The instant to validate at and the clock skew to allow, both in seconds. */
export interface Clock {
  nowSeconds: number;
  skew: number;
}

/** `sub`: a SPIFFE ID. */
export function subjectClaim(claims: Record<string, unknown>): SpiffeId {
  const sub = claims['sub'];
  if (typeof sub !== 'string') {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_CLAIMS',
      sub === undefined
        ? 'token has no "sub" claim; a JWT-SVID names its SPIFFE ID in "sub"'
        : `token "sub" claim must be a string, got ${describeValue(sub)}`,
    );
  }
  try {
    return SpiffeId.fromString(sub);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_CLAIMS',
      `token "sub" claim ${describeValue(sub)} is not a valid SPIFFE ID: ${err.message}`,
      err,
    );
  }
}

/** `aud`: a string or a non-empty array of strings, as an array. */
export function audienceClaim(claims: Record<string, unknown>): string[] {
  const aud = claims['aud'];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string')) return aud;
  throw jwtSvidError(
    'ERR_JWTSVID_INVALID_CLAIMS',
    aud === undefined
      ? 'token has no "aud" claim; a JWT-SVID names its audience'
      : `token "aud" claim must be a string or a non-empty array of strings, got ${describeValue(aud)}`,
  );
}

/** `exp`: required, a finite number of seconds since the epoch. */
export function expiryClaim(claims: Record<string, unknown>): number {
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_CLAIMS',
      exp === undefined
        ? 'token has no "exp" claim; a JWT-SVID must expire'
        : `token "exp" claim must be a number (seconds since the epoch), got ${describeValue(exp)}`,
    );
  }
  return exp;
}

/** `nbf` or `iat`: optional, a finite number of seconds since the epoch when present. */
export function numericClaim(claims: Record<string, unknown>, name: 'nbf' | 'iat'): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_CLAIMS',
      `token "${name}" claim must be a number (seconds since the epoch), got ${describeValue(value)}`,
    );
  }
  return value;
}

function formatTime(seconds: number): string {
  const ms = seconds * 1000;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${seconds} s since the epoch`;
}

/** Checks `exp`, `nbf`, `iat` against the clock, then the audience. */
export function checkTimeAndAudience(decoded: DecodedJwtSvid, audiences: readonly string[], clock: Clock): void {
  const { nowSeconds, skew } = clock;
  if (nowSeconds >= decoded.exp + skew) {
    throw jwtSvidError('ERR_JWTSVID_EXPIRED', `token has expired (exp ${formatTime(decoded.exp)}, now ${formatTime(nowSeconds)})`);
  }
  if (decoded.nbf !== undefined && nowSeconds + skew < decoded.nbf) {
    throw jwtSvidError(
      'ERR_JWTSVID_NOT_YET_VALID',
      `token is not valid yet (nbf ${formatTime(decoded.nbf)}, now ${formatTime(nowSeconds)})`,
    );
  }
  if (decoded.iat !== undefined && nowSeconds + skew < decoded.iat) {
    throw jwtSvidError(
      'ERR_JWTSVID_NOT_YET_VALID',
      `token was issued in the future (iat ${formatTime(decoded.iat)}, now ${formatTime(nowSeconds)})`,
    );
  }
  const audience = decoded.audience;
  for (const expected of audiences) {
    if (audience.includes(expected)) return;
  }
  throw jwtSvidError('ERR_JWTSVID_AUDIENCE', `expected audience in ${JSON.stringify(audiences)} (audience=${JSON.stringify(audience)})`);
}
