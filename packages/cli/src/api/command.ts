/**
 * `spiffe api ...`: the sub-commands of `spire-agent api`.
 *
 * @module
 */
import { FlagError, parseFlags, usage, type FlagSpec, type ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { FETCH_JWT_FLAGS, fetchJwtCommand } from './fetch-jwt.js';
import { FETCH_X509_FLAGS, fetchX509Command } from './fetch-x509.js';
import { VALIDATE_JWT_FLAGS, validateJwtCommand } from './validate-jwt.js';
import { WATCH_FLAGS, watchCommand } from './watch.js';

/** The usage of `spiffe api`. */
const API_USAGE = `Usage: spiffe api <command> [<args>]

Commands:
    fetch x509      Fetches X509 SVIDs from the Workload API (-write DIR writes them as files)
    fetch jwt       Fetches a JWT SVID from the Workload API
    validate jwt    Validates a JWT SVID
    watch           Attaches to the Workload API and prints updates as they're received
`;

interface Sub {
  name: string;
  flags: readonly FlagSpec[];
  run: (flags: ParsedFlags, io: CliIo, signal: AbortSignal) => Promise<number>;
}

const SUBS: Record<string, Sub> = {
  'fetch x509': { name: 'fetch x509', flags: FETCH_X509_FLAGS, run: fetchX509Command },
  'fetch jwt': { name: 'fetch jwt', flags: FETCH_JWT_FLAGS, run: fetchJwtCommand },
  'validate jwt': { name: 'validate jwt', flags: VALIDATE_JWT_FLAGS, run: validateJwtCommand },
  watch: { name: 'watch', flags: WATCH_FLAGS, run: watchCommand },
};

/**
 * Runs `spiffe api <argv>`.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * process.exitCode = await runApiCommand(['fetch', 'x509', '-write', '/tmp/svids'], processIo(), signal);
 * ```
 */
export async function runApiCommand(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let sub: Sub | undefined;
  let rest: readonly string[];
  if (argv[0] === 'watch') {
    sub = SUBS['watch'];
    rest = argv.slice(1);
  } else if (argv[0] === 'fetch' && (argv[1] === undefined || argv[1].startsWith('-'))) {
    // `api fetch` alone fetches X.509, as SPIRE's did.
    sub = SUBS['fetch x509'];
    rest = argv.slice(1);
  } else {
    sub = SUBS[`${argv[0]} ${argv[1]}`];
    rest = argv.slice(2);
  }
  if (sub === undefined) {
    const asked = argv.slice(0, 2).join(' ');
    io.stderr(asked === '' || asked === '-h' || asked === 'help' ? API_USAGE : `unknown command "api ${asked}"\n\n${API_USAGE}`);
    return asked === '-h' || asked === 'help' ? 0 : 1;
  }
  let flags: ParsedFlags;
  try {
    flags = parseFlags(rest, sub.flags);
  } catch (err) {
    if (err instanceof FlagError) {
      io.stderr(`${err.message}\n${usage(`api ${sub.name}`, sub.flags)}`);
      return 1;
    }
    throw err;
  }
  if (flags.help) {
    io.stderr(usage(`api ${sub.name}`, sub.flags));
    return 0;
  }
  if (flags.args.length > 0) {
    io.stderr(`unexpected argument "${flags.args[0]}"\n${usage(`api ${sub.name}`, sub.flags)}`);
    return 1;
  }
  return sub.run(flags, io, signal);
}
