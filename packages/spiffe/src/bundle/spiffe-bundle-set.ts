import { BundleError } from '../errors.js';
import type { TrustDomain } from '../spiffeid/index.js';
import type { JwtBundle } from './jwt-bundle.js';
import { SpiffeBundle } from './spiffe-bundle.js';
import { assertTrustDomain, type X509Bundle } from './x509-bundle.js';
import type { JwtBundleSource, X509BundleSource } from './source.js';

function assertBundle(bundle: unknown, where: string): asserts bundle is SpiffeBundle {
  if (!(bundle instanceof SpiffeBundle)) {
    throw new TypeError(`${where}: expected a SpiffeBundle`);
  }
}

/**
 * SPIFFE bundles of several trust domains (one per trust domain, never merged), such as the
 * federated bundles fetched from bundle endpoints. Both an {@link X509BundleSource} and a
 * {@link JwtBundleSource}.
 *
 * @example
 * ```ts
 * import { SpiffeBundleSet, SpiffeBundle, TrustDomain } from '@spiffe-node/spiffe';
 * const set = new SpiffeBundleSet(SpiffeBundle.parse(TrustDomain.fromString('partner.org'), doc));
 * parseAndVerifyX509Svid(peerChain, set);
 * ```
 */
export class SpiffeBundleSet implements X509BundleSource, JwtBundleSource {
  readonly #bundles = new Map<string, SpiffeBundle>();

  /**
   * Creates a set holding `bundles`; a later bundle of the same trust domain replaces an
   * earlier one.
   *
   * @example
   * ```ts
   * const set = new SpiffeBundleSet(localBundle, partnerBundle);
   * ```
   */
  constructor(...bundles: SpiffeBundle[]) {
    for (const bundle of bundles) this.add(bundle);
  }

  /**
   * Adds a bundle, replacing the set's bundle of the same trust domain if there is one.
   *
   * @example
   * ```ts
   * set.add(SpiffeBundle.parse(td, freshDoc));
   * ```
   */
  add(bundle: SpiffeBundle): void {
    assertBundle(bundle, 'SpiffeBundleSet.add');
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  /**
   * Removes the bundle of a trust domain; returns whether there was one.
   *
   * @example
   * ```ts
   * set.remove(TrustDomain.fromString('partner.org'));
   * ```
   */
  remove(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'SpiffeBundleSet.remove');
    return this.#bundles.delete(trustDomain.name);
  }

  /**
   * Whether the set has a bundle for the trust domain.
   *
   * @example
   * ```ts
   * set.has(TrustDomain.fromString('partner.org')); // true
   * ```
   */
  has(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'SpiffeBundleSet.has');
    return this.#bundles.has(trustDomain.name);
  }

  /**
   * The bundle of the trust domain, or undefined.
   *
   * @example
   * ```ts
   * set.get(TrustDomain.fromString('partner.org'))?.sequenceNumber;
   * ```
   */
  get(trustDomain: TrustDomain): SpiffeBundle | undefined {
    assertTrustDomain(trustDomain, 'SpiffeBundleSet.get');
    return this.#bundles.get(trustDomain.name);
  }

  /**
   * Every bundle, sorted by trust domain name.
   *
   * @example
   * ```ts
   * set.bundles().map((b) => b.trustDomain.name);
   * ```
   */
  bundles(): SpiffeBundle[] {
    return [...this.#bundles.values()].sort((a, b) =>
      a.trustDomain.name < b.trustDomain.name ? -1 : a.trustDomain.name > b.trustDomain.name ? 1 : 0,
    );
  }

  /**
   * The X.509 half of every bundle (the live ones), sorted by trust domain name: how every
   * bundle source lists its X.509 bundles ({@link X509BundleSource.x509Bundles}).
   *
   * @example
   * ```ts
   * set.x509Bundles().map((b) => b.trustDomain.name);
   * ```
   */
  x509Bundles(): X509Bundle[] {
    return this.bundles().map((bundle) => bundle.getX509BundleForTrustDomain(bundle.trustDomain));
  }

  /**
   * The number of bundles (trust domains).
   *
   * @example
   * ```ts
   * new SpiffeBundleSet(a, b).size; // 2
   * ```
   */
  get size(): number {
    return this.#bundles.size;
  }

  #bundle(trustDomain: TrustDomain, where: string): SpiffeBundle {
    assertTrustDomain(trustDomain, where);
    const bundle = this.#bundles.get(trustDomain.name);
    if (bundle === undefined) {
      throw new BundleError('ERR_BUNDLE_NOT_FOUND', `spiffebundle: no bundle for trust domain "${trustDomain.name}"`);
    }
    return bundle;
  }

  /**
   * The X.509 half of the trust domain's bundle.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when the set has none for it.
   * @example
   * ```ts
   * set.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org')).authorities();
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    return this.#bundle(trustDomain, 'SpiffeBundleSet.getX509BundleForTrustDomain').getX509BundleForTrustDomain(trustDomain);
  }

  /**
   * The JWT half of the trust domain's bundle.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when the set has none for it.
   * @example
   * ```ts
   * set.getJwtBundleForTrustDomain(TrustDomain.fromString('partner.org')).jwtAuthorities();
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    return this.#bundle(trustDomain, 'SpiffeBundleSet.getJwtBundleForTrustDomain').getJwtBundleForTrustDomain(trustDomain);
  }
}
