/**
 * The single-pass scanners behind {@link SpiffeId} and {@link TrustDomain}. Each returns the
 * normalised pieces or throws a {@link SpiffeIdError} naming the rule that the input broke.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { SpiffeIdError } from '../errors.js';

/** The longest SPIFFE ID accepted, in bytes (the specification's recommended maximum). */
export const MAX_ID_LENGTH = 2048;
/** The longest trust domain name accepted, in bytes. */
export const MAX_TRUST_DOMAIN_LENGTH = 255;

const SCHEME = 'spiffe://';

function idError(rule: string, message: string): SpiffeIdError {
  return new SpiffeIdError('ERR_SPIFFEID_INVALID', rule, `spiffeid: ${message}`);
}

function tdError(rule: string, message: string): SpiffeIdError {
  return new SpiffeIdError('ERR_TRUST_DOMAIN_INVALID', rule, `spiffeid: ${message}`);
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x21 || code === 0x7f) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(ch);
}

function isTrustDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x5f // _
  );
}

function isUpperAscii(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function isPathChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

/** The byte length of a string in UTF-8, counted without allocating. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Checks a trust domain name (no scheme) and returns it in lowercase.
 * `context` is `'id'` when the name came from a SPIFFE ID (the error codes differ).
 */
export function scanTrustDomain(name: string, context: 'id' | 'name'): string {
  const err = context === 'id' ? idError : tdError;
  if (name.length === 0) {
    throw err('trust-domain-empty', 'trust domain is missing');
  }
  let lower = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isTrustDomainChar(c)) continue;
    if (isUpperAscii(c)) {
      lower = true;
      continue;
    }
    const ch = String.fromCodePoint(name.codePointAt(i) ?? c);
    if (c === 0x3a) {
      throw err('trust-domain-port', `trust domain "${name}" contains a port (":" at index ${i}); a trust domain has no port`);
    }
    if (c === 0x40) {
      throw err('trust-domain-userinfo', `trust domain "${name}" contains userinfo ("@" at index ${i}); a trust domain has no userinfo`);
    }
    if (c === 0x25) {
      throw err(
        'percent-encoding',
        `trust domain "${name}" contains percent-encoding ("%" at index ${i}); percent-encoded characters are not allowed`,
      );
    }
    throw err(
      'trust-domain-character',
      `trust domain "${name}" contains the character ${describeChar(ch)} at index ${i}; only letters, digits, ".", "-" and "_" are allowed`,
    );
  }
  if (name.length > MAX_TRUST_DOMAIN_LENGTH) {
    throw err('trust-domain-too-long', `trust domain is ${name.length} bytes long; at most ${MAX_TRUST_DOMAIN_LENGTH} are allowed`);
  }
  return lower ? name.toLowerCase() : name;
}

/**
 * Checks a SPIFFE ID path (empty, or `/seg/seg...`). `where` names the input for messages.
 */
export function scanPath(path: string, err: (rule: string, message: string) => SpiffeIdError = idError): void {
  if (path.length === 0) return;
  if (path.charCodeAt(0) !== 0x2f) {
    throw err('path-no-leading-slash', `path "${path}" must start with "/"`);
  }
  let segStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i === path.length ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      const segLen = i - segStart;
      if (segLen === 0) {
        if (i === path.length) {
          throw err('path-trailing-slash', `path "${path}" ends with "/"; a trailing slash is not allowed`);
        }
        throw err('path-empty-segment', `path "${path}" has an empty segment ("//" at index ${i - 1}); empty segments are not allowed`);
      }
      if (segLen === 1 && path.charCodeAt(segStart) === 0x2e) {
        throw err('path-dot-segment', `path "${path}" has a "." segment; dot segments are not allowed`);
      }
      if (segLen === 2 && path.charCodeAt(segStart) === 0x2e && path.charCodeAt(segStart + 1) === 0x2e) {
        throw err('path-dot-segment', `path "${path}" has a ".." segment; dot segments are not allowed`);
      }
      segStart = i + 1;
      continue;
    }
    if (isPathChar(c)) continue;
    const ch = String.fromCodePoint(path.codePointAt(i) ?? c);
    if (c === 0x25) {
      throw err(
        'percent-encoding',
        `path "${path}" contains percent-encoding ("%" at index ${i}); percent-encoded characters are not allowed`,
      );
    }
    if (c === 0x3f) {
      throw err('query', `path "${path}" contains a query ("?" at index ${i}); a SPIFFE ID has no query`);
    }
    if (c === 0x23) {
      throw err('fragment', `path "${path}" contains a fragment ("#" at index ${i}); a SPIFFE ID has no fragment`);
    }
    throw err(
      'path-character',
      `path "${path}" contains the character ${describeChar(ch)} at index ${i}; path segments may hold only letters, digits, ".", "-" and "_"`,
    );
  }
}

/** Checks one path segment given on its own (no slashes). */
export function scanSegment(segment: string): void {
  if (segment.length === 0) {
    throw idError('path-empty-segment', 'path segment is empty; empty segments are not allowed');
  }
  if (segment.includes('/')) {
    throw idError('path-character', `path segment "${segment}" contains "/"; pass each segment separately`);
  }
  scanPath(`/${segment}`);
}

/**
 * Splits and checks a whole SPIFFE ID. Returns the lowercase trust domain and the path.
 */
export function scanId(id: string): { trustDomain: string; path: string } {
  if (id.length === 0) {
    throw idError('empty', 'SPIFFE ID is empty');
  }
  if (id.length > MAX_ID_LENGTH && utf8Length(id) > MAX_ID_LENGTH) {
    throw idError('too-long', `SPIFFE ID is ${utf8Length(id)} bytes long; at most ${MAX_ID_LENGTH} are allowed`);
  }
  if (id.length < SCHEME.length || id.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    const colon = id.indexOf(':');
    if (colon > 0 && id.slice(0, colon).toLowerCase() !== 'spiffe') {
      throw idError('scheme', `"${id}" has the scheme "${id.slice(0, colon)}"; a SPIFFE ID starts with "spiffe://"`);
    }
    throw idError('scheme', `"${id}" does not start with "spiffe://"`);
  }
  const rest = id.slice(SCHEME.length);
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const tdRaw = rest.slice(0, end);
  const after = rest.slice(end);
  if (tdRaw.length === 0) {
    throw idError('trust-domain-empty', `"${id}" has no trust domain`);
  }
  if (after.length > 0 && after.charCodeAt(0) === 0x3f) {
    throw idError('query', `"${id}" contains a query; a SPIFFE ID has no query`);
  }
  if (after.length > 0 && after.charCodeAt(0) === 0x23) {
    throw idError('fragment', `"${id}" contains a fragment; a SPIFFE ID has no fragment`);
  }
  const trustDomain = scanTrustDomain(tdRaw, 'id');
  scanPath(after);
  return { trustDomain, path: after };
}

export { idError as spiffeIdError };
