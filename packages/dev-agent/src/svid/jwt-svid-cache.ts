/**
 * The JWT-SVIDs the agent has issued, kept so that a workload asking again for the same audiences
 * receives the same token, as SPIRE's agent does: one token per entry and audience set (the order
 * of the audiences does not matter), served until less than half of its lifetime remains, and
 * never once its signing key has left the JWT bundle.
 *
 * @module
 */

/** A JWT-SVID held by the {@link JwtSvidCache}. */
export interface CachedJwtSvid {
  readonly token: string;
  /** The `kid` of the key that signed it. */
  readonly kid: string;
  /** Its `iat`. */
  readonly issuedAt: Date;
  /** Its `exp`. */
  readonly expiresAt: Date;
}

/** The part of a registration entry a cached token belongs to. */
export interface JwtSvidOwner {
  readonly id: string;
  readonly spiffeId: string;
  readonly revision: number;
}

/** How many tokens the cache holds at most (SPIRE's default SVID cache size); the least recently used goes first. */
const DEFAULT_JWT_SVID_CACHE_SIZE = 1000;

interface Slot {
  readonly entryId: string;
  readonly revision: number;
  readonly svid: CachedJwtSvid;
}

/**
 * Whether a token is still worth serving at `now`: it has not expired and more than half of its
 * lifetime remains (SPIRE re-mints at half-life).
 *
 * @example
 * ```ts
 * isFresh({ issuedAt: new Date(0), expiresAt: new Date(300_000) }, 100_000); // true
 * isFresh({ issuedAt: new Date(0), expiresAt: new Date(300_000) }, 150_000); // false
 * ```
 */
export function isFresh(svid: Pick<CachedJwtSvid, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  const remaining = svid.expiresAt.getTime() - now;
  const lifetime = svid.expiresAt.getTime() - svid.issuedAt.getTime();
  return remaining > 0 && remaining > lifetime / 2;
}

/**
 * JWT-SVIDs by entry and audience set, bounded in size (least recently used evicted first).
 *
 * @example
 * ```ts
 * const cache = new JwtSvidCache();
 * const hit = cache.get(entry, ['api'], { now: Date.now(), validKid: (kid) => bundleKids.has(kid) });
 * if (hit === undefined) cache.set(entry, ['api'], minted);
 * ```
 */
export class JwtSvidCache {
  readonly #maxSize: number;
  /** Map order is recency order: the first key is the least recently used. */
  readonly #slots = new Map<string, Slot>();

  constructor(maxSize = DEFAULT_JWT_SVID_CACHE_SIZE) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new TypeError(`JwtSvidCache: maxSize must be a positive integer, got ${maxSize}`);
    this.#maxSize = maxSize;
  }

  /** The key of an entry's token for a set of audiences: the audiences sorted, so their order does not matter. */
  static key(owner: Pick<JwtSvidOwner, 'id' | 'spiffeId'>, audience: readonly string[]): string {
    return JSON.stringify([owner.id, owner.spiffeId, [...audience].sort()]);
  }

  /** How many tokens are held. */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * The cached token of this entry for these audiences, if it is fresh ({@link isFresh}), was
   * issued for this revision of the entry, and its key still validates (`validKid`). A token
   * that fails any of these is dropped.
   */
  get(
    owner: JwtSvidOwner,
    audience: readonly string[],
    options: { now: number; validKid: (kid: string) => boolean },
  ): CachedJwtSvid | undefined {
    const key = JwtSvidCache.key(owner, audience);
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    this.#slots.delete(key);
    if (slot.revision !== owner.revision || !options.validKid(slot.svid.kid) || !isFresh(slot.svid, options.now)) return undefined;
    this.#slots.set(key, slot);
    return slot.svid;
  }

  /** Keeps a newly minted token of this entry for these audiences (replacing an older one). */
  set(owner: JwtSvidOwner, audience: readonly string[], svid: CachedJwtSvid): void {
    const key = JwtSvidCache.key(owner, audience);
    this.#slots.delete(key);
    while (this.#slots.size >= this.#maxSize) {
      const oldest = this.#slots.keys().next().value as string;
      this.#slots.delete(oldest);
    }
    this.#slots.set(key, { entryId: owner.id, revision: owner.revision, svid });
  }

  /** Drops every token of an entry (when it is deleted or changed). */
  dropEntry(entryId: string): void {
    for (const [key, slot] of this.#slots) if (slot.entryId === entryId) this.#slots.delete(key);
  }

  /** Drops every token (when the signing keys rotate). */
  clear(): void {
    this.#slots.clear();
  }
}
