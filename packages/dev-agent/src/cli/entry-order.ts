/**
 * The order in which SPIRE's `spire-server entry show` prints entries: by SPIFFE ID (trust
 * domain, then path), then parent ID (trust domain, then path), X509-SVID TTL, JWT-SVID TTL and
 * selectors (fewer first, then one by one); each entry's selectors by type, then value. Strings
 * compare as bytes, as Go compares them. Entries equal on all of that keep the order given.
 *
 * @module
 */
import type { Selector } from '../state/entries.js';

/** What the order looks at. */
export interface OrderedEntry {
  readonly spiffeId: string;
  readonly parentId: string;
  readonly x509SvidTtl: number;
  readonly jwtSvidTtl: number;
  readonly selectors: readonly Selector[];
}

/** Go's `strings.Compare`: byte order of the UTF-8 encodings. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Splits `spiffe://td/path` into its trust domain and path (`''` when it has none). */
function idParts(id: string): [string, string] {
  const rest = id.replace(/^spiffe:\/\//i, '');
  const slash = rest.indexOf('/');
  return slash === -1 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash)];
}

/**
 * Orders two selectors by type, then value.
 *
 * @example
 * ```ts
 * [{ type: 'unix', value: 'user:a' }, { type: 'unix', value: 'uid:1' }].sort(compareSelectors); // uid:1 first
 * ```
 */
export function compareSelectors(a: Selector, b: Selector): number {
  return compareBytes(a.type, b.type) || compareBytes(a.value, b.value);
}

function compareSelectorLists(a: readonly Selector[], b: readonly Selector[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i += 1) {
    const c = compareSelectors(a[i] as Selector, b[i] as Selector);
    if (c !== 0) return c;
  }
  return 0;
}

function compareEntries(a: OrderedEntry, b: OrderedEntry): number {
  const [aTd, aPath] = idParts(a.spiffeId);
  const [bTd, bPath] = idParts(b.spiffeId);
  const [aParentTd, aParentPath] = idParts(a.parentId);
  const [bParentTd, bParentPath] = idParts(b.parentId);
  return (
    compareBytes(aTd, bTd) ||
    compareBytes(aPath, bPath) ||
    compareBytes(aParentTd, bParentTd) ||
    compareBytes(aParentPath, bParentPath) ||
    a.x509SvidTtl - b.x509SvidTtl ||
    a.jwtSvidTtl - b.jwtSvidTtl ||
    compareSelectorLists(a.selectors, b.selectors)
  );
}

/**
 * An entry with its selectors in SPIRE's printing order (type, then value).
 *
 * @example
 * ```ts
 * withSortedSelectors(entry).selectors; // [{ type: 'unix', value: 'uid:0' }, { type: 'unix', value: 'user:root' }]
 * ```
 */
export function withSortedSelectors<T extends OrderedEntry>(entry: T): T {
  return { ...entry, selectors: [...entry.selectors].sort(compareSelectors) };
}

/**
 * Entries in the order `spire-server entry show` prints them, each with its selectors sorted
 * (a new array; the input is left as it was).
 *
 * @example
 * ```ts
 * io.stdout(formatEntryList(spireEntryOrder(entries)));
 * ```
 */
export function spireEntryOrder<T extends OrderedEntry>(entries: readonly T[]): T[] {
  return entries.map(withSortedSelectors).sort(compareEntries);
}
