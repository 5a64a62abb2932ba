/**
 * A flag parser that follows Go's `flag` package, as SPIRE's CLI does: `-name value`,
 * `-name=value`, `--name` spelled with two dashes, booleans as `-name` or `-name=false`,
 * repeatable list flags, parsing stops at the first non-flag argument or at `--`.
 *
 * @module
 */

/** One flag. */
export interface FlagSpec {
  name: string;
  kind: 'string' | 'int' | 'bool' | 'list';
  usage: string;
  /** The default shown in the usage (and used for strings). */
  default?: string;
}

/** Parsed flags by name, and the arguments after them. */
export interface ParsedFlags {
  strings: Map<string, string>;
  ints: Map<string, number>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
  args: string[];
  help: boolean;
}

/** A usage error, printed with the command's usage. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/**
 * Parses `argv` against `specs`.
 *
 * @throws {@link FlagError} for an unknown flag, a missing value or a bad number.
 * @example
 * ```ts
 * const flags = parseFlags(['-selector', 'unix:uid:0', '-selector=unix:gid:0'], [{ name: 'selector', kind: 'list', usage: '' }]);
 * flags.lists.get('selector'); // ['unix:uid:0', 'unix:gid:0']
 * ```
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedFlags = { strings: new Map(), ints: new Map(), bools: new Map(), lists: new Map(), args: [], help: false };
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
      if (value === undefined) out.bools.set(name, true);
      else if (/^(1|t|true|TRUE|True)$/.test(value)) out.bools.set(name, true);
      else if (/^(0|f|false|FALSE|False)$/.test(value)) out.bools.set(name, false);
      else throw new FlagError(`invalid boolean value "${value}" for -${name}`);
      continue;
    }
    if (value === undefined) {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[i] as string;
      i += 1;
    }
    if (spec.kind === 'string') out.strings.set(name, value);
    else if (spec.kind === 'list') out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    else {
      if (!/^-?\d+$/.test(value)) throw new FlagError(`invalid value "${value}" for flag -${name}: parse error`);
      out.ints.set(name, Number(value));
    }
  }
  out.args = argv.slice(i) as string[];
  return out;
}

/**
 * The usage text of a command, in the shape Go's `flag` package prints.
 *
 * @example
 * ```ts
 * usage('entry delete', [{ name: 'entryID', kind: 'string', usage: 'The Registration Entry ID of the record to delete.' }]);
 * ```
 */
export function usage(command: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage of ${command}:`];
  for (const s of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
    const type = s.kind === 'bool' ? '' : s.kind === 'list' ? ' value' : s.kind === 'int' ? ' int' : ' string';
    const def = s.default !== undefined ? ` (default "${s.default}")` : '';
    lines.push(`  -${s.name}${type}`, `    \t${s.usage}${def}`);
  }
  return `${lines.join('\n')}\n`;
}
