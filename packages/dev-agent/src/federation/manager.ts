/**
 * Keeps the bundles of the partner trust domains current, as SPIRE's server does: one
 * `FederatedBundleSource` (from `@spiffe-node/spiffe/federation`) per federation relationship,
 * each new bundle written to the {@link FederationStore}; `refresh` fetches one at once.
 *
 * An `https_spiffe` endpoint is verified with the bundle the store holds for the endpoint's
 * trust domain (set with `bundle set` or with the relationship, then the bundle the endpoint
 * itself served last), or with the agent's own bundle when the endpoint is in one of the agent's
 * trust domains.
 *
 * @module
 */
import type { X509Bundle, X509BundleSource } from '@spiffe-node/spiffe/bundle';
import { BundleError } from '@spiffe-node/spiffe/errors';
import { FederatedBundleSource, fetchBundle, type BundleEndpoint } from '@spiffe-node/spiffe/federation';
import type { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FederationRelationship } from './relationship.js';
import type { FederationStore } from './store.js';

/** How long to wait before trying again to start a watcher whose first fetch failed. */
const RESTART_MS = 5_000;

interface Watch {
  relationship: FederationRelationship;
  stop: () => void;
}

/**
 * The watchers of the agent's federation relationships.
 *
 * @example
 * ```ts
 * const manager = new FederationManager(store, (td) => issuer.authority(td)?.x509Bundle(), logger);
 * manager.start();
 * await manager.refresh('partner.org');
 * await manager.stop();
 * ```
 */
export class FederationManager {
  readonly #store: FederationStore;
  readonly #local: (trustDomain: string) => X509Bundle | undefined;
  readonly #logger: Logger;
  readonly #watches = new Map<string, Watch>();
  readonly #onRelationship = (td: string): void => this.#sync(td);
  #stopped = false;

  /**
   * @param local - The X.509 bundle of a trust domain the agent holds a CA for (its own, or one
   *   of `-federatedTrustDomain`), for endpoints in those trust domains.
   */
  constructor(store: FederationStore, local: (trustDomain: string) => X509Bundle | undefined, logger: Logger) {
    this.#store = store;
    this.#local = local;
    this.#logger = logger;
  }

  /** Starts a watcher for each relationship, and follows relationship changes. */
  start(): void {
    this.#store.on('relationship', this.#onRelationship);
    for (const r of this.#store.relationships()) this.#sync(r.trustDomain);
  }

  /**
   * Fetches a partner's bundle now and stores it (`spire-server federation refresh`).
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND` without a relationship,
   *   `ERR_FEDERATION_FETCH` when the fetch fails (the message says why).
   */
  async refresh(trustDomain: string): Promise<void> {
    const relationship = this.#store.relationship(trustDomain);
    if (relationship === undefined) {
      throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', `there is no federation relationship with trust domain "${trustDomain}"`);
    }
    let bundle;
    try {
      bundle = await fetchBundle(this.#endpoint(relationship));
    } catch (err) {
      throw new DevAgentError('ERR_FEDERATION_FETCH', `failed to fetch federated bundle from endpoint: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await this.#store.setBundle(trustDomain, bundle);
  }

  /** Stops every watcher. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#store.off('relationship', this.#onRelationship);
    for (const w of this.#watches.values()) w.stop();
    this.#watches.clear();
  }

  /** Starts, restarts or stops the watcher of a trust domain to match its relationship. */
  #sync(trustDomain: string): void {
    const relationship = this.#store.relationship(trustDomain);
    const current = this.#watches.get(trustDomain);
    if (current !== undefined && current.relationship === relationship) return;
    current?.stop();
    this.#watches.delete(trustDomain);
    if (relationship === undefined || this.#stopped) return;
    this.#watches.set(trustDomain, { relationship, stop: this.#watch(relationship) });
  }

  /** Runs a watcher until the returned function is called; a watcher that cannot start is retried. */
  #watch(relationship: FederationRelationship): () => void {
    const td = relationship.trustDomain;
    let stopped = false;
    let source: FederatedBundleSource | undefined;
    let retry: NodeJS.Timeout | undefined;
    const store = (bundle: Parameters<FederationStore['setBundle']>[1]): void => {
      if (stopped) return;
      this.#store.setBundle(td, bundle).then(
        () => this.#logger.log('debug', 'Federated bundle stored', { trust_domain: td, sequence: bundle.sequenceNumber }),
        (err: unknown) => this.#logger.log('error', 'Cannot store a federated bundle', { trust_domain: td, error: (err as Error).message }),
      );
    };
    const begin = (): void => {
      FederatedBundleSource.create(this.#endpoint(relationship), { logger: this.#sourceLogger(td) }).then(
        (s) => {
          if (stopped) {
            void s.close();
            return;
          }
          source = s;
          s.on('update', store);
          s.on('error', () => undefined); // logged by the source's logger
          store(s.getBundle());
        },
        (err: unknown) => {
          if (stopped) return;
          this.#logger.log('warn', 'Cannot fetch a federated bundle; retrying', {
            trust_domain: td,
            url: relationship.bundleEndpointUrl,
            error: (err as Error).message,
          });
          retry = setTimeout(begin, RESTART_MS);
          retry.unref();
        },
      );
    };
    begin();
    return () => {
      stopped = true;
      clearTimeout(retry);
      void source?.close();
    };
  }

  #endpoint(r: FederationRelationship): BundleEndpoint {
    if (r.profile === 'https_web') return { trustDomain: r.trustDomain, url: r.bundleEndpointUrl, profile: { type: 'https_web' } };
    const bundleSource: X509BundleSource = {
      getX509BundleForTrustDomain: (td: TrustDomain): X509Bundle => {
        const bundle = this.#local(td.name) ?? this.#store.bundle(td.name)?.getX509BundleForTrustDomain(td);
        if (bundle === undefined) {
          throw new BundleError(
            'ERR_BUNDLE_NOT_FOUND',
            `no bundle of "${td.name}" to verify the bundle endpoint of "${r.trustDomain}" with; set one with spire-server bundle set -id spiffe://${td.name}`,
          );
        }
        return bundle;
      },
    };
    return {
      trustDomain: r.trustDomain,
      url: r.bundleEndpointUrl,
      profile: { type: 'https_spiffe', endpointId: r.endpointSpiffeId as string, bundleSource },
    };
  }

  #sourceLogger(td: string): { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void } {
    const log = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string) => this.#logger.log(level, message, { trust_domain: td });
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  }
}
