/**
 * The key lookup and signature check of a JWT-SVID: with a `kid`, that JWT authority of the
 * bundle, which must fit the token's `alg`; without one, every authority of the bundle that
 * fits `alg`, any of which may verify. Signatures are checked with node:crypto on the keys the
 * bundle imported once.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { verify as cryptoVerify } from 'node:crypto';
import { jwtAuthorityEntriesFor, jwtAuthorityEntry, type JwtBundle } from '../../bundle/jwt-bundle.js';
import { hashOf, signatureLengthOf, type JwtAuthorityEntry } from './algorithms.js';
import type { DecodedJwtSvid } from './decode.js';
import { jwtSvidError } from './errors.js';

function verifyWith(entry: JwtAuthorityEntry, decoded: DecodedJwtSvid, data: Buffer, signature: Buffer): boolean {
  const verifyKey = entry.verifiers.get(decoded.alg);
  if (verifyKey === undefined) return false;
  try {
    return cryptoVerify(hashOf(decoded.alg), data, verifyKey, signature);
  } catch {
    return false;
  }
}

/** Finds the key(s) of `bundle` for `decoded` and checks its signature, or throws. */
export function checkKeyAndSignature(bundle: JwtBundle, decoded: DecodedJwtSvid): void {
  const td = bundle.trustDomain.name;
  const { alg, kid } = decoded;
  const signature = Buffer.from(decoded.signaturePart, 'base64url');
  const expectedLength = signatureLengthOf(alg);
  const data = Buffer.from(decoded.signingInput, 'latin1');
  if (kid !== undefined) {
    const entry = jwtAuthorityEntry(bundle, kid);
    if (entry === undefined) {
      throw jwtSvidError('ERR_JWTSVID_KEY_NOT_FOUND', `no JWT authority ${JSON.stringify(kid)} found for trust domain "${td}"`);
    }
    if (!entry.verifiers.has(alg)) {
      throw jwtSvidError(
        'ERR_JWTSVID_UNSUPPORTED_ALG',
        `token algorithm ${alg} does not fit JWT authority ${JSON.stringify(kid)} of trust domain "${td}" (${entry.description}${entry.jwkAlg === undefined ? '' : `, published for ${entry.jwkAlg}`})`,
      );
    }
    if ((expectedLength !== undefined && signature.length !== expectedLength) || !verifyWith(entry, decoded, data, signature)) {
      throw jwtSvidError(
        'ERR_JWTSVID_SIGNATURE',
        `token signature does not verify with JWT authority ${JSON.stringify(kid)} of trust domain "${td}"`,
      );
    }
    return;
  }
  const candidates = jwtAuthorityEntriesFor(bundle, alg);
  if (candidates.length === 0) {
    throw jwtSvidError(
      'ERR_JWTSVID_KEY_NOT_FOUND',
      `token has no "kid" and no JWT authority of trust domain "${td}" fits algorithm ${alg}`,
    );
  }
  if (expectedLength === undefined || signature.length === expectedLength) {
    for (const entry of candidates) {
      if (verifyWith(entry, decoded, data, signature)) return;
    }
  }
  throw jwtSvidError(
    'ERR_JWTSVID_SIGNATURE',
    `token has no "kid" and its signature verifies with none of the ${candidates.length} ${alg} JWT authorities of trust domain "${td}"`,
  );
}
