import { BundleError } from '../errors.js';
import type { TrustDomain } from '../spiffeid/index.js';
import { X509Bundle, assertTrustDomain } from './x509-bundle.js';
import type { X509BundleSource } from './source.js';

function assertBundle(bundle: unknown, where: string): asserts bundle is X509Bundle {
  if (!(bundle instanceof X509Bundle)) {
    throw new TypeError(`${where}: expected an X509Bundle`);
  }
}

/**
 * X.509 bundles of several trust domains (one per trust domain, never merged): the local
 * trust domain's and those of federated ones. An {@link X509BundleSource} that answers with
 * the bundle of the asked trust domain only.
 *
 * @example
 * ```ts
 * import { X509BundleSet, X509Bundle, TrustDomain } from '@spiffe-node/spiffe';
 * const set = new X509BundleSet(
 *   X509Bundle.parse(TrustDomain.fromString('example.org'), localPem),
 *   X509Bundle.parse(TrustDomain.fromString('partner.org'), partnerPem),
 * );
 * set.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org'));
 * ```
 */
export class X509BundleSet implements X509BundleSource {
  readonly #bundles = new Map<string, X509Bundle>();

  /**
   * Creates a set holding `bundles`; a later bundle of the same trust domain replaces an
   * earlier one.
   *
   * @example
   * ```ts
   * const set = new X509BundleSet(bundleA, bundleB);
   * ```
   */
  constructor(...bundles: X509Bundle[]) {
    for (const bundle of bundles) this.add(bundle);
  }

  /**
   * Adds a bundle, replacing the set's bundle of the same trust domain if there is one.
   *
   * @example
   * ```ts
   * set.add(X509Bundle.parse(td, updatedPem));
   * ```
   */
  add(bundle: X509Bundle): void {
    assertBundle(bundle, 'X509BundleSet.add');
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  /**
   * Removes the bundle of a trust domain. Returns whether there was one.
   *
   * @example
   * ```ts
   * set.remove(TrustDomain.fromString('partner.org'));
   * ```
   */
  remove(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'X509BundleSet.remove');
    return this.#bundles.delete(trustDomain.name);
  }

  /**
   * Whether the set has a bundle for the trust domain.
   *
   * @example
   * ```ts
   * set.has(TrustDomain.fromString('example.org')); // true
   * ```
   */
  has(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'X509BundleSet.has');
    return this.#bundles.has(trustDomain.name);
  }

  /**
   * The bundle of the trust domain, or undefined.
   *
   * @example
   * ```ts
   * const bundle = set.get(TrustDomain.fromString('example.org'));
   * ```
   */
  get(trustDomain: TrustDomain): X509Bundle | undefined {
    assertTrustDomain(trustDomain, 'X509BundleSet.get');
    return this.#bundles.get(trustDomain.name);
  }

  /**
   * Every bundle, sorted by trust domain name.
   *
   * @example
   * ```ts
   * for (const b of set.bundles()) console.log(b.trustDomain.name, b.size);
   * ```
   */
  bundles(): X509Bundle[] {
    return [...this.#bundles.values()].sort((a, b) =>
      a.trustDomain.name < b.trustDomain.name ? -1 : a.trustDomain.name > b.trustDomain.name ? 1 : 0,
    );
  }

  /**
   * Every bundle, sorted by trust domain name: {@link X509BundleSet.bundles}, under the name
   * every bundle source lists its X.509 bundles by ({@link X509BundleSource.x509Bundles}).
   *
   * @example
   * ```ts
   * set.x509Bundles().map((b) => b.trustDomain.name);
   * ```
   */
  x509Bundles(): X509Bundle[] {
    return this.bundles();
  }

  /**
   * The number of bundles (trust domains).
   *
   * @example
   * ```ts
   * new X509BundleSet(a, b).size; // 2
   * ```
   */
  get size(): number {
    return this.#bundles.size;
  }

  /**
   * The bundle of `trustDomain`.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when the set has none for it.
   * @example
   * ```ts
   * const bundle = set.getX509BundleForTrustDomain(id.trustDomain);
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    assertTrustDomain(trustDomain, 'X509BundleSet.getX509BundleForTrustDomain');
    const bundle = this.#bundles.get(trustDomain.name);
    if (bundle === undefined) {
      throw new BundleError('ERR_BUNDLE_NOT_FOUND', `x509bundle: no X.509 bundle for trust domain "${trustDomain.name}"`);
    }
    return bundle;
  }
}
