/**
 * The X509-SVIDs issued per registration entry. Every workload that matches an entry shares the
 * same SVID (as with SPIRE); it is re-minted at half its lifetime, and the cache says when the
 * next one is due so the agent can push the new SVID to open streams.
 *
 * @module
 */
import type { RegistrationEntry } from '../state/entries.js';

/** An X509-SVID issued for an entry. */
export interface IssuedX509Svid {
  readonly entryId: string;
  readonly entryRevision: number;
  readonly spiffeId: string;
  /** Leaf then intermediate, DER concatenated (the Workload API form). */
  readonly certChainDer: Buffer;
  /** The private key, PKCS#8 DER. */
  readonly privateKeyDer: Buffer;
  readonly serial: string;
  readonly issuedAt: Date;
  readonly notAfter: Date;
  /** When it is re-minted: half-way from issuance to expiry. */
  readonly rotateAt: Date;
}

/**
 * Caches one X509-SVID per entry and re-mints them when due.
 *
 * @example
 * ```ts
 * const cache = new X509SvidCache((entry) => issuer.mint(entry));
 * const svid = await cache.get(entry);
 * ```
 */
export class X509SvidCache {
  readonly #mint: (entry: RegistrationEntry) => Promise<IssuedX509Svid>;
  readonly #svids = new Map<string, IssuedX509Svid>();
  readonly #pending = new Map<string, Promise<IssuedX509Svid>>();

  constructor(mint: (entry: RegistrationEntry) => Promise<IssuedX509Svid>) {
    this.#mint = mint;
  }

  /** The current SVID of an entry, minted if there is none or it is due. */
  async get(entry: RegistrationEntry, now = Date.now()): Promise<IssuedX509Svid> {
    const cached = this.#svids.get(entry.id);
    if (cached && cached.entryRevision === entry.revision && now < cached.rotateAt.getTime()) return cached;
    return this.#mintOnce(entry);
  }

  /** The cached SVID of an entry, without minting. */
  peek(entryId: string): IssuedX509Svid | undefined {
    return this.#svids.get(entryId);
  }

  #mintOnce(entry: RegistrationEntry): Promise<IssuedX509Svid> {
    const pending = this.#pending.get(entry.id);
    if (pending) return pending;
    const promise = this.#mint(entry)
      .then((svid) => {
        this.#svids.set(entry.id, svid);
        return svid;
      })
      .finally(() => this.#pending.delete(entry.id));
    this.#pending.set(entry.id, promise);
    return promise;
  }

  /**
   * Re-mints every cached SVID that is due at `now` (or all with `force`), and forgets those of
   * entries that no longer exist.
   *
   * @returns the SVIDs minted.
   */
  async rotate(now: number, liveEntries: ReadonlyMap<string, RegistrationEntry>, force = false): Promise<IssuedX509Svid[]> {
    for (const id of [...this.#svids.keys()]) {
      if (!liveEntries.has(id)) {
        this.#svids.delete(id);
      }
    }
    const due = [...this.#svids.values()].filter((s) => force || now >= s.rotateAt.getTime());
    return Promise.all(due.map((s) => this.#mintOnce(liveEntries.get(s.entryId) as RegistrationEntry)));
  }

  /** When the next cached SVID is due, in ms since the epoch (Infinity if none). */
  nextDue(): number {
    let due = Infinity;
    for (const s of this.#svids.values()) due = Math.min(due, s.rotateAt.getTime());
    return due;
  }
}
