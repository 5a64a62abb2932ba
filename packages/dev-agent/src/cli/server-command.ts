/**
 * The `spire-server`-compatible commands: `entry create|show|delete|count`, `bundle show|list`,
 * `healthcheck`, `token generate`. They accept SPIRE's flag spellings and print SPIRE's output
 * shapes, and reach the running agent through its admin socket (`-socketPath`, or
 * `SPIFFE_DEV_AGENT_ADMIN_SOCKET`, or the default).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AdminClient } from '../admin/client.js';
import { DevAgentError } from '../errors.js';
import { DEFAULT_ADMIN_SOCKET_PATH } from '../options.js';
import { parseSelector, selectorString, type EntryParams, type RegistrationEntry, type Selector } from '../state/entries.js';
import { spireEntryOrder, withSortedSelectors } from './entry-order.js';
import { FlagError, parseFlags, usage, type FlagSpec, type ParsedFlags } from './flags.js';
import type { CliIo } from './io.js';
import { formatEntry, formatEntryList, type PrintableEntry } from './print.js';

/** The environment variable that overrides the default admin socket of the CLI. */
export const ADMIN_SOCKET_ENV = 'SPIFFE_DEV_AGENT_ADMIN_SOCKET';

const GRPC_CODE_NAMES: Record<string, string> = {
  ERR_ENTRY_EXISTS: 'AlreadyExists',
  ERR_ENTRY_INVALID: 'InvalidArgument',
  ERR_ENTRY_NOT_FOUND: 'NotFound',
  ERR_AGENT_CONFIG: 'InvalidArgument',
};

function socketFlag(io: CliIo): FlagSpec {
  return {
    name: 'socketPath',
    kind: 'string',
    usage: `Path to the development agent's admin socket (SPIRE: the Server API socket); ${ADMIN_SOCKET_ENV} overrides the default`,
    default: io.env[ADMIN_SOCKET_ENV] || DEFAULT_ADMIN_SOCKET_PATH,
  };
}

const outputFlag: FlagSpec = { name: 'output', kind: 'string', usage: 'Desired output format (pretty, json); default: pretty.' };

function client(flags: ParsedFlags, io: CliIo): AdminClient {
  return new AdminClient(flags.strings.get('socketPath') || io.env[ADMIN_SOCKET_ENV] || DEFAULT_ADMIN_SOCKET_PATH);
}

function outputFormat(flags: ParsedFlags): 'pretty' | 'json' {
  const output = flags.strings.get('output') ?? 'pretty';
  if (output !== 'pretty' && output !== 'json') throw new FlagError(`invalid output format "${output}"; use pretty or json`);
  return output;
}

function idJson(id: string): { trust_domain: string; path: string } {
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? { trust_domain: rest, path: '' } : { trust_domain: rest.slice(0, slash), path: rest.slice(slash) };
}

/** An entry in the JSON shape SPIRE's `-output json` prints. */
function entryJson(e: RegistrationEntry): Record<string, unknown> {
  return {
    id: e.id,
    spiffe_id: idJson(e.spiffeId),
    parent_id: idJson(e.parentId),
    selectors: e.selectors.map((s) => ({ type: s.type, value: s.value })),
    x509_svid_ttl: e.x509SvidTtl,
    federates_with: e.federatesWith.map((td) => `spiffe://${td}`),
    admin: false,
    downstream: false,
    expires_at: '0',
    dns_names: [...e.dnsNames],
    revision_number: String(e.revision),
    store_svid: false,
    jwt_svid_ttl: e.jwtSvidTtl,
    hint: e.hint,
    created_at: String(Math.floor(new Date(e.createdAt).getTime() / 1000)),
  };
}

interface Command {
  flags: (io: CliIo) => FlagSpec[];
  run: (flags: ParsedFlags, io: CliIo) => Promise<number>;
}

// ---- entry create -------------------------------------------------------------------------

const createFlags = (io: CliIo): FlagSpec[] => [
  socketFlag(io),
  outputFlag,
  { name: 'entryID', kind: 'string', usage: 'A custom ID for this registration entry (optional). If not set, a new entry ID will be generated' },
  { name: 'spiffeID', kind: 'string', usage: 'The SPIFFE ID that this record represents' },
  { name: 'parentID', kind: 'string', usage: "The SPIFFE ID of this record's parent" },
  { name: 'selector', kind: 'list', usage: 'A colon-delimited type:value selector. Can be used more than once' },
  { name: 'x509SVIDTTL', kind: 'int', usage: 'The lifetime, in seconds, for x509-SVIDs issued based on this registration entry. Overrides ttl flag' },
  { name: 'jwtSVIDTTL', kind: 'int', usage: 'The lifetime, in seconds, for JWT-SVIDs issued based on this registration entry. Overrides ttl flag' },
  { name: 'ttl', kind: 'int', usage: 'The lifetime, in seconds, for SVIDs issued based on this registration entry (deprecated)' },
  { name: 'dns', kind: 'list', usage: 'A DNS name that will be included in SVIDs issued based on this entry, where appropriate. Can be used more than once' },
  { name: 'federatesWith', kind: 'list', usage: 'SPIFFE ID of a trust domain to federate with. Can be used more than once' },
  { name: 'hint', kind: 'string', usage: 'The entry hint, used to disambiguate entries with the same SPIFFE ID' },
  { name: 'data', kind: 'string', usage: "Path to a file containing registration JSON (optional). If set to '-', read the JSON from stdin." },
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
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new FlagError(`entry ${i} of the registration JSON is not an object`);
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
    federatesWith: (params.federatesWith ?? []).map((f) => f.replace(/^spiffe:\/\//i, '')),
    hint: params.hint ?? '',
    revision: 0,
  };
}

const entryCreate: Command = {
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
    if (output === 'json') io.stdout(`${JSON.stringify({ results: printed.map((e) => ({ status: { code: 0, message: 'OK' }, entry: entryJson(e) })) })}\n`);
    else for (const e of printed) io.stdout(formatEntry(e));
    if (failed) {
      io.stderr('Error: failed to create one or more entries\n');
      return 1;
    }
    return 0;
  },
};

// ---- entry show / count -------------------------------------------------------------------

const showFlags = (io: CliIo): FlagSpec[] => [
  socketFlag(io),
  outputFlag,
  { name: 'entryID', kind: 'string', usage: 'The Entry ID of the records to show' },
  { name: 'spiffeID', kind: 'string', usage: 'The SPIFFE ID of the records to show' },
  { name: 'parentID', kind: 'string', usage: 'The Parent ID of the records to show' },
  { name: 'selector', kind: 'list', usage: 'A colon-delimited type:value selector. Can be used more than once' },
  { name: 'federatesWith', kind: 'list', usage: 'SPIFFE ID of a trust domain an entry is federate with. Can be used more than once' },
  { name: 'matchSelectorsOn', kind: 'string', usage: 'The match mode used when filtering by selectors. Options: exact, any, superset and subset', default: 'superset' },
  { name: 'matchFederatesWithOn', kind: 'string', usage: 'The match mode used when filtering by federates with. Options: exact, any, superset and subset', default: 'superset' },
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

async function filteredEntries(flags: ParsedFlags, io: CliIo): Promise<RegistrationEntry[]> {
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

const entryShow: Command = {
  flags: showFlags,
  async run(flags, io) {
    const output = outputFormat(flags);
    const entries = spireEntryOrder(await filteredEntries(flags, io));
    const entryId = flags.strings.get('entryID');
    if (entryId !== undefined && entries.length === 0) {
      io.stderr('Error: rpc error: code = NotFound desc = entry not found\n');
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ entries: entries.map(entryJson), next_page_token: '' })}\n`);
    else io.stdout(formatEntryList(entries));
    return 0;
  },
};

const entryCount: Command = {
  flags: showFlags,
  async run(flags, io) {
    const output = outputFormat(flags);
    const n = (await filteredEntries(flags, io)).length;
    if (output === 'json') io.stdout(`${JSON.stringify({ count: n })}\n`);
    else io.stdout(`${n} registration ${n === 1 ? 'entry' : 'entries'}\n`);
    return 0;
  },
};

// ---- entry delete -------------------------------------------------------------------------

const entryDelete: Command = {
  flags: (io) => [socketFlag(io), outputFlag, { name: 'entryID', kind: 'string', usage: 'The Registration Entry ID of the record to delete.' }],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('entryID') ?? '';
    if (id === '') throw new FlagError('an entry ID is required');
    try {
      await client(flags, io).deleteEntry(id);
    } catch (err) {
      if (!(err instanceof DevAgentError) || err.code !== 'ERR_ENTRY_NOT_FOUND') throw err;
      io.stderr(`Failed to delete entry with ID ${id} (code: NotFound, msg: "entry not found")\nError: failed to delete entry\n`);
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ results: [{ status: { code: 0, message: 'OK' }, id }] })}\n`);
    else io.stdout(`Deleted entry with ID: ${id}\n`);
    return 0;
  },
};

// ---- bundle show / list -------------------------------------------------------------------

function bundleFormat(flags: ParsedFlags): 'pem' | 'spiffe' {
  const format = flags.strings.get('format') ?? 'pem';
  if (format !== 'pem' && format !== 'spiffe') throw new FlagError(`invalid format: "${format}"`);
  return format;
}

const formatFlag: FlagSpec = { name: 'format', kind: 'string', usage: 'The format to show the bundle (only pretty output format supports this flag). Either "pem" or "spiffe".', default: 'pem' };

const bundleShow: Command = {
  flags: (io) => [socketFlag(io), outputFlag, formatFlag],
  async run(flags, io) {
    outputFormat(flags);
    io.stdout(await client(flags, io).bundle(bundleFormat(flags)));
    return 0;
  },
};

const bundleList: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    formatFlag,
    { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' },
  ],
  async run(flags, io) {
    outputFormat(flags);
    const format = bundleFormat(flags);
    const admin = client(flags, io);
    const id = flags.strings.get('id');
    if (id !== undefined) {
      io.stdout(await admin.bundle(format, id.replace(/^spiffe:\/\//i, '')));
      return 0;
    }
    // The first trust domain is the agent's own; the others are listed, as SPIRE lists federated bundles.
    const federated = (await admin.health()).trustDomains.slice(1);
    for (const td of federated) {
      io.stdout(`****************************************\n* spiffe://${td}\n****************************************\n`);
      io.stdout(`${await admin.bundle(format, td)}\n`);
    }
    return 0;
  },
};

// ---- healthcheck, token generate ----------------------------------------------------------

const healthcheck: Command = {
  flags: (io) => [
    socketFlag(io),
    { name: 'shallow', kind: 'bool', usage: 'Perform a less stringent health check' },
    { name: 'verbose', kind: 'bool', usage: 'Print verbose information' },
  ],
  async run(flags, io) {
    if (flags.bools.get('verbose')) io.stdout('Checking server health...\n');
    try {
      await client(flags, io).health();
    } catch (err) {
      if (flags.bools.get('verbose')) io.stderr(`${(err as Error).message}\n`);
      io.stderr('Error: server is unhealthy: unable to determine health\n');
      return 1;
    }
    io.stdout('Server is healthy.\n');
    return 0;
  },
};

const tokenGenerate: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'spiffeID', kind: 'string', usage: 'Additional SPIFFE ID to assign the token owner (optional)' },
    { name: 'ttl', kind: 'int', usage: 'Token TTL in seconds', default: '600' },
  ],
  async run(flags, io) {
    // The development agent has no node attestation: the token is never checked, only printed
    // so that scripts written for SPIRE's join-token flow run unchanged.
    const token = randomUUID();
    if (outputFormat(flags) === 'json') io.stdout(`${JSON.stringify({ value: token })}\n`);
    else io.stdout(`Token: ${token}\n`);
    return 0;
  },
};

const COMMANDS: Record<string, Command> = {
  'entry create': entryCreate,
  'entry show': entryShow,
  'entry count': entryCount,
  'entry delete': entryDelete,
  'bundle show': bundleShow,
  'bundle list': bundleList,
  healthcheck,
  'token generate': tokenGenerate,
};

const SERVER_USAGE = `Usage: spire-server [--version] [--help] <command> [<args>]

Commands served by the SPIFFE development agent (through its admin socket):
    bundle list       Lists the bundles of the other trust domains the agent holds a CA for
    bundle show       Prints the agent's trust bundle
    entry count       Counts registration entries
    entry create      Creates registration entries
    entry delete      Deletes registration entries
    entry show        Displays configured registration entries
    healthcheck       Determines agent health status
    token generate    Prints a join token (accepted for compatibility; never checked)
`;

/**
 * Runs one `spire-server`-compatible command.
 *
 * @param argv - the arguments after `spire-server`, e.g. `['entry', 'show', '-spiffeID', 'spiffe://example.org/web']`.
 * @returns the exit code.
 * @example
 * ```ts
 * const code = await runServerCommand(['healthcheck'], processIo()); // prints "Server is healthy."
 * ```
 */
export async function runServerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') {
    io.stderr(SERVER_USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  let name = argv[0] as string;
  let rest = argv.slice(1);
  if (COMMANDS[name] === undefined && argv[1] !== undefined && COMMANDS[`${name} ${argv[1]}`] !== undefined) {
    name = `${name} ${argv[1]}`;
    rest = argv.slice(2);
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`Error: "${argv.slice(0, 2).join(' ')}" is not a command the SPIFFE development agent supports\n\n${SERVER_USAGE}`);
    return 1;
  }
  const specs = command.flags(io);
  try {
    const flags = parseFlags(rest, specs);
    if (flags.help) {
      io.stderr(usage(name, specs));
      return 0;
    }
    return await command.run(flags, io);
  } catch (err) {
    if (err instanceof FlagError) {
      io.stderr(`Error: ${err.message}\n`);
      if (err.message.startsWith('flag ')) io.stderr(usage(name, specs));
      return 1;
    }
    if (err instanceof DevAgentError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    if (err instanceof SyntaxError) {
      io.stderr(`Error: invalid registration JSON: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
