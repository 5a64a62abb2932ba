import type { TrustDomain } from '../spiffeid/index.js';
import type { X509Bundle } from './x509-bundle.js';
import type { JwtBundle } from './jwt-bundle.js';

/**
 * Anything that can hand out the X.509 bundle (trusted CA certificates) of a trust domain:
 * a single {@link X509Bundle}, an {@link X509BundleSet}, a `SpiffeBundle`, a file source or a
 * live Workload API source. TLS helpers and SVID verification depend only on this.
 *
 * Implementations throw a {@link BundleError} with code `ERR_BUNDLE_NOT_FOUND` when they have
 * no bundle for the trust domain.
 *
 * @example
 * ```ts
 * const bundle = source.getX509BundleForTrustDomain(TrustDomain.fromString('example.org'));
 * ```
 */
export interface X509BundleSource {
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle;
}

/**
 * Anything that can hand out the JWT bundle (trusted JWT signing keys) of a trust domain.
 * Implementations throw a {@link BundleError} with code `ERR_BUNDLE_NOT_FOUND` when they have
 * no bundle for the trust domain.
 *
 * @example
 * ```ts
 * const bundle = source.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org'));
 * ```
 */
export interface JwtBundleSource {
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle;
}
