/**
 * Decoding a JWT-SVID: the compact serialization split in three, each part checked to be
 * canonical base64url, the header and payload parsed as JSON objects, the header's parameters
 * (`alg`, `typ`, `crit`, `b64`, `kid`) and the registered claims checked for shape. Verifies
 * nothing: no signature, no clock, no audience.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import type { SpiffeId } from '../../spiffeid/index.js';
import { JWT_SVID_ALGORITHMS, isJwtSvidAlgorithm, type JwtSvidAlgorithm } from './algorithms.js';
import { audienceClaim, expiryClaim, numericClaim, subjectClaim } from './claims.js';
import { describeValue, jwtSvidError } from './errors.js';

/** A token split, decoded and checked for shape, but not verified. */
export interface DecodedJwtSvid {
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

const BASE64URL_PART = /^[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALLOWED_ALGS_TEXT = JWT_SVID_ALGORITHMS.join(', ');

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
    throw jwtSvidError(
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
    throw jwtSvidError('ERR_JWTSVID_MALFORMED', `token ${what} is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw jwtSvidError('ERR_JWTSVID_MALFORMED', `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Splits, decodes and checks the header and the shape of the claims. Verifies nothing. */
export function decodeJwtSvid(token: string): DecodedJwtSvid {
  const c0 = token.charCodeAt(0);
  if ((c0 === 0x7b || c0 <= 0x20) && token.trimStart().startsWith('{')) {
    throw jwtSvidError(
      'ERR_JWTSVID_MALFORMED',
      'token uses the JWS JSON serialization; a JWT-SVID must use the compact serialization (header.payload.signature)',
    );
  }
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    const parts = token === '' ? 0 : token.split('.').length;
    throw jwtSvidError(
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
    throw jwtSvidError(
      'ERR_JWTSVID_UNSUPPORTED_ALG',
      `unsupported token signature algorithm ${describeValue(alg)}; a JWT-SVID must be signed with one of ${ALLOWED_ALGS_TEXT}`,
    );
  }
  const typ = header['typ'];
  if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_HEADER',
      `token header has an unsupported type ${describeValue(typ)}; "typ" must be "JWT" or "JOSE" when present`,
    );
  }
  if (Object.hasOwn(header, 'crit')) {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_HEADER',
      `token header lists critical extensions this validator does not understand ("crit": ${describeValue(header['crit'])})`,
    );
  }
  if (Object.hasOwn(header, 'b64')) {
    throw jwtSvidError(
      'ERR_JWTSVID_INVALID_HEADER',
      'token header has the "b64" parameter (RFC 7797 unencoded payload), which JWT-SVIDs do not use',
    );
  }
  const kid = header['kid'];
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw jwtSvidError('ERR_JWTSVID_INVALID_HEADER', `token header "kid" must be a non-empty string, got ${describeValue(kid)}`);
  }

  checkPart(payloadPart, 'payload');
  checkPart(signaturePart, 'signature');
  const claims = decodeJsonObject(payloadPart, 'payload');
  const id = subjectClaim(claims);
  const audience = audienceClaim(claims);
  const exp = expiryClaim(claims);
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
