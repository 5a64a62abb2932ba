/**
 * The filters `spire-server entry show` and `entry count` share (`-entryID`, `-spiffeID`, `-selector` with `-matchSelectorsOn`, ...).
 *
 * @module
 */
import { parseSelector, selectorString, type RegistrationEntry } from '../../state/entries.js';
import { FlagError, type FlagSpec, type ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { client, outputFlag, socketFlag } from './common.js';

/** The flags of `entry show` and `entry count`. */
export const showFlags = (io: CliIo): FlagSpec[] => [
  socketFlag(io),
  outputFlag,
  { name: 'entryID', kind: 'string', usage: 'The Entry ID of the records to show' },
  { name: 'spiffeID', kind: 'string', usage: 'The SPIFFE ID of the records to show' },
  { name: 'parentID', kind: 'string', usage: 'The Parent ID of the records to show' },
  { name: 'selector', kind: 'list', usage: 'A colon-delimited type:value selector. Can be used more than once' },
  { name: 'federatesWith', kind: 'list', usage: 'SPIFFE ID of a trust domain an entry is federate with. Can be used more than once' },
  {
    name: 'matchSelectorsOn',
    kind: 'string',
    usage: 'The match mode used when filtering by selectors. Options: exact, any, superset and subset',
    default: 'superset',
  },
  {
    name: 'matchFederatesWithOn',
    kind: 'string',
    usage: 'The match mode used when filtering by federates with. Options: exact, any, superset and subset',
    default: 'superset',
  },
  { name: 'hint', kind: 'string', usage: 'The Hint of the records to show (optional)' },
  { name: 'downstream', kind: 'bool', usage: 'Not supported by the development agent (no entry is downstream)' },
];

type MatchMode = 'exact' | 'any' | 'superset' | 'subset';

function matchMode(flags: ParsedFlags, name: string): MatchMode {
  const mode = flags.strings.get(name) ?? 'superset';
  if (!['exact', 'any', 'superset', 'subset'].includes(mode)) {
    throw new FlagError(`match behavior "${mode}" unknown; use exact, any, superset or subset`);
  }
  return mode as MatchMode;
}

function matches(have: readonly string[], wanted: readonly string[], mode: MatchMode): boolean {
  if (wanted.length === 0) return true;
  const h = new Set(have);
  const w = new Set(wanted);
  switch (mode) {
    case 'superset':
      return [...w].every((x) => h.has(x));
    case 'subset':
      return [...h].every((x) => w.has(x));
    case 'exact':
      return h.size === w.size && [...w].every((x) => h.has(x));
    case 'any':
      return [...w].some((x) => h.has(x));
  }
}

function normaliseId(value: string): string {
  return value.replace(/^spiffe:\/\/([^/]*)/i, (_, td: string) => `spiffe://${td.toLowerCase()}`);
}

/** The entries the filter flags select, in creation order. */
export async function filteredEntries(flags: ParsedFlags, io: CliIo): Promise<RegistrationEntry[]> {
  const entries = await client(flags, io).listEntries();
  const entryId = flags.strings.get('entryID');
  const spiffeId = flags.strings.get('spiffeID');
  const parentId = flags.strings.get('parentID');
  const hint = flags.strings.get('hint');
  const selectors = (flags.lists.get('selector') ?? []).map((s) => selectorString(parseSelector(s)));
  const federatesWith = (flags.lists.get('federatesWith') ?? []).map((f) => f.replace(/^spiffe:\/\//i, '').toLowerCase());
  const selectorMode = matchMode(flags, 'matchSelectorsOn');
  const federationMode = matchMode(flags, 'matchFederatesWithOn');
  if (flags.bools.get('downstream')) return [];
  return entries.filter(
    (e) =>
      (entryId === undefined || e.id === entryId) &&
      (spiffeId === undefined || e.spiffeId === normaliseId(spiffeId)) &&
      (parentId === undefined || e.parentId === normaliseId(parentId)) &&
      (hint === undefined || e.hint === hint) &&
      matches(e.selectors.map(selectorString), selectors, selectorMode) &&
      matches(e.federatesWith, federatesWith, federationMode),
  );
}
