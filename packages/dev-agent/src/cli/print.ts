/**
 * Output in the shapes SPIRE's CLI prints.
 *
 * @module
 */
import type { RegistrationEntry } from '../state/entries.js';

/** The parts of an entry that are printed (an entry that failed to be created has no ID). */
export type PrintableEntry = Omit<RegistrationEntry, 'id' | 'createdAt'> & { id?: string };

/**
 * An entry as `spire-server entry show` prints it (17-character labels, then a blank line).
 *
 * @example
 * ```ts
 * process.stdout.write(formatEntry(entry));
 * // Entry ID         : 6f2c...
 * // SPIFFE ID        : spiffe://example.org/server
 * // ...
 * ```
 */
export function formatEntry(e: PrintableEntry): string {
  const lines = [
    `Entry ID         : ${e.id || '(none)'}`,
    `SPIFFE ID        : ${e.spiffeId}`,
    `Parent ID        : ${e.parentId}`,
    `Revision         : ${e.revision}`,
    `X509-SVID TTL    : ${e.x509SvidTtl === 0 ? 'default' : e.x509SvidTtl}`,
    `JWT-SVID TTL     : ${e.jwtSvidTtl === 0 ? 'default' : e.jwtSvidTtl}`,
    ...e.selectors.map((s) => `Selector         : ${s.type}:${s.value}`),
    // As SPIRE prints them: a stored entry's trust domain names, a failed one's as given.
    ...e.federatesWith.map((td) => `FederatesWith    : ${td}`),
    ...e.dnsNames.map((d) => `DNS name         : ${d}`),
  ];
  if (e.hint !== '') lines.push(`Hint             : ${e.hint}`);
  return `${lines.join('\n')}\n\n`;
}

/**
 * `Found N entries` (or `entry`) followed by the entries.
 *
 * @example
 * ```ts
 * process.stdout.write(formatEntryList(entries));
 * ```
 */
export function formatEntryList(entries: readonly PrintableEntry[]): string {
  const header = `Found ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}\n`;
  return header + entries.map(formatEntry).join('');
}
