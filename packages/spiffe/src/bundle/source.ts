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
  /**
   * Every X.509 bundle the source holds now, one per trust domain: the one way to list a
   * source's bundles. Every bundle source of this package has it (`X509Bundle`, `X509BundleSet`,
   * `SpiffeBundle`, `SpiffeBundleSet`, `X509Source`, `BundleSource`, the file sources). Optional
   * for your own sources: without it, `dial`, the https agent, the undici dispatcher,
   * `connectHttp2`, gRPC and the servers still work (they ask for one trust domain at a time),
   * but the plain client options (`tlsClientOptions`, `mtlsClientOptions`), which hand OpenSSL
   * every CA up front, refuse the source with a `TypeError`.
   *
   * @example
   * ```ts
   * for (const bundle of source.x509Bundles?.() ?? []) console.log(bundle.trustDomain.name);
   * ```
   */
  x509Bundles?(): X509Bundle[];
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
