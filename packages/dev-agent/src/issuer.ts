/**
 * The identity core of the agent: the authorities of its trust domains, the registration
 * entries, the X509-SVIDs issued per entry, JWT-SVID minting and validation, and the schedule
 * that rotates all of them. It emits `change` whenever something a workload receives may have
 * changed (an SVID rotated, a bundle changed, an entry created or deleted).
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { SpiffeId, type TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import type { SpiffeBundle } from '@spiffe-node/spiffe/bundle';
import { TrustDomainAuthority, type AuthorityConfig, type StoredAuthority } from './ca/authority.js';
import { mintX509Svid } from './ca/x509-ca.js';
import { DevAgentError } from './errors.js';
import type { FederationStore } from './federation/store.js';
import type { Logger } from './log.js';
import { entryMatches, EntryStore, type EntryContext, type EntryParams, type RegistrationEntry } from './state/entries.js';
import { readStateFile, writeFileAtomic } from './state/secure-fs.js';
import { mintJwtSvid, validateJwtSvid } from './svid/jwt-svid.js';
import { JwtSvidCache } from './svid/jwt-svid-cache.js';
import { X509SvidCache, type IssuedX509Svid } from './svid/x509-svid-cache.js';
import type { JWTPayload } from 'jose';

/** Who is calling, as attestation found out. */
export type Caller =
  /** A caller attested by its Unix peer credentials. */
  | { readonly kind: 'selectors'; readonly selectors: ReadonlySet<string> }
  /** A caller on a per-identity socket: it gets the entries with this SPIFFE ID. */
  | { readonly kind: 'identity'; readonly spiffeId: string };

/** Settings of the {@link Issuer}. */
export interface IssuerConfig {
  dataDir: string;
  trustDomain: TrustDomain;
  federatedTrustDomains: readonly TrustDomain[];
  /** Default X509-SVID lifetime, seconds. */
  x509SvidTtl: number;
  /** Default JWT-SVID lifetime, seconds. */
  jwtSvidTtl: number;
  authority: AuthorityConfig;
  /** The `spiffe_refresh_hint` of SPIFFE bundles, seconds. */
  refreshHint: number;
  logger: Logger;
  /** Bundles of foreign trust domains (federation relationships, `bundle set`); entries may federate with them. */
  federation?: FederationStore;
}

const MAX_TIMER_MS = 60 * 60 * 1000;

/**
 * Issues identities for the entries that match a caller.
 *
 * @example
 * ```ts
 * const issuer = await Issuer.open(config);
 * const entries = issuer.identitiesFor({ kind: 'selectors', selectors: new Set(['unix:uid:0']) });
 * ```
 */
export class Issuer extends EventEmitter {
  readonly config: IssuerConfig;
  readonly entries: EntryStore;
  readonly #authorities: Map<string, TrustDomainAuthority>;
  readonly #agentIds: ReadonlySet<string>;
  readonly #cache: X509SvidCache;
  readonly #jwtCache = new JwtSvidCache();
  /** Grows with every JWT key rotation: a token minted across one is not cached. */
  #jwtKeyGeneration = 0;
  #timer: NodeJS.Timeout | undefined;
  #maintaining: Promise<void> | undefined;
  #stopped = false;
  /** Grows with every change of a foreign bundle: the version of what streams sent. */
  #foreignRevision = 0;
  readonly #onForeignBundle = (td: string): void => {
    this.#foreignRevision += 1;
    this.config.logger.log('info', 'Federated bundle updated', {
      trust_domain: td,
      present: this.config.federation?.bundle(td) !== undefined,
    });
    this.emit('change');
  };

  private constructor(config: IssuerConfig, entries: EntryStore, authorities: Map<string, TrustDomainAuthority>) {
    super();
    this.setMaxListeners(0);
    this.config = config;
    this.entries = entries;
    this.#authorities = authorities;
    this.#agentIds = new Set([...authorities.keys()].map((td) => `spiffe://${td}/host`));
    this.#cache = new X509SvidCache((entry) => this.#mintX509(entry));
    config.federation?.on('bundle', this.#onForeignBundle);
  }

  /** Loads the state of the data directory, brings every authority up to date, and starts the rotation schedule. */
  static async open(config: IssuerConfig): Promise<Issuer> {
    const entries = await EntryStore.open(config.dataDir);
    const authorities = new Map<string, TrustDomainAuthority>();
    for (const td of [config.trustDomain, ...config.federatedTrustDomains]) {
      if (authorities.has(td.name)) continue;
      const text = await readStateFile(authorityFile(config.dataDir, td.name));
      let stored: StoredAuthority | undefined;
      if (text !== undefined) {
        try {
          stored = JSON.parse(text) as StoredAuthority;
        } catch (err) {
          throw new DevAgentError('ERR_AGENT_STATE', `${authorityFile(config.dataDir, td.name)} is not valid JSON; fix or remove it`, {
            cause: err,
          });
        }
      }
      authorities.set(td.name, await TrustDomainAuthority.load(td, stored, config.authority));
    }
    const issuer = new Issuer(config, entries, authorities);
    await issuer.#maintain(false);
    return issuer;
  }

  /** The agent's own IDs (`spiffe://<td>/host` for each trust domain it holds a CA for): entries with one of them as parent are served. */
  get agentIds(): ReadonlySet<string> {
    return this.#agentIds;
  }

  /** The trust domains the agent holds a CA for, its own first. */
  trustDomains(): string[] {
    return [...this.#authorities.keys()];
  }

  /** The authority of a trust domain, if the agent holds one. */
  authority(trustDomain: string): TrustDomainAuthority | undefined {
    return this.#authorities.get(trustDomain);
  }

  /** The context entries are validated in. */
  entryContext(): EntryContext {
    return {
      localTrustDomains: this.trustDomains(),
      federatableTrustDomains: [...this.trustDomains(), ...(this.config.federation?.bundleTrustDomains() ?? [])],
      defaultParentId: `spiffe://${this.config.trustDomain.name}/host`,
    };
  }

  /** Whether the agent has a bundle for a trust domain: a CA of its own, or a foreign bundle. */
  hasBundle(trustDomain: string): boolean {
    return this.#authorities.has(trustDomain) || this.config.federation?.bundle(trustDomain) !== undefined;
  }

  /** The X.509 bundle of a trust domain as concatenated DER certificates (the Workload API form). */
  x509BundleDer(trustDomain: string): Buffer {
    const authority = this.#authorities.get(trustDomain);
    if (authority) return authority.bundleDer();
    return Buffer.concat((this.#foreign(trustDomain)?.x509Authorities() ?? []).map((c) => c.raw));
  }

  /** The JWT bundle of a trust domain as a JWK Set (JSON). */
  jwks(trustDomain: string): string {
    const authority = this.#authorities.get(trustDomain);
    if (authority) return authority.jwks();
    return this.#foreign(trustDomain)?.jwtBundle().marshal() ?? '{"keys":[]}';
  }

  /** A string that changes whenever the bundle of a trust domain changes. */
  bundleVersion(trustDomain: string): string {
    const authority = this.#authorities.get(trustDomain);
    return authority ? `${trustDomain}#${authority.sequence}` : `${trustDomain}@${this.#foreignRevision}`;
  }

  /** The JWT authorities of a trust domain, by key ID. */
  #jwtAuthorities(trustDomain: string): Map<string, KeyObject> | undefined {
    const authority = this.#authorities.get(trustDomain);
    if (authority) return new Map(authority.jwtKeys().map((k) => [k.id, k.publicKey]));
    return this.#foreign(trustDomain)?.jwtAuthorities();
  }

  #foreign(trustDomain: string): SpiffeBundle | undefined {
    return this.config.federation?.bundle(trustDomain);
  }

  /**
   * Deletes the foreign bundle of a trust domain (`spire-server bundle delete`).
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_INVALID` for a trust domain the agent holds a CA
   *   for, `ERR_FEDERATION_IN_USE` while entries federate with it, `ERR_FEDERATION_NOT_FOUND`.
   */
  async deleteForeignBundle(trustDomain: string): Promise<void> {
    if (trustDomain === this.config.trustDomain.name) {
      throw new DevAgentError('ERR_FEDERATION_INVALID', 'removing the bundle for the server trust domain is not allowed');
    }
    if (this.#authorities.has(trustDomain)) {
      throw new DevAgentError(
        'ERR_FEDERATION_INVALID',
        `the agent holds a CA for "${trustDomain}" (-federatedTrustDomain); its bundle cannot be removed`,
      );
    }
    const users = this.entries.list().filter((e) => e.federatesWith.includes(trustDomain)).length;
    if (users > 0) {
      throw new DevAgentError(
        'ERR_FEDERATION_IN_USE',
        `failed to delete federated bundle: cannot delete bundle; federated with ${users} registration entries`,
      );
    }
    if (this.config.federation === undefined) throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', 'bundle not found');
    await this.config.federation.deleteBundle(trustDomain);
  }

  /** Whether an entry is served: its parent is this agent and its trust domain has a CA here. */
  isServed(entry: RegistrationEntry): boolean {
    return this.#agentIds.has(entry.parentId) && this.#authorities.has(trustDomainOf(entry.spiffeId));
  }

  /**
   * The entries a caller receives, sorted by entry ID as SPIRE's agent sorts them (the first is
   * the default identity).
   */
  identitiesFor(caller: Caller): RegistrationEntry[] {
    return this.entries
      .list()
      .filter((e) => this.isServed(e) && (caller.kind === 'selectors' ? entryMatches(e, caller.selectors) : e.spiffeId === caller.spiffeId))
      .sort(byEntryId);
  }

  /**
   * The trust domains whose bundles a caller with these entries receives: each entry's own trust
   * domain, then the trust domains the entries federate with (those the agent holds).
   */
  visibleTrustDomains(entries: readonly RegistrationEntry[]): { own: string[]; federated: string[] } {
    const own: string[] = [];
    const federated: string[] = [];
    for (const e of entries) {
      const td = trustDomainOf(e.spiffeId);
      if (!own.includes(td)) own.push(td);
    }
    for (const e of entries) {
      for (const td of e.federatesWith) {
        if (this.hasBundle(td) && !federated.includes(td)) federated.push(td);
      }
    }
    return { own, federated };
  }

  /** The current X509-SVID of an entry (minted on first use, re-minted at half-life). */
  async x509Svid(entry: RegistrationEntry): Promise<IssuedX509Svid> {
    const svid = await this.#cache.get(entry);
    this.#schedule();
    return svid;
  }

  async #mintX509(entry: RegistrationEntry): Promise<IssuedX509Svid> {
    const td = trustDomainOf(entry.spiffeId);
    const authority = this.#authorities.get(td);
    if (authority === undefined) throw new DevAgentError('ERR_AGENT_STATE', `no authority for trust domain ${td}`);
    const intermediate = authority.intermediate;
    const issuedAt = new Date();
    const minted = await mintX509Svid({
      spiffeId: entry.spiffeId,
      dnsNames: entry.dnsNames,
      keyType: this.config.authority.keyType,
      ttlSeconds: entry.x509SvidTtl || this.config.x509SvidTtl,
      issuer: intermediate,
      now: issuedAt,
    });
    const rotateAt = new Date(issuedAt.getTime() + (minted.notAfter.getTime() - issuedAt.getTime()) / 2);
    this.config.logger.log('info', 'Issued X509-SVID', {
      spiffe_id: entry.spiffeId,
      entry_id: entry.id,
      serial: minted.serial,
      expires_at: minted.notAfter.toISOString(),
    });
    return {
      entryId: entry.id,
      entryRevision: entry.revision,
      spiffeId: entry.spiffeId,
      certChainDer: Buffer.concat([minted.der, intermediate.der]),
      privateKeyDer: minted.privateKeyDer,
      serial: minted.serial,
      issuedAt,
      notAfter: minted.notAfter,
      rotateAt,
    };
  }

  /**
   * A JWT-SVID for an entry and audience. As SPIRE's agent does, the same token is served again
   * for the same entry and audience set (in any order) until less than half of its lifetime
   * remains; a token whose key has left the JWT bundle is never served, and none survives a
   * rotation of the JWT keys or the deletion of its entry.
   */
  async jwtSvid(entry: RegistrationEntry, audience: readonly string[]): Promise<{ token: string; expiresAt: Date }> {
    const td = trustDomainOf(entry.spiffeId);
    const authority = this.#authorities.get(td) as TrustDomainAuthority;
    const now = Date.now();
    const published = new Set(authority.jwtKeys().map((k) => k.id));
    const cached = this.#jwtCache.get(entry, audience, { now, validKid: (kid) => published.has(kid) });
    if (cached !== undefined) return { token: cached.token, expiresAt: cached.expiresAt };
    const key = authority.jwtSigningKey;
    const generation = this.#jwtKeyGeneration;
    const minted = await mintJwtSvid({
      spiffeId: entry.spiffeId,
      audience,
      ttlSeconds: entry.jwtSvidTtl || this.config.jwtSvidTtl,
      key,
      now,
    });
    if (generation === this.#jwtKeyGeneration && this.entries.get(entry.id)?.revision === entry.revision) {
      this.#jwtCache.set(entry, audience, { token: minted.token, kid: key.id, issuedAt: minted.issuedAt, expiresAt: minted.expiresAt });
    }
    this.config.logger.log('info', 'Issued JWT-SVID', {
      spiffe_id: entry.spiffeId,
      entry_id: entry.id,
      audience,
      kid: key.id,
      expires_at: minted.expiresAt.toISOString(),
    });
    return { token: minted.token, expiresAt: minted.expiresAt };
  }

  /**
   * Validates a JWT-SVID against the JWT bundles of the given trust domains.
   *
   * @throws {@link JwtSvidValidationError} with the reason.
   */
  async validateJwtSvid(
    token: string,
    audience: string,
    trustDomains: readonly string[],
  ): Promise<{ spiffeId: string; claims: JWTPayload }> {
    const keys = new Map<string, Map<string, KeyObject>>();
    for (const td of trustDomains) {
      const authorities = this.#jwtAuthorities(td);
      if (authorities) keys.set(td, authorities);
    }
    return validateJwtSvid(token, audience, keys);
  }

  /**
   * Creates a registration entry; workloads that match it receive it at once.
   *
   * @throws {@link DevAgentError} `ERR_ENTRY_INVALID` or `ERR_ENTRY_EXISTS`.
   */
  async createEntry(params: EntryParams): Promise<RegistrationEntry> {
    const entry = await this.entries.create(params, this.entryContext());
    this.config.logger.log('info', 'Created registration entry', {
      entry_id: entry.id,
      spiffe_id: entry.spiffeId,
      parent_id: entry.parentId,
      selectors: entry.selectors.map((s) => `${s.type}:${s.value}`),
      served: this.isServed(entry),
    });
    this.emit('change');
    return entry;
  }

  /**
   * Deletes a registration entry; workloads lose it at once.
   *
   * @throws {@link DevAgentError} `ERR_ENTRY_NOT_FOUND`.
   */
  async deleteEntry(id: string): Promise<RegistrationEntry> {
    const entry = await this.entries.delete(id);
    this.#jwtCache.dropEntry(entry.id);
    this.config.logger.log('info', 'Deleted registration entry', { entry_id: entry.id, spiffe_id: entry.spiffeId });
    await this.#cache.rotate(Date.now(), this.#liveEntries());
    this.emit('change');
    return entry;
  }

  /** Re-mints every issued X509-SVID now and pushes them to open streams. */
  async rotateX509Svids(): Promise<void> {
    await this.#cache.rotate(Date.now(), this.#liveEntries(), true);
    this.#schedule();
    this.emit('change');
  }

  /** Mints a new JWT signing key for every trust domain, active at once; old keys stay published until they expire. */
  async rotateJwtKeys(): Promise<void> {
    for (const authority of this.#authorities.values()) {
      await authority.rotateJwtKeys();
      await this.#persist(authority);
      this.config.logger.log('info', 'Rotated JWT signing key', {
        trust_domain: authority.trustDomain.name,
        kid: authority.jwtSigningKey.id,
      });
    }
    // Tokens of the old keys are served no more (nor cached by a mint under way).
    this.#jwtKeyGeneration += 1;
    this.#jwtCache.clear();
    this.#schedule();
    this.emit('change');
  }

  /** Stops the rotation schedule (waits for a rotation under way). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.config.federation?.off('bundle', this.#onForeignBundle);
    clearTimeout(this.#timer);
    await this.#maintaining;
  }

  #liveEntries(): Map<string, RegistrationEntry> {
    return new Map(this.entries.list().map((e) => [e.id, e]));
  }

  async #persist(authority: TrustDomainAuthority): Promise<void> {
    const file = authorityFile(this.config.dataDir, authority.trustDomain.name);
    await writeFileAtomic(file, `${JSON.stringify(authority.toStored(), null, 2)}\n`);
  }

  #maintain(notify: boolean): Promise<void> {
    this.#maintaining ??= this.#doMaintain(notify).finally(() => {
      this.#maintaining = undefined;
      this.#schedule();
    });
    return this.#maintaining;
  }

  async #doMaintain(notify: boolean): Promise<void> {
    const now = Date.now();
    let changed = false;
    for (const authority of this.#authorities.values()) {
      const result = await authority.maintain(now);
      if (result.bundleChanged || result.intermediateChanged || !notify) await this.#persist(authority);
      if (result.bundleChanged) {
        changed = true;
        this.config.logger.log('info', 'Trust bundle updated', {
          trust_domain: authority.trustDomain.name,
          sequence: authority.sequence,
          x509_authorities: authority.x509Authorities().length,
          jwt_authorities: authority.jwtKeys().length,
        });
      }
      if (result.intermediateChanged) {
        this.config.logger.log('info', 'Rotated intermediate CA', {
          trust_domain: authority.trustDomain.name,
          expires_at: authority.intermediate.notAfter.toISOString(),
        });
      }
    }
    const minted = await this.#cache.rotate(now, this.#liveEntries());
    if (minted.length > 0) changed = true;
    if (changed && notify) this.emit('change');
  }

  #schedule(): void {
    if (this.#stopped || this.#maintaining) return;
    clearTimeout(this.#timer);
    let due = this.#cache.nextDue();
    for (const a of this.#authorities.values()) due = Math.min(due, a.nextDue());
    const delay = Math.max(0, Math.min(due - Date.now(), MAX_TIMER_MS));
    this.#timer = setTimeout(() => {
      this.#maintain(true).catch((err: unknown) => {
        this.config.logger.log('error', 'Rotation failed; retrying in 5s', { error: (err as Error).message });
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#schedule(), 5000);
        this.#timer.unref();
      });
    }, delay);
    this.#timer.unref();
  }
}

/** Orders entries by entry ID, comparing bytes as Go's `<` on strings does (SPIRE's agent cache order). */
function byEntryId(a: RegistrationEntry, b: RegistrationEntry): number {
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}

function authorityFile(dataDir: string, trustDomain: string): string {
  return join(dataDir, `authority-${trustDomain}.json`);
}

function trustDomainOf(spiffeId: string): string {
  return SpiffeId.fromString(spiffeId).trustDomain.name;
}
