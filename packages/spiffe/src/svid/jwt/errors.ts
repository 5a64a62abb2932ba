/**
 * How the JWT-SVID validator words its failures: a {@link JwtSvidError} whose message starts
 * with `jwtsvid: `, and a short rendering of the offending value.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { JwtSvidError, type JwtSvidErrorCode } from '../../errors.js';

/** A {@link JwtSvidError} with `code`, its message prefixed with `jwtsvid: `. */
export function jwtSvidError(code: JwtSvidErrorCode, message: string, cause?: unknown): JwtSvidError {
  return new JwtSvidError(code, `jwtsvid: ${message}`, cause === undefined ? undefined : { cause });
}

/** A value from a token as JSON, cut to 80 characters, for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}
