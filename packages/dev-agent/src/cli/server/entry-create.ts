/**
 * `spire-server entry create`: from flags or a registration JSON file (`-data`), printed as SPIRE prints created entries and failures.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { DevAgentError } from '../../errors.js';
import { parseSelector, type EntryParams, type RegistrationEntry, type Selector } from '../../state/entries.js';
import { withSortedSelectors } from '../entry-order.js';
import { FlagError, type FlagSpec } from '../flags.js';
import type { CliIo } from '../io.js';
import { formatEntry, type PrintableEntry } from '../print.js';
import { client, entryJson, GRPC_CODE_NAMES, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

const createFlags = (io: CliIo): FlagSpec[] => [
  socketFlag(io),
  outputFlag,
  {
    name: 'entryID',
    kind: 'string',
    usage: 'A custom ID for this registration entry (optional). If not set, a new entry ID will be generated',
  },
  { name: 'spiffeID', kind: 'string', usage: 'The SPIFFE ID that this record represents' },
  { name: 'parentID', kind: 'string', usage: "The SPIFFE ID of this record's parent" },
  { name: 'selector', kind: 'list', usage: 'A colon-delimited type:value selector. Can be used more than once' },
  {
    name: 'x509SVIDTTL',
    kind: 'int',
    usage: 'The lifetime, in seconds, for x509-SVIDs issued based on this registration entry. Overrides ttl flag',
  },
  {
    name: 'jwtSVIDTTL',
    kind: 'int',
    usage: 'The lifetime, in seconds, for JWT-SVIDs issued based on this registration entry. Overrides ttl flag',
  },
  { name: 'ttl', kind: 'int', usage: 'The lifetime, in seconds, for SVIDs issued based on this registration entry (deprecated)' },
  {
    name: 'dns',
    kind: 'list',
    usage: 'A DNS name that will be included in SVIDs issued based on this entry, where appropriate. Can be used more than once',
  },
  { name: 'federatesWith', kind: 'list', usage: 'SPIFFE ID of a trust domain to federate with. Can be used more than once' },
  { name: 'hint', kind: 'string', usage: 'The entry hint, used to disambiguate entries with the same SPIFFE ID' },
  {
    name: 'data',
    kind: 'string',
    usage: "Path to a file containing registration JSON (optional). If set to '-', read the JSON from stdin.",
  },
  { name: 'node', kind: 'bool', usage: 'Not supported by the development agent (it has no node entries)' },
  { name: 'admin', kind: 'bool', usage: 'Not supported by the development agent' },
  { name: 'downstream', kind: 'bool', usage: 'Not supported by the development agent' },
  { name: 'storeSVID', kind: 'bool', usage: 'Not supported by the development agent' },
  { name: 'entryExpiry', kind: 'int', usage: 'Not supported by the development agent' },
];

function jsonId(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as { trust_domain?: string; path?: string };
    if (typeof v.trust_domain === 'string') return `spiffe://${v.trust_domain}${v.path ?? ''}`;
  }
  return undefined;
}

/** Entries from a registration JSON file, in SPIRE's shape. */
function entriesFromData(text: string): EntryParams[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FlagError(`the registration data is not JSON: ${(err as Error).message}`);
  }
  const entries = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new FlagError('the registration JSON has no "entries" array');
  return entries.map((e: unknown, i: number) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new FlagError(`entry ${i} of the registration JSON is not an object`);
    const entry = e as Record<string, unknown>;
    const list = (field: string): unknown[] => {
      const value = entry[field];
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value)) throw new FlagError(`entry ${i} of the registration JSON: "${field}" must be an array`);
      return value;
    };
    const text = (field: string): string => {
      const value = entry[field];
      if (value === undefined || value === null) return '';
      if (typeof value !== 'string') throw new FlagError(`entry ${i} of the registration JSON: "${field}" must be a string`);
      return value;
    };
    const selectors = list('selectors').map((s) => {
      const sel = s as Partial<Selector> | null;
      if (typeof sel !== 'object' || sel === null || typeof sel.type !== 'string' || typeof sel.value !== 'string') {
        throw new FlagError(`entry ${i} of the registration JSON: each selector must be {"type": "...", "value": "..."}`);
      }
      return `${sel.type}:${sel.value}`;
    });
    const strings = (field: string): string[] =>
      list(field).map((v) => {
        if (typeof v !== 'string') throw new FlagError(`entry ${i} of the registration JSON: "${field}" must hold strings`);
        return v;
      });
    return {
      id: text('entry_id') || text('id'),
      spiffeId: jsonId(entry.spiffe_id) ?? '',
      parentId: jsonId(entry.parent_id) ?? '',
      selectors,
      x509SvidTtl: Number(entry.x509_svid_ttl ?? entry.ttl ?? 0),
      jwtSvidTtl: Number(entry.jwt_svid_ttl ?? 0),
      dnsNames: strings('dns_names'),
      federatesWith: strings('federates_with'),
      hint: text('hint'),
    };
  });
}

function printable(params: EntryParams): PrintableEntry {
  const selectors: Selector[] = [];
  for (const s of params.selectors) {
    try {
      selectors.push(typeof s === 'string' ? parseSelector(s) : s);
    } catch {
      // Printed as given below.
    }
  }
  return {
    id: params.id || undefined,
    spiffeId: String(params.spiffeId),
    parentId: String(params.parentId ?? ''),
    selectors,
    x509SvidTtl: params.x509SvidTtl ?? 0,
    jwtSvidTtl: params.jwtSvidTtl ?? 0,
    dnsNames: params.dnsNames ?? [],
    federatesWith: params.federatesWith ?? [],
    hint: params.hint ?? '',
    revision: 0,
  };
}

/** `entry create`. */
export const entryCreate: Command = {
  flags: createFlags,
  async run(flags, io) {
    const output = outputFormat(flags);
    for (const unsupported of ['node', 'admin', 'downstream', 'storeSVID']) {
      if (flags.bools.get(unsupported)) throw new FlagError(`-${unsupported} is not supported by the development agent`);
    }
    if ((flags.ints.get('entryExpiry') ?? 0) !== 0) throw new FlagError('-entryExpiry is not supported by the development agent');
    let requests: EntryParams[];
    const data = flags.strings.get('data');
    if (data !== undefined && data !== '') {
      let text: string;
      try {
        text = data === '-' ? io.readStdin() : readFileSync(data, 'utf8');
      } catch (err) {
        throw new FlagError(`cannot read the entries of -data ${data}: ${(err as Error).message}`);
      }
      requests = entriesFromData(text);
    } else {
      const selectors = flags.lists.get('selector') ?? [];
      if (selectors.length === 0) throw new FlagError('at least one selector is required');
      selectors.forEach(parseSelector);
      const parentId = flags.strings.get('parentID') ?? '';
      if (parentId === '') throw new FlagError('a parent ID is required if the node flag is not set');
      const spiffeId = flags.strings.get('spiffeID') ?? '';
      if (spiffeId === '') throw new FlagError('a SPIFFE ID is required');
      const ttl = flags.ints.get('ttl') ?? 0;
      const x509 = flags.ints.get('x509SVIDTTL') ?? 0;
      const jwt = flags.ints.get('jwtSVIDTTL') ?? 0;
      if (ttl < 0 || x509 < 0 || jwt < 0) throw new FlagError('a positive TTL is required');
      if (ttl > 0 && (x509 > 0 || jwt > 0)) throw new FlagError('use x509SVIDTTL and jwtSVIDTTL flags or the deprecated ttl flag');
      requests = [
        {
          id: flags.strings.get('entryID') ?? '',
          spiffeId,
          parentId,
          selectors,
          x509SvidTtl: x509 || ttl,
          jwtSvidTtl: jwt,
          dnsNames: flags.lists.get('dns') ?? [],
          federatesWith: flags.lists.get('federatesWith') ?? [],
          hint: flags.strings.get('hint') ?? '',
        },
      ];
    }
    const admin = client(flags, io);
    let failed = false;
    const created: RegistrationEntry[] = [];
    for (const params of requests) {
      try {
        created.push(await admin.createEntry(params));
      } catch (err) {
        if (!(err instanceof DevAgentError) || err.code === 'ERR_ADMIN_API') throw err;
        failed = true;
        io.stderr(
          `Failed to create the following entry (code: ${GRPC_CODE_NAMES[err.code] ?? 'Unknown'}, msg: ${JSON.stringify(err.message)}):\n${formatEntry(printable(params))}`,
        );
      }
    }
    // SPIRE prints a created entry as its datastore reads it back: selectors sorted.
    const printed = created.map(withSortedSelectors);
    if (output === 'json')
      io.stdout(`${JSON.stringify({ results: printed.map((e) => ({ status: { code: 0, message: 'OK' }, entry: entryJson(e) })) })}\n`);
    else for (const e of printed) io.stdout(formatEntry(e));
    if (failed) {
      io.stderr('Error: failed to create one or more entries\n');
      return 1;
    }
    return 0;
  },
};
