import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { JwtBundle } from './jwt-bundle.js';
import type { JwtBundleSource } from './source.js';

function assertBundle(bundle: unknown, where: string): asserts bundle is JwtBundle {
  if (!(bundle instanceof JwtBundle)) {
    throw new TypeError(`${where}: expected a JwtBundle`);
  }
}

function assertTrustDomain(td: unknown, where: string): asserts td is TrustDomain {
  if (!(td instanceof TrustDomain)) {
    throw new TypeError(`${where}: expected a TrustDomain`);
  }
}

/**
 * JWT bundles of several trust domains (one per trust domain), such as the Workload API's
 * `FetchJWTBundles` delivers: your own trust domain's and those of federated trust domains.
 * Bundles are kept apart, never merged: a JWT-SVID is validated with the bundle of its own
 * trust domain only.
 *
 * Implements {@link JwtBundleSource}.
 *
 * @example
 * ```ts
 * import { JwtBundleSet, JwtBundle, TrustDomain, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
 * const set = new JwtBundleSet(
 *   JwtBundle.parse(TrustDomain.fromString('example.org'), ownJwks),
 *   JwtBundle.parse(TrustDomain.fromString('partner.org'), partnerJwks),
 * );
 * const svid = await parseAndValidateJwtSvid(token, set, ['spiffe://example.org/server']);
 * ```
 */
export class JwtBundleSet implements JwtBundleSource {
  readonly #bundles = new Map<string, JwtBundle>();

  /**
   * Creates a set holding `bundles`; a later bundle replaces an earlier one of the same trust
   * domain.
   *
   * @example
   * ```ts
   * const set = new JwtBundleSet(bundleA, bundleB);
   * ```
   */
  constructor(...bundles: JwtBundle[]) {
    for (const bundle of bundles) this.add(bundle);
  }

  /**
   * Adds `bundle`, replacing the bundle of the same trust domain if there is one.
   *
   * @example
   * ```ts
   * set.add(JwtBundle.parse(td, jwks));
   * ```
   */
  add(bundle: JwtBundle): void {
    assertBundle(bundle, 'JwtBundleSet.add');
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  /**
   * Removes the bundle of `trustDomain`; returns whether there was one.
   *
   * @example
   * ```ts
   * set.remove(TrustDomain.fromString('partner.org'));
   * ```
   */
  remove(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'JwtBundleSet.remove');
    return this.#bundles.delete(trustDomain.name);
  }

  /**
   * Whether the set holds a bundle for `trustDomain`.
   *
   * @example
   * ```ts
   * set.has(TrustDomain.fromString('example.org')); // true
   * ```
   */
  has(trustDomain: TrustDomain): boolean {
    assertTrustDomain(trustDomain, 'JwtBundleSet.has');
    return this.#bundles.has(trustDomain.name);
  }

  /**
   * The bundle of `trustDomain`, or `undefined`.
   *
   * @example
   * ```ts
   * const bundle = set.get(TrustDomain.fromString('example.org'));
   * ```
   */
  get(trustDomain: TrustDomain): JwtBundle | undefined {
    assertTrustDomain(trustDomain, 'JwtBundleSet.get');
    return this.#bundles.get(trustDomain.name);
  }

  /**
   * All bundles, sorted by trust domain name.
   *
   * @example
   * ```ts
   * for (const b of set.bundles()) console.log(b.trustDomain.name, b.size);
   * ```
   */
  bundles(): JwtBundle[] {
    return [...this.#bundles.values()].sort((a, b) =>
      a.trustDomain.name < b.trustDomain.name ? -1 : a.trustDomain.name > b.trustDomain.name ? 1 : 0,
    );
  }

  /**
   * The number of bundles (trust domains) in the set.
   *
   * @example
   * ```ts
   * set.size; // 2
   * ```
   */
  get size(): number {
    return this.#bundles.size;
  }

  /**
   * The bundle of `trustDomain`.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` if the set has none.
   * @example
   * ```ts
   * const bundle = set.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    assertTrustDomain(trustDomain, 'JwtBundleSet.getJwtBundleForTrustDomain');
    const bundle = this.#bundles.get(trustDomain.name);
    if (bundle === undefined) {
      throw new BundleError('ERR_BUNDLE_NOT_FOUND', `jwtbundle: no JWT bundle for trust domain "${trustDomain.name}"`);
    }
    return bundle;
  }
}
