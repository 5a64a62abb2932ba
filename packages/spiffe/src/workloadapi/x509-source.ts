/**
 * X509Source: the workload's current X509-SVID and X.509 bundles, kept up to date from the
 * Workload API.
 *
 * @module
 */
import { GrpcStatus } from './grpc-http2.js';
import { BundleError, WorkloadApiError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import type { X509Bundle } from '../bundle/x509-bundle.js';
import type { X509BundleSource } from '../bundle/source.js';
import { X509Svid, type X509SvidSource } from '../svid/x509/index.js';
import { safeLog } from './logger.js';
import type { X509Context } from './responses.js';
import { WorkloadApiSource, type WorkloadApiSourceOptions } from './source-base.js';

/**
 * Options of {@link X509Source.create}.
 *
 * @example
 * ```ts
 * const options: X509SourceOptions = { timeoutMs: 10_000, hint: 'internal' };
 * ```
 */
export interface X509SourceOptions extends WorkloadApiSourceOptions {
  /**
   * Chooses the SVID {@link X509Source.getX509Svid} returns among the usable ones (default: the
   * first, the agent's default identity). Not together with `hint`.
   */
  picker?: (svids: readonly X509Svid[]) => X509Svid;
  /** Serve the SVID with this hint (as set on its registration entry). Not together with `picker`. */
  hint?: string;
}

/**
 * The workload's X509-SVID and the X.509 bundles it trusts, from the Workload API, always
 * current: the source watches the agent's `FetchX509SVID` stream, swaps in each validated
 * rotation, and survives agent restarts (it retries with backoff while serving the last SVID
 * until that expires).
 *
 * An SVID is never served past its expiry, and when the agent answers `PermissionDenied` (the
 * registration entry was removed) the identity and bundles are withdrawn:
 * {@link X509Source.getX509Svid} throws until a new SVID arrives.
 *
 * Implements {@link X509SvidSource} and {@link X509BundleSource}, so it plugs straight into the
 * TLS helpers.
 *
 * @example
 * ```ts
 * import { X509Source } from '@spiffe-node/spiffe/workloadapi';
 * const source = await X509Source.create(); // SPIFFE_ENDPOINT_SOCKET
 * source.on('update', (ctx) => console.log(`SVID rotated: ${ctx.svids[0]?.id}`));
 * const svid = source.getX509Svid();
 * const bundle = source.getX509BundleForTrustDomain(svid.id.trustDomain);
 * // ...
 * await source.close();
 * ```
 */
export class X509Source extends WorkloadApiSource<X509Context> implements X509SvidSource, X509BundleSource {
  readonly #picker: ((svids: readonly X509Svid[]) => X509Svid) | undefined;
  readonly #hint: string | undefined;
  #context: X509Context | undefined;
  #svid: X509Svid | undefined;
  #withdrawnReason: string | undefined;

  private constructor(options: X509SourceOptions) {
    super('X509Source', options);
    this.#picker = options.picker;
    this.#hint = options.hint;
  }

  /**
   * Connects to the Workload API and resolves once the first usable X509-SVID has arrived.
   *
   * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_TIMEOUT` after `timeoutMs` (default
   *   30 s) without an SVID, with what to check (socket path, agent, registration entry) and the
   *   last error seen; `ERR_WORKLOADAPI_ADDRESS` for a bad address; the agent's error on
   *   `InvalidArgument` / `Unimplemented`.
   * @example
   * ```ts
   * const source = await X509Source.create({ address: 'unix:///run/spire/agent.sock', timeoutMs: 5000 });
   * ```
   */
  static async create(options: X509SourceOptions = {}): Promise<X509Source> {
    if (typeof options !== 'object' || options === null) throw new TypeError('X509Source.create: options must be an object');
    if (options.picker !== undefined && typeof options.picker !== 'function') {
      throw new TypeError('X509Source.create: picker must be a function');
    }
    if (options.hint !== undefined && (typeof options.hint !== 'string' || options.hint === '')) {
      throw new TypeError('X509Source.create: hint must be a non-empty string');
    }
    if (options.picker && options.hint !== undefined) {
      throw new TypeError('X509Source.create: pass either picker or hint, not both');
    }
    const source = new X509Source(options);
    source.startWatch((signal) =>
      source.client.watchX509Context(
        {
          onX509ContextUpdate: (ctx) => source.#onUpdate(ctx),
          onX509ContextWatchError: (err) => source.#onError(err),
        },
        signal,
      ),
    );
    const what = options.hint === undefined ? 'an X509-SVID' : `an X509-SVID with hint "${options.hint}"`;
    await source.waitReady(options.timeoutMs, what);
    return source;
  }

  /**
   * The current X509-SVID (the default one, or the one `picker` / `hint` chose).
   *
   * @throws {@link SourceClosedError} after close; {@link WorkloadApiError} `ERR_SVID_NOT_FOUND` when
   *   the identity was withdrawn (PermissionDenied) or the SVID has expired without renewal.
   * @example
   * ```ts
   * const { certificates, privateKey } = source.getX509Svid().marshal();
   * ```
   */
  getX509Svid(): X509Svid {
    this.assertOpen();
    const svid = this.#svid;
    if (!svid) {
      throw new WorkloadApiError(
        'ERR_SVID_NOT_FOUND',
        `workloadapi: X509Source has no X509-SVID to serve: ${this.#withdrawnReason ?? 'none received'}`,
      );
    }
    if (svid.expiresAt.getTime() <= Date.now()) {
      throw new WorkloadApiError(
        'ERR_SVID_NOT_FOUND',
        `workloadapi: X509Source: the X509-SVID ${svid.id} expired at ${svid.expiresAt.toISOString()} and the ` +
          `agent has not sent a renewed one${this.lastError ? ` (last error: ${this.lastError.message})` : ''}`,
      );
    }
    return svid;
  }

  /**
   * The X.509 bundle of `trustDomain` (the workload's own or a federated one).
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when the source has none for it;
   *   {@link SourceClosedError} after close.
   * @example
   * ```ts
   * const bundle = source.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org'));
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    this.assertOpen();
    if (!(trustDomain instanceof TrustDomain)) {
      throw new TypeError('X509Source.getX509BundleForTrustDomain: expected a TrustDomain');
    }
    const ctx = this.#context;
    if (!ctx) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `x509bundle: no X.509 bundle for trust domain "${trustDomain.name}": the X509Source holds no bundles (${this.#withdrawnReason ?? 'none received'})`,
      );
    }
    return ctx.bundles.getX509BundleForTrustDomain(trustDomain);
  }

  /**
   * Every X.509 bundle the source holds now (its own trust domain's and the federated ones),
   * sorted by trust domain name; empty before the first context or after the agent withdrew it.
   *
   * @throws {@link SourceClosedError} after close.
   * @example
   * ```ts
   * for (const bundle of source.x509Bundles()) console.log(bundle.trustDomain.name);
   * ```
   */
  x509Bundles(): X509Bundle[] {
    this.assertOpen();
    return this.#context?.bundles.bundles() ?? [];
  }

  /**
   * The latest accepted X.509 context (every usable SVID and the bundles).
   *
   * @throws {@link SourceClosedError} after close; {@link WorkloadApiError} `ERR_SVID_NOT_FOUND` when
   *   withdrawn.
   * @example
   * ```ts
   * for (const svid of source.getX509Context().svids) console.log(svid.id.toString(), svid.hint);
   * ```
   */
  getX509Context(): X509Context {
    this.assertOpen();
    if (!this.#context) {
      throw new WorkloadApiError(
        'ERR_SVID_NOT_FOUND',
        `workloadapi: X509Source holds no X.509 context: ${this.#withdrawnReason ?? 'none received'}`,
      );
    }
    return this.#context;
  }

  #choose(ctx: X509Context): X509Svid | undefined {
    if (this.#hint !== undefined) {
      const match = ctx.svids.find((s) => s.hint === this.#hint);
      if (!match) {
        const hints = ctx.svids.map((s) => JSON.stringify(s.hint)).join(', ');
        this.#withdrawnReason = `no SVID has hint "${this.#hint}" (hints received: ${hints})`;
        this.recordError(new WorkloadApiError('ERR_SVID_NOT_FOUND', `workloadapi: X509Source: ${this.#withdrawnReason}`));
        safeLog(this.logger, 'warn', `workloadapi: X509Source: ${this.#withdrawnReason}`);
      }
      return match;
    }
    if (this.#picker) {
      try {
        const picked = this.#picker(ctx.svids);
        if (picked instanceof X509Svid) return picked;
        this.#withdrawnReason = 'the picker returned no X509Svid';
      } catch (err) {
        this.#withdrawnReason = `the picker threw: ${(err as Error)?.message ?? err}`;
      }
      this.recordError(new WorkloadApiError('ERR_SVID_NOT_FOUND', `workloadapi: X509Source: ${this.#withdrawnReason}`));
      safeLog(this.logger, 'error', `workloadapi: X509Source: ${this.#withdrawnReason}`);
      return undefined;
    }
    return ctx.svids[0];
  }

  #onUpdate(ctx: X509Context): void {
    if (this.closed) return;
    const svid = this.#choose(ctx);
    this.#context = ctx;
    this.#svid = svid;
    if (!svid) return;
    this.#withdrawnReason = undefined;
    this.markReady();
    this.emitUpdate(ctx);
  }

  #onError(err: WorkloadApiError): void {
    this.recordError(err);
    if (err.grpcCode === GrpcStatus.PERMISSION_DENIED && (this.#svid || this.#context)) {
      this.#svid = undefined;
      this.#context = undefined;
      this.#withdrawnReason = `the agent withdrew this workload's identity (${err.message})`;
      safeLog(this.logger, 'warn', `workloadapi: X509Source: identity withdrawn: the agent answered PermissionDenied`);
    }
  }

  protected onClosed(): void {
    this.#svid = undefined;
    this.#context = undefined;
  }
}
