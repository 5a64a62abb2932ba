/**
 * Registration entries, shaped like SPIRE's: an entry ID (a UUID, or one the caller chose), a
 * SPIFFE ID, a parent ID, selectors that must all match the caller, optional TTLs, DNS names,
 * federated trust domains and a hint. Kept in creation order and persisted to `entries.json`
 * (mode 0600) after every change; the agent serves a caller's entries sorted by entry ID, as
 * SPIRE does.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';
import { readStateFile, writeFileAtomic } from './secure-fs.js';

/**
 * A selector: `type:value`, e.g. `unix:uid:1000` is `{ type: 'unix', value: 'uid:1000' }`.
 *
 * @example
 * ```ts
 * const selector: Selector = { type: 'unix', value: 'user:server-workload' };
 * ```
 */
export interface Selector {
  type: string;
  value: string;
}

/**
 * A stored registration entry.
 *
 * @example
 * ```ts
 * const entry: RegistrationEntry = await agent.createEntry({ spiffeId: 'spiffe://example.org/web', selectors: ['unix:user:web'] });
 * entry.id; // a UUID
 * ```
 */
export interface RegistrationEntry {
  /** The entry ID: a UUID, or the ID given at creation. */
  readonly id: string;
  readonly spiffeId: string;
  readonly parentId: string;
  readonly selectors: readonly Selector[];
  /** X509-SVID lifetime in seconds; 0 means the agent's default. */
  readonly x509SvidTtl: number;
  /** JWT-SVID lifetime in seconds; 0 means the agent's default. */
  readonly jwtSvidTtl: number;
  /** DNS names put into the X509-SVIDs as DNS SANs. */
  readonly dnsNames: readonly string[];
  /** Trust domain names (e.g. `partner.org`) whose bundles the workload receives. */
  readonly federatesWith: readonly string[];
  /** An operator-chosen hint served with the SVIDs ('' when none). */
  readonly hint: string;
  readonly revision: number;
  /** Creation time, ISO 8601. */
  readonly createdAt: string;
}

/**
 * What a caller gives to create an entry. Selectors are `type:value` strings or objects.
 *
 * @example
 * ```ts
 * const params: EntryParams = {
 *   spiffeId: 'spiffe://example.org/server',
 *   selectors: ['unix:user:server-workload'],
 *   dnsNames: ['server.local'],
 * };
 * ```
 */
export interface EntryParams {
  /**
   * A caller-chosen entry ID (SPIRE's `-entryID`): at most 255 characters of `A-Z a-z 0-9 - . _`.
   * A UUID is generated when absent or empty.
   */
  id?: string;
  spiffeId: string | SpiffeId;
  /** Defaults to the agent's own ID (`spiffe://<trust domain>/host`). */
  parentId?: string | SpiffeId;
  selectors: ReadonlyArray<string | Selector>;
  x509SvidTtl?: number;
  jwtSvidTtl?: number;
  dnsNames?: readonly string[];
  /** Trust domain names or IDs (`partner.org` or `spiffe://partner.org`). */
  federatesWith?: readonly string[];
  hint?: string;
}

/** What entry validation needs to know about the agent. */
export interface EntryContext {
  /** Trust domains the agent holds a CA for. */
  localTrustDomains: readonly string[];
  /** Trust domains entries may federate with (default: the local ones): those the agent has a bundle of. */
  federatableTrustDomains?: readonly string[];
  /** The parent ID used when none is given. */
  defaultParentId: string;
}

/**
 * Parses a `type:value` selector (everything after the first colon is the value).
 *
 * @throws {@link DevAgentError} `ERR_ENTRY_INVALID`.
 * @example
 * ```ts
 * parseSelector('unix:uid:1000'); // { type: 'unix', value: 'uid:1000' }
 * ```
 */
export function parseSelector(text: string): Selector {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new DevAgentError('ERR_ENTRY_INVALID', `selector "${text}" must be formatted as type:value`);
  }
  return { type: text.slice(0, colon), value: text.slice(colon + 1) };
}

/** A selector as `type:value`. */
export function selectorString(s: Selector): string {
  return `${s.type}:${s.value}`;
}

/**
 * Whether every selector of `entry` is among the caller's selectors.
 *
 * @example
 * ```ts
 * entryMatches(entry, new Set(['unix:uid:1000', 'unix:user:web']));
 * ```
 */
export function entryMatches(entry: RegistrationEntry, callerSelectors: ReadonlySet<string>): boolean {
  return entry.selectors.every((s) => callerSelectors.has(selectorString(s)));
}

/** The longest entry ID SPIRE accepts. */
const MAX_ENTRY_ID_LENGTH = 255;

const ENTRY_ID_CHARS = /^[A-Za-z0-9._-]*$/;

/**
 * Checks a caller-chosen entry ID against SPIRE's rules (at most 255 characters of
 * `A-Z a-z 0-9 - . _`). Returns undefined when none was chosen (absent or empty).
 *
 * @throws {@link DevAgentError} `ERR_ENTRY_INVALID`.
 * @example
 * ```ts
 * validateEntryId('web-1'); // 'web-1'
 * validateEntryId('');      // undefined: a UUID will be generated
 * ```
 */
export function validateEntryId(id: unknown): string | undefined {
  if (id === undefined || id === null || id === '') return undefined;
  if (typeof id !== 'string') throw new TypeError('createEntry: id must be a string');
  if (id.length > MAX_ENTRY_ID_LENGTH) {
    throw new DevAgentError('ERR_ENTRY_INVALID', `entry: entry ID is too long (${id.length} characters; at most ${MAX_ENTRY_ID_LENGTH})`);
  }
  if (!ENTRY_ID_CHARS.test(id)) {
    throw new DevAgentError(
      'ERR_ENTRY_INVALID',
      `entry: entry ID ${JSON.stringify(id)} contains invalid characters; use A-Z, a-z, 0-9, '-', '.' and '_'`,
    );
  }
  return id;
}

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function checkDnsName(name: string): void {
  const labels = name.split('.');
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((label, i) => DNS_LABEL.test(label) || (i === 0 && label === '*' && labels.length > 2));
  if (!ok) throw new DevAgentError('ERR_ENTRY_INVALID', `entry: "${name}" is not a valid DNS name`);
}

function checkTtl(value: number | undefined, what: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0) {
    throw new DevAgentError(
      'ERR_ENTRY_INVALID',
      `entry: ${what} must be a whole, non-negative number of seconds (0 for the default), got ${value}`,
    );
  }
  return value;
}

function parseId(value: string | SpiffeId, what: string): SpiffeId {
  if (value instanceof SpiffeId) return value;
  try {
    return SpiffeId.fromString(String(value));
  } catch (err) {
    throw new DevAgentError('ERR_ENTRY_INVALID', `entry: "${value}" is not a valid ${what}: ${(err as Error).message}`, { cause: err });
  }
}

function parseTrustDomain(value: string): TrustDomain {
  try {
    return TrustDomain.fromString(value);
  } catch (err) {
    throw new DevAgentError('ERR_ENTRY_INVALID', `entry: "${value}" is not a valid trust domain: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Checks entry parameters and normalises them (IDs lowercased where case-insensitive, selectors
 * de-duplicated, federated trust domains as names).
 *
 * @throws {@link DevAgentError} `ERR_ENTRY_INVALID` naming what was wrong.
 */
export function validateEntryParams(params: EntryParams, ctx: EntryContext): Omit<RegistrationEntry, 'id' | 'revision' | 'createdAt'> {
  if (params === null || typeof params !== 'object') throw new TypeError('createEntry: expected an object of entry parameters');
  if (params.spiffeId === undefined || params.spiffeId === '') {
    throw new DevAgentError('ERR_ENTRY_INVALID', 'entry: a SPIFFE ID is required');
  }
  const spiffeId = parseId(params.spiffeId, 'SPIFFE ID');
  if (spiffeId.path === '') {
    throw new DevAgentError(
      'ERR_ENTRY_INVALID',
      `entry: "${spiffeId}" has no path; an SVID's SPIFFE ID needs one, such as ${spiffeId}/workload`,
    );
  }
  if (!ctx.localTrustDomains.includes(spiffeId.trustDomain.name)) {
    throw new DevAgentError(
      'ERR_ENTRY_INVALID',
      `entry: "${spiffeId}" is not in a trust domain this agent issues for (${ctx.localTrustDomains.join(', ')}); start the agent with -federatedTrustDomain ${spiffeId.trustDomain.name} to add one`,
    );
  }
  const parentId = parseId(params.parentId ?? ctx.defaultParentId, 'parent ID').toString();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- as `unknown`, so that Array.isArray does not narrow the declared array type to any[]
  if (!Array.isArray(params.selectors as unknown) || params.selectors.length === 0) {
    throw new DevAgentError('ERR_ENTRY_INVALID', 'entry: at least one selector is required');
  }
  const selectors: Selector[] = [];
  const seen = new Set<string>();
  for (const raw of params.selectors) {
    const s = typeof raw === 'string' ? parseSelector(raw) : parseSelector(`${raw.type}:${raw.value}`);
    if (!seen.has(selectorString(s))) {
      seen.add(selectorString(s));
      selectors.push(s);
    }
  }
  const dnsNames = [...new Set(params.dnsNames ?? [])];
  dnsNames.forEach(checkDnsName);
  const federatesWith: string[] = [];
  for (const raw of params.federatesWith ?? []) {
    const td = parseTrustDomain(raw).name;
    if (td === spiffeId.trustDomain.name) {
      throw new DevAgentError('ERR_ENTRY_INVALID', `entry: cannot federate with its own trust domain "${td}"`);
    }
    if (!(ctx.federatableTrustDomains ?? ctx.localTrustDomains).includes(td)) {
      throw new DevAgentError(
        'ERR_ENTRY_INVALID',
        `entry: no bundle for federated trust domain "${td}"; create a federation relationship with it (spire-server federation create), set its bundle (spire-server bundle set), or start the agent with -federatedTrustDomain ${td}`,
      );
    }
    if (!federatesWith.includes(td)) federatesWith.push(td);
  }
  if (params.hint !== undefined && typeof params.hint !== 'string') throw new TypeError('createEntry: hint must be a string');
  return {
    spiffeId: spiffeId.toString(),
    parentId,
    selectors,
    x509SvidTtl: checkTtl(params.x509SvidTtl, 'x509SVIDTTL'),
    jwtSvidTtl: checkTtl(params.jwtSvidTtl, 'jwtSVIDTTL'),
    dnsNames,
    federatesWith,
    hint: params.hint ?? '',
  };
}

function sameSelectors(a: readonly Selector[], b: readonly Selector[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(selectorString));
  return b.every((s) => set.has(selectorString(s)));
}

interface StoredEntries {
  version: 1;
  entries: RegistrationEntry[];
}

/**
 * The registration entries of an agent, persisted in `<dataDir>/entries.json`.
 *
 * @example
 * ```ts
 * const store = await EntryStore.open('/tmp/spiffe-dev-agent/data');
 * await store.create({ spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1000'] }, ctx);
 * ```
 */
export class EntryStore {
  readonly #file: string;
  #entries: RegistrationEntry[];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: string, entries: RegistrationEntry[]) {
    this.#file = file;
    this.#entries = entries;
  }

  /** Opens the store of a data directory (empty if it has no entries yet). */
  static async open(dataDir: string): Promise<EntryStore> {
    const file = join(dataDir, 'entries.json');
    const text = await readStateFile(file);
    if (text === undefined) return new EntryStore(file, []);
    let parsed: StoredEntries;
    try {
      parsed = JSON.parse(text) as StoredEntries;
    } catch (err) {
      throw new DevAgentError('ERR_AGENT_STATE', `${file} is not valid JSON: ${(err as Error).message}; fix or remove it`, { cause: err });
    }
    if (parsed.version !== 1 || !Array.isArray(parsed.entries)) {
      throw new DevAgentError('ERR_AGENT_STATE', `${file} is not an entries file of version 1; fix or remove it`);
    }
    return new EntryStore(file, parsed.entries);
  }

  /** All entries, in creation order. */
  list(): readonly RegistrationEntry[] {
    return this.#entries;
  }

  /** The entry with this ID, if any. */
  get(id: string): RegistrationEntry | undefined {
    return this.#entries.find((e) => e.id === id);
  }

  /**
   * Validates and stores a new entry, under `params.id` if given, else a new UUID.
   *
   * @throws {@link DevAgentError} `ERR_ENTRY_INVALID`, or `ERR_ENTRY_EXISTS` if an entry with
   *   the same SPIFFE ID, parent ID and selectors exists ("similar entry already exists"), or
   *   one with the chosen entry ID.
   */
  create(params: EntryParams, ctx: EntryContext): Promise<RegistrationEntry> {
    return this.#serialized(() => this.#create(params, ctx));
  }

  async #create(params: EntryParams, ctx: EntryContext): Promise<RegistrationEntry> {
    const fields = validateEntryParams(params, ctx);
    const chosenId = validateEntryId(params.id);
    // SPIRE's order: a similar entry first, then a taken ID.
    const similar = this.#entries.find(
      (e) => e.spiffeId === fields.spiffeId && e.parentId === fields.parentId && sameSelectors(e.selectors, fields.selectors),
    );
    if (similar) throw new DevAgentError('ERR_ENTRY_EXISTS', 'similar entry already exists');
    if (chosenId !== undefined && this.get(chosenId) !== undefined) {
      throw new DevAgentError(
        'ERR_ENTRY_EXISTS',
        `an entry with ID ${JSON.stringify(chosenId)} already exists; choose another ID or leave it out to get a UUID`,
      );
    }
    const entry: RegistrationEntry = { id: chosenId ?? randomUUID(), ...fields, revision: 0, createdAt: new Date().toISOString() };
    const next = [...this.#entries, entry];
    await this.#save(next);
    this.#entries = next;
    return entry;
  }

  /**
   * Deletes an entry.
   *
   * @throws {@link DevAgentError} `ERR_ENTRY_NOT_FOUND`.
   */
  delete(id: string): Promise<RegistrationEntry> {
    return this.#serialized(() => this.#delete(id));
  }

  async #delete(id: string): Promise<RegistrationEntry> {
    const entry = this.get(id);
    if (entry === undefined) throw new DevAgentError('ERR_ENTRY_NOT_FOUND', `entry not found: ${id}`);
    const next = this.#entries.filter((e) => e.id !== id);
    await this.#save(next);
    this.#entries = next;
    return entry;
  }

  /** Runs changes one at a time, so concurrent calls never lose an update. */
  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #save(entries: RegistrationEntry[]): Promise<void> {
    const stored: StoredEntries = { version: 1, entries };
    await writeFileAtomic(this.#file, `${JSON.stringify(stored, null, 2)}\n`);
  }
}
