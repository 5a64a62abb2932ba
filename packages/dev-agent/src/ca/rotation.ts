/**
 * A set of signing keys (roots or JWT keys) rotated without breaking verifiers: a successor is
 * minted and published when the active key is half-way through its life, and becomes the
 * active signer at three quarters, so verifiers have the new key before anything it signed
 * appears. A key stays published until it expires.
 *
 * @module
 */

/** What a rotating set needs to know of a key. */
export interface Rotatable {
  readonly id: string;
  /** When the key was minted (its certificate's notBefore may be backdated). */
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

/** Fraction of its life at which a successor of the active key is minted and published. */
const PREPARE_AT = 0.5;
/** Fraction of its life at which the active key hands over to its successor. */
const ACTIVATE_AT = 0.75;

/** The instant at `fraction` of the life of `key`, in ms since the epoch. */
export function lifePoint(key: Rotatable, fraction: number): number {
  const start = key.issuedAt.getTime();
  return start + (key.notAfter.getTime() - start) * fraction;
}

/**
 * Keys of one kind, oldest first, with the one that signs now.
 *
 * @example
 * ```ts
 * const set = new RotatingSet<JwtKey>([], undefined);
 * await set.maintain(Date.now(), () => mintJwtKey(86400));
 * set.active?.id;
 * ```
 */
export class RotatingSet<T extends Rotatable> {
  #keys: T[];
  #activeId: string | undefined;

  constructor(keys: T[], activeId: string | undefined) {
    this.#keys = [...keys].sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime());
    this.#activeId = activeId;
  }

  /** The published keys, oldest first. */
  get keys(): readonly T[] {
    return this.#keys;
  }

  /** The key that signs now. */
  get active(): T | undefined {
    return this.#keys.find((k) => k.id === this.#activeId);
  }

  /**
   * Brings the set up to date at `now`: drops expired keys, mints an active key if there is none,
   * a successor when the active key is half-way, and hands over at three quarters.
   *
   * @returns whether the published keys changed (`published`) or the signer changed (`activated`).
   */
  async maintain(now: number, mint: () => Promise<T>): Promise<{ published: boolean; activated: boolean }> {
    let published = false;
    let activated = false;
    const before = this.#keys.length;
    this.#keys = this.#keys.filter((k) => k.notAfter.getTime() > now);
    if (this.#keys.length !== before) published = true;
    let active = this.active;
    if (active === undefined || now >= active.notAfter.getTime()) {
      const key = await mint();
      this.#keys.push(key);
      this.#activeId = key.id;
      return { published: true, activated: true };
    }
    const newest = this.#keys[this.#keys.length - 1] as T;
    if (newest === active && now >= lifePoint(active, PREPARE_AT)) {
      this.#keys.push(await mint());
      published = true;
    }
    if (now >= lifePoint(active, ACTIVATE_AT)) {
      const successor = this.#keys[this.#keys.length - 1] as T;
      if (successor !== active) {
        this.#activeId = successor.id;
        active = successor;
        activated = true;
      }
    }
    return { published, activated };
  }

  /** Mints a key and makes it the signer at once (the predecessor stays published). */
  async rotateNow(mint: () => Promise<T>): Promise<T> {
    const key = await mint();
    this.#keys.push(key);
    this.#activeId = key.id;
    return key;
  }

  /** When {@link RotatingSet.maintain} next has work to do, in ms since the epoch. */
  nextDue(): number {
    const active = this.active;
    if (active === undefined) return 0;
    let due = active.notAfter.getTime();
    const newest = this.#keys[this.#keys.length - 1];
    due = Math.min(due, newest === active ? lifePoint(active, PREPARE_AT) : lifePoint(active, ACTIVATE_AT));
    for (const k of this.#keys) due = Math.min(due, k.notAfter.getTime());
    return due;
  }
}
