/**
 * A command-line flag parser that behaves like Go's `flag` package, as SPIRE's commands do:
 * `-name value` or `-name=value` (two dashes work too), booleans as `-name` or `-name=false`,
 * repeatable list flags, and parsing stops at the first argument that is not a flag or at `--`.
 * Each command prints its own usage text (the SPIRE command it imitates decides its shape).
 *
 * @module
 */
import { parseGoDuration } from './duration.js';

/**
 * One flag a command accepts.
 *
 * @example
 * ```ts
 * const spec: FlagSpec = { name: 'socketPath', kind: 'string', usage: 'Path to the Workload API socket', default: '/tmp/spire-agent/public/api.sock' };
 * ```
 */
export interface FlagSpec {
  name: string;
  kind: 'string' | 'int' | 'bool' | 'list' | 'duration';
  usage: string;
  /** The default, as the usage text shows it. */
  default?: string;
}

/**
 * The flags given, by name, and the arguments after them.
 *
 * @example
 * ```ts
 * const flags: ParsedFlags = parseFlags(['-silent'], specs);
 * flags.bools.get('silent'); // true
 * ```
 */
export interface ParsedFlags {
  strings: Map<string, string>;
  ints: Map<string, number>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
  /** Durations in milliseconds. */
  durations: Map<string, number>;
  args: string[];
  help: boolean;
}

/**
 * A usage error: an unknown flag, a missing value, a malformed value. Printed with the usage.
 *
 * @example
 * ```ts
 * throw new FlagError('flag provided but not defined: -foo');
 * ```
 */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** Reads the value of a flag that takes one; throws a {@link FlagError} naming the flag. */
function store(out: ParsedFlags, spec: FlagSpec, value: string): void {
  const name = spec.name;
  switch (spec.kind) {
    case 'string':
      out.strings.set(name, value);
      return;
    case 'list':
      out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
      return;
    case 'int':
      if (!/^-?\d+$/.test(value)) throw new FlagError(`invalid value "${value}" for flag -${name}: parse error`);
      out.ints.set(name, Number(value));
      return;
    case 'duration': {
      const ms = parseGoDuration(value);
      if (ms === undefined)
        throw new FlagError(`invalid value "${value}" for flag -${name}: parse error (use a duration such as 1s, 500ms, 2m)`);
      out.durations.set(name, ms);
      return;
    }
    case 'bool':
      throw new TypeError('store: booleans take no separate value');
  }
}

/**
 * Parses `argv` against `specs`.
 *
 * @throws {@link FlagError} for an unknown flag, a missing value or a malformed value.
 * @example
 * ```ts
 * const flags = parseFlags(['-audience', 'a,b', '-audience=c'], [{ name: 'audience', kind: 'list', usage: '' }]);
 * flags.lists.get('audience'); // ['a,b', 'c']
 * ```
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedFlags = {
    strings: new Map(),
    ints: new Map(),
    bools: new Map(),
    lists: new Map(),
    durations: new Map(),
    args: [],
    help: false,
  };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : body.slice(eq + 1);
    i += 1;
    if (name === 'h' || name === 'help') {
      out.help = true;
      continue;
    }
    const spec = byName.get(name);
    if (spec === undefined) throw new FlagError(`flag provided but not defined: -${name}`);
    if (spec.kind === 'bool') {
      if (value === undefined || /^(1|t|true|TRUE|True)$/.test(value)) out.bools.set(name, true);
      else if (/^(0|f|false|FALSE|False)$/.test(value)) out.bools.set(name, false);
      else throw new FlagError(`invalid boolean value "${value}" for -${name}`);
      continue;
    }
    if (value === undefined) {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      // Needed: the receiver is `string | undefined`, but `store` below takes the narrowed string.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      value = argv[i] as string;
      i += 1;
    }
    store(out, spec, value);
  }
  out.args = argv.slice(i);
  return out;
}
