/**
 * FederatedBundleSource: a trust domain's bundle kept current from its bundle endpoint.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import {
  JwtBundleSet,
  X509BundleSet,
  type JwtBundle,
  type JwtBundleSource,
  type SpiffeBundle,
  type X509Bundle,
  type X509BundleSource,
} from '../bundle/index.js';
import { FederationError, SourceClosedError, SpiffeError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { Backoff, sleep } from '../workloadapi/backoff.js';
import { defaultWorkloadApiLogger, safeLog, type WorkloadApiLogger } from '../workloadapi/logger.js';
import { describeUrl, resolveEndpoint, type BundleEndpoint, type ResolvedEndpoint } from './endpoint.js';
import { fetchLimits, fetchResolved, type FetchLimits } from './fetch.js';

/** The refresh interval when the bundle has no `spiffe_refresh_hint` (SPIFFE Federation §4.1). */
const DEFAULT_REFRESH_MS = 5 * 60_000;
const DEFAULT_MIN_REFRESH_MS = 10_000;
const DEFAULT_MAX_REFRESH_MS = 60 * 60_000;
const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_START_TIMEOUT_MS = 30_000;

/**
 * Options of {@link FederatedBundleSource.create}.
 *
 * @example
 * ```ts
 * const options: FederatedBundleSourceOptions = { minRefreshMs: 30_000, logger: console };
 * ```
 */
export interface FederatedBundleSourceOptions {
  /** How long `create()` waits for the first bundle, in ms (default 30000). */
  timeoutMs?: number;
  /** Time allowed for each fetch, in ms (default 10000). */
  fetchTimeoutMs?: number;
  /** Largest bundle document accepted, in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Refresh interval when the bundle has no refresh hint, in ms (default 300000, five minutes). */
  defaultRefreshMs?: number;
  /** The shortest refresh interval, whatever the hint says, in ms (default 10000). */
  minRefreshMs?: number;
  /** The longest refresh interval, whatever the hint says, in ms (default 3600000). */
  maxRefreshMs?: number;
  /**
   * The first retry delay after a failed fetch, in ms (default 5000); it doubles (with jitter) on
   * each further failure, up to the refresh interval.
   */
  retryMs?: number;
  /** Where to report fetches and failures (default: warnings and errors to stderr). */
  logger?: WorkloadApiLogger;
}

interface Schedule {
  defaultMs: number;
  minMs: number;
  maxMs: number;
  retryMs: number;
  startTimeoutMs: number;
}

function positiveMs(value: unknown, fallback: number, name: string): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(`FederatedBundleSource.create: ${name} must be a positive number of milliseconds`);
  }
  return ms;
}

function scheduleOf(options: FederatedBundleSourceOptions): Schedule {
  const schedule = {
    defaultMs: positiveMs(options.defaultRefreshMs, DEFAULT_REFRESH_MS, 'defaultRefreshMs'),
    minMs: positiveMs(options.minRefreshMs, DEFAULT_MIN_REFRESH_MS, 'minRefreshMs'),
    maxMs: positiveMs(options.maxRefreshMs, DEFAULT_MAX_REFRESH_MS, 'maxRefreshMs'),
    retryMs: positiveMs(options.retryMs, DEFAULT_RETRY_MS, 'retryMs'),
    startTimeoutMs: positiveMs(options.timeoutMs, DEFAULT_START_TIMEOUT_MS, 'timeoutMs'),
  };
  if (schedule.minMs > schedule.maxMs) {
    throw new TypeError('FederatedBundleSource.create: minRefreshMs must not exceed maxRefreshMs');
  }
  return schedule;
}

/**
 * Verifies a self-serving `https_spiffe` endpoint: with the bundle it returned last once there
 * is one (SPIFFE Federation §5.2.2.4), with the bootstrap source before.
 */
class SelfServingVerifier implements X509BundleSource {
  readonly #bootstrap: X509BundleSource;
  readonly #latest: () => SpiffeBundle | undefined;

  constructor(bootstrap: X509BundleSource, latest: () => SpiffeBundle | undefined) {
    this.#bootstrap = bootstrap;
    this.#latest = latest;
  }

  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    const latest = this.#latest();
    if (latest !== undefined && latest.trustDomain.equals(trustDomain)) return latest.getX509BundleForTrustDomain(trustDomain);
    return this.#bootstrap.getX509BundleForTrustDomain(trustDomain);
  }
}

/**
 * The bundle of a foreign trust domain, fetched from its SPIFFE bundle endpoint (with
 * {@link fetchBundle}'s checks) and kept current: it refetches after the bundle's
 * `spiffe_refresh_hint` (five minutes when absent, bounded by `minRefreshMs` and
 * `maxRefreshMs`), retries failures with a growing delay (never longer than the refresh
 * interval), and keeps the last good bundle through failures and malformed answers.
 *
 * For a self-serving `https_spiffe` endpoint (its SPIFFE ID in the trust domain fetched), the
 * configured `bundleSource` only bootstraps: each later fetch verifies the endpoint with the
 * bundle it returned last, so the trust domain rotates its CAs through its own endpoint.
 *
 * Events: `'update'` (the new {@link SpiffeBundle}, on each change), `'error'` (a
 * {@link FederationError}, on each failed fetch, only when a listener is registered: failures
 * are logged either way and never stop the source), `'close'`.
 *
 * A bundle source for its trust domain ({@link X509BundleSource}, {@link JwtBundleSource}, and
 * `getX509BundleSet()` / `getJwtBundleSet()` for consumers that list), so the TLS helpers take
 * it like any other; combine it with the local trust domain's source to authenticate peers of
 * both.
 *
 * @example
 * ```ts
 * import { FederatedBundleSource } from '@spiffe-node/spiffe/federation';
 * import { createSpiffeHttpsAgent } from '@spiffe-node/spiffe/tls';
 * const partner = await FederatedBundleSource.create({
 *   trustDomain: 'partner.org',
 *   url: 'https://spire.partner.org:8443',
 *   profile: { type: 'https_spiffe', endpointId: 'spiffe://partner.org/spire/server', bundleSource: bootstrap },
 * });
 * partner.on('update', (bundle) => console.log('partner.org bundle, sequence', bundle.sequenceNumber));
 * partner.on('error', (err) => console.warn(err.code, err.message));
 * const agent = createSpiffeHttpsAgent({ bundleSource: partner, authorizer: authorizeId('spiffe://partner.org/api') });
 * ```
 */
export class FederatedBundleSource extends EventEmitter implements X509BundleSource, JwtBundleSource {
  /** The trust domain whose bundle this source holds. */
  readonly trustDomain: TrustDomain;
  readonly #endpoint: ResolvedEndpoint;
  readonly #limits: FetchLimits;
  readonly #schedule: Schedule;
  readonly #logger: WorkloadApiLogger;
  readonly #verifier: X509BundleSource | undefined;
  readonly #abort = new AbortController();
  #bundle: SpiffeBundle | undefined;
  #x509Set: X509BundleSet | undefined;
  #jwtSet: JwtBundleSet | undefined;
  #lastError: FederationError | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #onFirst: (() => void) | undefined;

  private constructor(endpoint: ResolvedEndpoint, options: FederatedBundleSourceOptions) {
    super();
    this.#endpoint = endpoint;
    this.trustDomain = endpoint.trustDomain;
    this.#limits = fetchLimits({ timeoutMs: options.fetchTimeoutMs, maxBytes: options.maxBytes }, 'FederatedBundleSource.create');
    this.#schedule = scheduleOf(options);
    this.#logger = options.logger ?? defaultWorkloadApiLogger;
    const { profile } = endpoint;
    if (profile.type === 'https_spiffe') {
      this.#verifier = profile.endpointId.trustDomain.equals(endpoint.trustDomain)
        ? new SelfServingVerifier(profile.bundleSource, () => this.#bundle)
        : profile.bundleSource;
    }
  }

  /**
   * Fetches the bundle and resolves once the first fetch succeeded; failures before that are
   * retried (with the growing delay) until `timeoutMs`.
   *
   * @throws {@link FederationError}: the last fetch failure when `timeoutMs` passes (its code
   *   says why), or `ERR_FEDERATION_TIMEOUT` when no fetch finished in that time. `TypeError` for a
   *   bad configuration.
   * @example
   * ```ts
   * const partner = await FederatedBundleSource.create(
   *   { trustDomain: 'partner.org', url: 'https://bundles.partner.org/bundle.json', profile: { type: 'https_web' } },
   *   { timeoutMs: 10_000 },
   * );
   * ```
   */
  static async create(endpoint: BundleEndpoint, options: FederatedBundleSourceOptions = {}): Promise<FederatedBundleSource> {
    if (options === null || typeof options !== 'object') throw new TypeError('FederatedBundleSource.create: options must be an object');
    const source = new FederatedBundleSource(resolveEndpoint(endpoint, 'FederatedBundleSource.create'), options);
    const first = new Promise<void>((resolve) => {
      source.#onFirst = resolve;
    });
    source.#loop = source.#run(source.#abort.signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), source.#schedule.startTimeoutMs);
    });
    const late = await Promise.race([first.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      const error =
        source.#lastError ??
        source.#fail('ERR_FEDERATION_TIMEOUT', `no bundle within ${source.#schedule.startTimeoutMs} ms (the first fetch did not finish)`);
      await source.close();
      throw error;
    }
    return source;
  }

  /** Whether {@link FederatedBundleSource.close} has been called. */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * The current bundle (the last good one fetched). Treat it as read-only: it is the one
   * peers are verified with.
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const { sequenceNumber, refreshHint } = partner.getBundle();
   * ```
   */
  getBundle(): SpiffeBundle {
    this.#assertOpen();
    return this.#bundle as SpiffeBundle;
  }

  /**
   * The X.509 bundle of `trustDomain`, which must be this source's trust domain.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for another trust domain;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * parseAndVerifyX509Svid(peerChainDer, partner); // a partner.org SVID
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    this.#assertOpen();
    if (!(trustDomain instanceof TrustDomain))
      throw new TypeError('FederatedBundleSource.getX509BundleForTrustDomain: expected a TrustDomain');
    return (this.#bundle as SpiffeBundle).getX509BundleForTrustDomain(trustDomain);
  }

  /**
   * The JWT bundle of `trustDomain`, which must be this source's trust domain.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for another trust domain;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * await parseAndValidateJwtSvid(token, partner, ['spiffe://example.org/api']);
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    this.#assertOpen();
    if (!(trustDomain instanceof TrustDomain))
      throw new TypeError('FederatedBundleSource.getJwtBundleForTrustDomain: expected a TrustDomain');
    return (this.#bundle as SpiffeBundle).getJwtBundleForTrustDomain(trustDomain);
  }

  /**
   * The X.509 bundle of the trust domain, as the one bundle of this source (see
   * {@link X509BundleSource.x509Bundles}): what lets the plain client options trust it.
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const all = new X509BundleSet(...local.x509Bundles(), ...partner.x509Bundles());
   * ```
   */
  x509Bundles(): X509Bundle[] {
    this.#assertOpen();
    return (this.#x509Set as X509BundleSet).bundles();
  }

  /**
   * The X.509 bundle as a one-member set.
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * partner.getX509BundleSet().size; // 1
   * ```
   */
  getX509BundleSet(): X509BundleSet {
    this.#assertOpen();
    return this.#x509Set as X509BundleSet;
  }

  /**
   * The JWT bundle as a one-member set.
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * partner.getJwtBundleSet().bundles().length; // 1
   * ```
   */
  getJwtBundleSet(): JwtBundleSet {
    this.#assertOpen();
    return this.#jwtSet as JwtBundleSet;
  }

  /**
   * Registers a listener: `'update'` (the new bundle), `'error'` (a failed fetch; the source
   * carries on with the last good bundle) or `'close'`.
   *
   * @example
   * ```ts
   * partner.on('error', (err) => metrics.increment(`federation.${err.code}`));
   * ```
   */
  override on(event: 'update', listener: (bundle: SpiffeBundle) => void): this;
  override on(event: 'error', listener: (error: FederationError) => void): this;
  override on(event: 'close', listener: () => void): this;
  // EventEmitter's own signature, which an override must keep.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /**
   * Stops refreshing (aborting a fetch in flight) and emits `'close'`; afterwards the getters
   * throw `ERR_SOURCE_CLOSED`. Idempotent.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void partner.close());
   * ```
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#abort.abort();
    this.#closing = (async () => {
      await this.#loop;
      this.#bundle = undefined;
      this.#x509Set = undefined;
      this.#jwtSet = undefined;
      this.emit('close');
    })();
    return this.#closing;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.#schedule.retryMs, Math.max(this.#schedule.retryMs, this.#schedule.maxMs));
    while (!signal.aborted) {
      let delay: number;
      try {
        const bundle = await fetchResolved(this.#endpoint, this.#verifier, this.#limits, signal);
        if (signal.aborted) return;
        backoff.reset();
        delay = this.#refreshMs(bundle);
        this.#accept(bundle, delay);
      } catch (err) {
        if (signal.aborted) return;
        delay = Math.min(backoff.next(), this.#refreshMs(this.#bundle));
        this.#report(err, delay);
      }
      if (!(await sleep(delay, signal))) return;
    }
  }

  /** The time to the next fetch after `bundle`: its hint, bounded; the default without one. */
  #refreshMs(bundle: SpiffeBundle | undefined): number {
    const hint = bundle?.refreshHint;
    const ms = hint === undefined ? this.#schedule.defaultMs : hint * 1000;
    return Math.min(this.#schedule.maxMs, Math.max(this.#schedule.minMs, ms));
  }

  #accept(bundle: SpiffeBundle, nextMs: number): void {
    const previous = this.#bundle;
    this.#lastError = undefined;
    if (previous !== undefined && previous.equals(bundle)) {
      safeLog(this.#logger, 'debug', `${this.#where()}: unchanged; next refresh in ${seconds(nextMs)}`);
      return;
    }
    const before = previous?.sequenceNumber;
    const after = bundle.sequenceNumber;
    if (before !== undefined && after !== undefined && after < before) {
      safeLog(
        this.#logger,
        'warn',
        `${this.#where()}: the sequence number went back from ${before} to ${after}; taking the bundle the endpoint serves now (was its server restored?)`,
      );
    }
    this.#bundle = bundle;
    this.#x509Set = new X509BundleSet(bundle.getX509BundleForTrustDomain(bundle.trustDomain));
    this.#jwtSet = new JwtBundleSet(bundle.getJwtBundleForTrustDomain(bundle.trustDomain));
    safeLog(
      this.#logger,
      'info',
      `${this.#where()}: ${previous ? 'updated' : 'fetched'} (sequence ${after ?? 'none'}, ` +
        `${bundle.x509Authorities().length} X.509 and ${bundle.jwtAuthorities().size} JWT authorities); next refresh in ${seconds(nextMs)}`,
    );
    this.#onFirst?.();
    this.#onFirst = undefined;
    try {
      this.emit('update', bundle);
    } catch (err) {
      safeLog(this.#logger, 'error', `${this.#where()}: an 'update' listener threw: ${(err as Error)?.message ?? err}`);
    }
  }

  #report(err: unknown, retryMs: number): void {
    const error =
      err instanceof FederationError
        ? err
        : this.#fail(
            'ERR_FEDERATION_FETCH',
            `unexpected failure: ${err instanceof SpiffeError || err instanceof Error ? err.message : String(err)}`,
            err,
          );
    this.#lastError = error;
    const kept = this.#bundle ? `keeping the last good bundle (sequence ${this.#bundle.sequenceNumber ?? 'none'})` : 'no bundle yet';
    safeLog(this.#logger, 'warn', `${error.message}; ${kept}; retrying in ${seconds(retryMs)}`);
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', error);
    } catch (listenerErr) {
      safeLog(this.#logger, 'error', `${this.#where()}: an 'error' listener threw: ${(listenerErr as Error)?.message ?? listenerErr}`);
    }
  }

  #fail(code: 'ERR_FEDERATION_FETCH' | 'ERR_FEDERATION_TIMEOUT', message: string, cause?: unknown): FederationError {
    return new FederationError(code, `${this.#where()}: ${message}`, {
      trustDomain: this.trustDomain.name,
      url: this.#endpoint.url.href,
      cause,
    });
  }

  #where(): string {
    return `federation: bundle of "${this.trustDomain.name}" from ${describeUrl(this.#endpoint.url)}`;
  }

  #assertOpen(): void {
    if (this.closed) throw new SourceClosedError(`federation: the FederatedBundleSource of "${this.trustDomain.name}" is closed`);
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
