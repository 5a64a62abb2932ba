/**
 * JwtSource: JWT-SVIDs for this workload (cached) and the JWT bundles it trusts, kept up to
 * date from the Workload API.
 *
 * @module
 */
import { GrpcStatus } from './grpc-http2.js';
import { BundleError, WorkloadApiError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import type { JwtBundle } from '../bundle/jwt-bundle.js';
import type { JwtBundleSet } from '../bundle/jwt-bundle-set.js';
import type { JwtBundleSource } from '../bundle/source.js';
import type { JwtSvid, JwtSvidParams, JwtSvidSource } from '../svid/jwt/index.js';
import { safeLog } from './logger.js';
import { WorkloadApiSource, type WorkloadApiSourceOptions } from './source-base.js';

/**
 * Options of {@link JwtSource.create}.
 *
 * @example
 * ```ts
 * const options: JwtSourceOptions = { timeoutMs: 10_000 };
 * ```
 */
export type JwtSourceOptions = WorkloadApiSourceOptions;

interface CacheEntry {
  svid: JwtSvid;
  /** When to fetch a fresh token: half-way through the token's lifetime (ms since epoch). */
  refreshAt: number;
}

function normalizeAudience(audience: unknown): string[] {
  const list = typeof audience === 'string' ? [audience] : audience;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError('JwtSource.fetchJwtSvid: audience must be a non-empty string or a non-empty array of strings');
  }
  for (const a of list) {
    if (typeof a !== 'string' || a === '') throw new TypeError('JwtSource.fetchJwtSvid: every audience must be a non-empty string');
  }
  return [...new Set(list as string[])];
}

/**
 * JWT-SVIDs for this workload and the JWT bundles it trusts, from the Workload API.
 *
 * - {@link JwtSource.fetchJwtSvid} caches tokens per (audience set, subject) and fetches a
 *   fresh one once half of the cached token's lifetime has passed; concurrent requests for the
 *   same key share one RPC. If a refresh fails for a transient reason, the cached token is served
 *   while it is still valid; a refresh the agent takes more than 250 ms to answer does not hold
 *   callers up either (they get the cached token while the refresh goes on).
 * - The JWT bundles follow the agent's `FetchJWTBundles` stream; a trust domain missing from a
 *   later update is no longer trusted.
 * - On `PermissionDenied` the bundles and cached tokens are dropped.
 *
 * Implements {@link JwtSvidSource} and {@link JwtBundleSource}.
 *
 * @example
 * ```ts
 * import { JwtSource } from '@spiffe-node/spiffe/workloadapi';
 * import { parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
 * const source = await JwtSource.create();
 * // client side
 * const svid = await source.fetchJwtSvid({ audience: 'spiffe://example.org/api' });
 * await fetch(url, { headers: { authorization: `Bearer ${svid.token}` } });
 * // server side
 * const caller = await parseAndValidateJwtSvid(token, source, ['spiffe://example.org/api']);
 * await source.close();
 * ```
 */
/** How long a caller waits for a due refresh while the cached token is still valid. */
const REFRESH_WAIT_MS = 250;

/**
 * The refreshed token if it comes within `waitMs`, else the cached one (the refresh goes on).
 * A refresh that fails within `waitMs` fails the call: the refresh itself already falls back
 * to the cached token on transient errors, and refuses it after PermissionDenied.
 */
function raceWithCached(pending: Promise<JwtSvid>, cached: JwtSvid, waitMs: number): Promise<JwtSvid> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(cached), waitMs);
    pending.then(
      (svid) => {
        clearTimeout(timer);
        resolve(svid);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export class JwtSource extends WorkloadApiSource<JwtBundleSet> implements JwtSvidSource, JwtBundleSource {
  #bundles: JwtBundleSet | undefined;
  #withdrawnReason: string | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<JwtSvid>>();

  private constructor(options: JwtSourceOptions) {
    super('JwtSource', options);
  }

  /**
   * Connects to the Workload API and resolves once the first JWT bundles have arrived.
   *
   * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_TIMEOUT` after `timeoutMs` (default
   *   30 s), saying what to check and the last error seen.
   * @example
   * ```ts
   * const source = await JwtSource.create({ timeoutMs: 5000 });
   * ```
   */
  static async create(options: JwtSourceOptions = {}): Promise<JwtSource> {
    const source = new JwtSource(options);
    source.startWatch((signal) =>
      source.client.watchJwtBundles(
        {
          onJwtBundlesUpdate: (set) => source.#onUpdate(set),
          onJwtBundlesWatchError: (err) => source.#onError(err),
        },
        signal,
      ),
    );
    await source.waitReady(options.timeoutMs, 'the JWT bundles');
    return source;
  }

  /**
   * A JWT-SVID for `audience` (the default identity's, or `subject`'s), from the cache while it
   * is less than half-way through its lifetime.
   *
   * @throws TypeError when `audience` is empty.
   * @throws {@link WorkloadApiError} when the agent cannot issue one; {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const svid = await source.fetchJwtSvid({ audience: ['spiffe://example.org/api'] });
   * ```
   */
  async fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid> {
    this.assertOpen();
    if (typeof params !== 'object' || params === null) throw new TypeError('JwtSource.fetchJwtSvid: expected { audience, subject? }');
    const audience = normalizeAudience(params.audience);
    const subject = params.subject;
    if (subject !== undefined && !(subject instanceof SpiffeId)) {
      throw new TypeError('JwtSource.fetchJwtSvid: subject must be a SpiffeId');
    }
    const key = JSON.stringify([[...audience].sort(), subject?.toString() ?? '']);
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && now < cached.refreshAt && now < cached.svid.expiry.getTime()) return cached.svid;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#refresh(key, audience, subject, cached).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    if (cached && now < cached.svid.expiry.getTime()) {
      // A refresh is due but the cached token is still valid: wait for the agent only briefly,
      // so that a slow or hung agent never blocks callers while there is a token to serve.
      const wait = Math.min(REFRESH_WAIT_MS, (cached.svid.expiry.getTime() - now) / 2);
      return raceWithCached(pending, cached.svid, wait);
    }
    return pending;
  }

  async #refresh(key: string, audience: string[], subject: SpiffeId | undefined, cached: CacheEntry | undefined): Promise<JwtSvid> {
    let svid: JwtSvid;
    try {
      svid = await this.client.fetchJwtSvid(subject ? { audience, subject } : { audience });
    } catch (err) {
      this.assertOpen();
      const denied = err instanceof WorkloadApiError && err.grpcCode === GrpcStatus.PERMISSION_DENIED;
      if (denied) this.#cache.delete(key);
      if (!denied && cached && cached.svid.expiry.getTime() > Date.now()) {
        safeLog(
          this.logger,
          'warn',
          `workloadapi: JwtSource: could not refresh the JWT-SVID for ${JSON.stringify(audience)}; serving the cached one until it expires at ${cached.svid.expiry.toISOString()} (${(err as Error).message})`,
        );
        return cached.svid;
      }
      throw err;
    }
    this.assertOpen();
    const now = Date.now();
    const issued = Math.min(svid.issuedAt?.getTime() ?? now, now);
    const refreshAt = issued + (svid.expiry.getTime() - issued) / 2;
    for (const [k, entry] of this.#cache) {
      if (entry.svid.expiry.getTime() <= now) this.#cache.delete(k);
    }
    this.#cache.set(key, { svid, refreshAt });
    return svid;
  }

  /**
   * The JWT bundle of `trustDomain`.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when the source has none for it;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const bundle = source.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    this.assertOpen();
    if (!(trustDomain instanceof TrustDomain)) {
      throw new TypeError('JwtSource.getJwtBundleForTrustDomain: expected a TrustDomain');
    }
    if (!this.#bundles) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `jwtbundle: no JWT bundle for trust domain "${trustDomain.name}": the JwtSource holds no bundles (${this.#withdrawnReason ?? 'none received'})`,
      );
    }
    return this.#bundles.getJwtBundleForTrustDomain(trustDomain);
  }

  #onUpdate(set: JwtBundleSet): void {
    if (this.closed) return;
    this.#bundles = set;
    this.#withdrawnReason = undefined;
    this.markReady();
    this.emitUpdate(set);
  }

  #onError(err: WorkloadApiError): void {
    this.recordError(err);
    if (err.grpcCode === GrpcStatus.PERMISSION_DENIED && (this.#bundles || this.#cache.size > 0)) {
      this.#bundles = undefined;
      this.#cache.clear();
      this.#withdrawnReason = `the agent answered PermissionDenied (${err.message})`;
      safeLog(this.logger, 'warn', 'workloadapi: JwtSource: bundles and cached JWT-SVIDs dropped: the agent answered PermissionDenied');
    }
  }

  protected onClosed(): void {
    this.#bundles = undefined;
    this.#cache.clear();
  }
}
