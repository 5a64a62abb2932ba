/**
 * BundleSource: the X.509 and JWT bundles this workload trusts, kept up to date from the
 * Workload API.
 *
 * @module
 */
import { GrpcStatus } from './grpc-http2.js';
import { BundleError, type WorkloadApiError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import type { X509Bundle } from '../bundle/x509-bundle.js';
import type { X509BundleSet } from '../bundle/x509-bundle-set.js';
import type { JwtBundle } from '../bundle/jwt-bundle.js';
import type { JwtBundleSet } from '../bundle/jwt-bundle-set.js';
import type { JwtBundleSource, X509BundleSource } from '../bundle/source.js';
import { safeLog } from './logger.js';
import { WorkloadApiSource, type WorkloadApiSourceOptions } from './source-base.js';

/**
 * Options of {@link BundleSource.create}.
 *
 * @example
 * ```ts
 * const options: BundleSourceOptions = { timeoutMs: 10_000 };
 * ```
 */
export type BundleSourceOptions = WorkloadApiSourceOptions;

/**
 * What a {@link BundleSource} `'update'` carries: which kind of bundles changed, and the new set.
 *
 * @example
 * ```ts
 * source.on('update', (u: BundleSourceUpdate) => console.log(u.kind, u.bundles.size));
 * ```
 */
export type BundleSourceUpdate =
  { readonly kind: 'x509'; readonly bundles: X509BundleSet } | { readonly kind: 'jwt'; readonly bundles: JwtBundleSet };

/**
 * The X.509 and JWT bundles of every trust domain this workload trusts, from the Workload API's
 * `FetchX509Bundles` and `FetchJWTBundles` streams. For a workload that verifies peers but does
 * not need an identity of its own. A trust domain missing from a later update is no longer
 * trusted; on `PermissionDenied` the bundles of that kind are dropped.
 *
 * Implements {@link X509BundleSource} and {@link JwtBundleSource}.
 *
 * @example
 * ```ts
 * import { BundleSource } from '@spiffe-node/spiffe/workloadapi';
 * import { parseAndVerifyX509Svid, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
 * const bundles = await BundleSource.create();
 * const { id } = parseAndVerifyX509Svid(peerChainDer, bundles);
 * const caller = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/api']);
 * await bundles.close();
 * ```
 */
export class BundleSource extends WorkloadApiSource<BundleSourceUpdate> implements X509BundleSource, JwtBundleSource {
  #x509: X509BundleSet | undefined;
  #jwt: JwtBundleSet | undefined;
  #x509Reason: string | undefined;
  #jwtReason: string | undefined;

  private constructor(options: BundleSourceOptions) {
    super('BundleSource', options);
  }

  /**
   * Connects to the Workload API and resolves once both the X.509 and the JWT bundles have
   * arrived.
   *
   * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_TIMEOUT` after `timeoutMs` (default
   *   30 s), saying what to check and the last error seen.
   * @example
   * ```ts
   * const source = await BundleSource.create({ address: 'unix:///run/spire/agent.sock' });
   * ```
   */
  static async create(options: BundleSourceOptions = {}): Promise<BundleSource> {
    const source = new BundleSource(options);
    source.startWatch((signal) =>
      source.client.watchX509Bundles(
        {
          onX509BundlesUpdate: (set) => source.#onX509(set),
          onX509BundlesWatchError: (err) => source.#onError('x509', err),
        },
        signal,
      ),
    );
    source.startWatch((signal) =>
      source.client.watchJwtBundles(
        {
          onJwtBundlesUpdate: (set) => source.#onJwt(set),
          onJwtBundlesWatchError: (err) => source.#onError('jwt', err),
        },
        signal,
      ),
    );
    await source.waitReady(options.timeoutMs, 'the X.509 and JWT bundles');
    return source;
  }

  /**
   * The X.509 bundle of `trustDomain`.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when there is none;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const bundle = source.getX509BundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    this.assertOpen();
    if (!(trustDomain instanceof TrustDomain)) {
      throw new TypeError('BundleSource.getX509BundleForTrustDomain: expected a TrustDomain');
    }
    if (!this.#x509) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `x509bundle: no X.509 bundle for trust domain "${trustDomain.name}": the BundleSource holds no X.509 bundles (${this.#x509Reason ?? 'none received'})`,
      );
    }
    return this.#x509.getX509BundleForTrustDomain(trustDomain);
  }

  /**
   * Every X.509 bundle the source holds now, sorted by trust domain name; empty when none has
   * been received (or they were withdrawn).
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * for (const bundle of source.x509Bundles()) console.log(bundle.trustDomain.name);
   * ```
   */
  x509Bundles(): X509Bundle[] {
    this.assertOpen();
    return this.#x509?.bundles() ?? [];
  }

  /**
   * Every X.509 bundle the source holds now (the caller's trust domain and the federated ones),
   * for consumers that need them all at once, such as a TLS trust store.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when none has been received (or they
   *   were withdrawn); {@link SourceClosedError} after close.
   * @example
   * ```ts
   * for (const bundle of source.getX509BundleSet().bundles()) console.log(bundle.trustDomain.name);
   * ```
   */
  getX509BundleSet(): X509BundleSet {
    this.assertOpen();
    if (!this.#x509) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `x509bundle: the BundleSource holds no X.509 bundles (${this.#x509Reason ?? 'none received'})`,
      );
    }
    return this.#x509;
  }

  /**
   * Every JWT bundle the source holds now.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when none has been received (or they
   *   were withdrawn); {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const kids = source.getJwtBundleSet().bundles().flatMap((b) => [...b.jwtAuthorities().keys()]);
   * ```
   */
  getJwtBundleSet(): JwtBundleSet {
    this.assertOpen();
    if (!this.#jwt) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `jwtbundle: the BundleSource holds no JWT bundles (${this.#jwtReason ?? 'none received'})`,
      );
    }
    return this.#jwt;
  }

  /**
   * The JWT bundle of `trustDomain`.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when there is none;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const bundle = source.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    this.assertOpen();
    if (!(trustDomain instanceof TrustDomain)) {
      throw new TypeError('BundleSource.getJwtBundleForTrustDomain: expected a TrustDomain');
    }
    if (!this.#jwt) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `jwtbundle: no JWT bundle for trust domain "${trustDomain.name}": the BundleSource holds no JWT bundles (${this.#jwtReason ?? 'none received'})`,
      );
    }
    return this.#jwt.getJwtBundleForTrustDomain(trustDomain);
  }

  #onX509(set: X509BundleSet): void {
    if (this.closed) return;
    this.#x509 = set;
    this.#x509Reason = undefined;
    if (this.#jwt) this.markReady();
    this.emitUpdate({ kind: 'x509', bundles: set });
  }

  #onJwt(set: JwtBundleSet): void {
    if (this.closed) return;
    this.#jwt = set;
    this.#jwtReason = undefined;
    if (this.#x509) this.markReady();
    this.emitUpdate({ kind: 'jwt', bundles: set });
  }

  #onError(kind: 'x509' | 'jwt', err: WorkloadApiError): void {
    this.recordError(err);
    if (err.grpcCode !== GrpcStatus.PERMISSION_DENIED) return;
    const reason = `the agent answered PermissionDenied (${err.message})`;
    if (kind === 'x509' && this.#x509) {
      this.#x509 = undefined;
      this.#x509Reason = reason;
      safeLog(this.logger, 'warn', 'workloadapi: BundleSource: X.509 bundles dropped: the agent answered PermissionDenied');
    } else if (kind === 'jwt' && this.#jwt) {
      this.#jwt = undefined;
      this.#jwtReason = reason;
      safeLog(this.logger, 'warn', 'workloadapi: BundleSource: JWT bundles dropped: the agent answered PermissionDenied');
    }
  }

  protected onClosed(): void {
    this.#x509 = undefined;
    this.#jwt = undefined;
  }
}
