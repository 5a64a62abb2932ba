/**
 * The federation state of the agent: its federation relationships and the bundles of the
 * foreign trust domains (set by `bundle set`, given with a relationship, or fetched from a
 * partner's bundle endpoint), kept in `federation.json` in the data directory (0600).
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { SpiffeBundle } from '@spiffe-node/spiffe/bundle';
import { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';
import { readStateFile, writeFileAtomic } from '../state/secure-fs.js';
import type { FederationRelationship } from './relationship.js';

interface StoredFederation {
  version: 1;
  relationships: FederationRelationship[];
  /** Trust domain name → its SPIFFE bundle document. */
  bundles: Record<string, string>;
}

/**
 * Federation relationships and foreign bundles. Emits `'bundle'` (the trust domain name) when a
 * foreign bundle is set, changed or deleted, and `'relationship'` (the name) when a relationship
 * is created, updated or deleted.
 *
 * @example
 * ```ts
 * const store = await FederationStore.open('/tmp/spiffe-dev-agent/data');
 * await store.setBundle('partner.org', SpiffeBundle.parse(TrustDomain.fromString('partner.org'), json));
 * ```
 */
export class FederationStore extends EventEmitter {
  readonly #file: string;
  readonly #relationships = new Map<string, FederationRelationship>();
  readonly #bundles = new Map<string, SpiffeBundle>();
  /** Writes run one after the other, each with the state as it is when it runs. */
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    super();
    this.setMaxListeners(0);
    this.#file = file;
  }

  /**
   * Loads `federation.json` from the data directory (an empty store when there is none).
   *
   * @throws {@link DevAgentError} `ERR_AGENT_STATE` if the file cannot be read.
   */
  static async open(dataDir: string): Promise<FederationStore> {
    const store = new FederationStore(join(dataDir, 'federation.json'));
    const text = await readStateFile(store.#file);
    if (text === undefined) return store;
    try {
      const stored = JSON.parse(text) as StoredFederation;
      if (stored.version !== 1) throw new Error(`version ${String(stored.version)} is not 1`);
      for (const r of stored.relationships) store.#relationships.set(r.trustDomain, r);
      for (const [td, json] of Object.entries(stored.bundles)) store.#bundles.set(td, SpiffeBundle.parse(TrustDomain.fromString(td), json));
    } catch (err) {
      throw new DevAgentError('ERR_AGENT_STATE', `${store.#file} cannot be read (${(err as Error).message}); fix or remove it`, {
        cause: err,
      });
    }
    return store;
  }

  /** The relationships, in creation order (as SPIRE lists them). */
  relationships(): FederationRelationship[] {
    return [...this.#relationships.values()];
  }

  /** The relationship with a trust domain, if there is one. */
  relationship(trustDomain: string): FederationRelationship | undefined {
    return this.#relationships.get(trustDomain);
  }

  /**
   * Creates (`replace` false) or replaces (`replace` true) a checked relationship, and sets the
   * bundle given with it.
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_EXISTS` (create) or `ERR_FEDERATION_NOT_FOUND` (replace).
   */
  async putRelationship(relationship: FederationRelationship, replace: boolean, bundle?: SpiffeBundle): Promise<void> {
    const td = relationship.trustDomain;
    const exists = this.#relationships.has(td);
    if (!replace && exists) throw new DevAgentError('ERR_FEDERATION_EXISTS', `a federation relationship with "${td}" exists already`);
    if (replace && !exists) throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', `no federation relationship with "${td}"`);
    this.#relationships.set(td, relationship);
    if (bundle !== undefined) this.#bundles.set(td, bundle);
    await this.#save();
    this.emit('relationship', td);
    if (bundle !== undefined) this.emit('bundle', td);
  }

  /**
   * Deletes a relationship (its bundle stays, as in SPIRE: `bundle delete` removes it).
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND`.
   */
  async deleteRelationship(trustDomain: string): Promise<void> {
    if (!this.#relationships.delete(trustDomain)) {
      throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', 'federation relationship not found');
    }
    await this.#save();
    this.emit('relationship', trustDomain);
  }

  /** The trust domains with a foreign bundle, sorted. */
  bundleTrustDomains(): string[] {
    return [...this.#bundles.keys()].sort();
  }

  /** The foreign bundle of a trust domain, if there is one. */
  bundle(trustDomain: string): SpiffeBundle | undefined {
    return this.#bundles.get(trustDomain);
  }

  /** Sets the foreign bundle of a trust domain (emits `'bundle'` when it changed). */
  async setBundle(trustDomain: string, bundle: SpiffeBundle): Promise<void> {
    const old = this.#bundles.get(trustDomain);
    if (old !== undefined && old.equals(bundle)) return;
    this.#bundles.set(trustDomain, bundle);
    await this.#save();
    this.emit('bundle', trustDomain);
  }

  /**
   * Deletes the foreign bundle of a trust domain.
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND`.
   */
  async deleteBundle(trustDomain: string): Promise<void> {
    if (!this.#bundles.delete(trustDomain)) throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', 'bundle not found');
    await this.#save();
    this.emit('bundle', trustDomain);
  }

  #save(): Promise<void> {
    const write = this.#writing.then(() => {
      const stored: StoredFederation = {
        version: 1,
        relationships: this.relationships(),
        bundles: Object.fromEntries([...this.#bundles].map(([td, b]) => [td, b.marshal()])),
      };
      return writeFileAtomic(this.#file, `${JSON.stringify(stored, null, 2)}\n`);
    });
    this.#writing = write.catch(() => undefined);
    return write;
  }
}
