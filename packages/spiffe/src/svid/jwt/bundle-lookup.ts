/**
 * Finding the JWT bundle a JWT-SVID is verified with: the bundle of the trust domain of the
 * token's own subject, and no other (a source that answers with another trust domain's bundle
 * is refused).
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { BundleError } from '../../errors.js';
import { JwtBundle } from '../../bundle/jwt-bundle.js';
import type { JwtBundleSource } from '../../bundle/source.js';
import type { DecodedJwtSvid } from './decode.js';

/** The JWT bundle of the trust domain of `decoded`'s subject, from `source`. */
export function lookUpBundle(source: JwtBundleSource, decoded: DecodedJwtSvid): JwtBundle {
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
