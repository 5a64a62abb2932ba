/**
 * The `spire-server`-compatible commands: `entry create|show|delete|count`,
 * `bundle show|list|set|delete|count`, `federation create|list|show|update|delete|refresh`,
 * `healthcheck`, `token generate`. They accept SPIRE's flag spellings and print SPIRE's output
 * shapes, and reach the running agent through its admin socket (`-socketPath`, or
 * `SPIFFE_DEV_AGENT_ADMIN_SOCKET`, or the default).
 *
 * Each command lives in `server/<command>.ts`; this module dispatches.
 *
 * @module
 */
import { DevAgentError } from '../errors.js';
import { FlagError, parseFlags, usage } from './flags.js';
import type { CliIo } from './io.js';
import { bundleCount } from './server/bundle-count.js';
import { bundleDelete } from './server/bundle-delete.js';
import { bundleList } from './server/bundle-list.js';
import { bundleSet } from './server/bundle-set.js';
import { bundleShow } from './server/bundle-show.js';
import type { Command } from './server/common.js';
import { entryCount } from './server/entry-count.js';
import { entryCreate } from './server/entry-create.js';
import { entryDelete } from './server/entry-delete.js';
import { entryShow } from './server/entry-show.js';
import { federationCreate } from './server/federation-create.js';
import { federationDelete } from './server/federation-delete.js';
import { federationList } from './server/federation-list.js';
import { federationRefresh } from './server/federation-refresh.js';
import { federationShow } from './server/federation-show.js';
import { federationUpdate } from './server/federation-update.js';
import { healthcheck } from './server/healthcheck.js';
import { tokenGenerate } from './server/token-generate.js';

export { ADMIN_SOCKET_ENV } from './server/common.js';

const COMMANDS: Record<string, Command> = {
  'entry create': entryCreate,
  'entry show': entryShow,
  'entry count': entryCount,
  'entry delete': entryDelete,
  'bundle show': bundleShow,
  'bundle list': bundleList,
  'bundle set': bundleSet,
  'bundle delete': bundleDelete,
  'bundle count': bundleCount,
  'federation create': federationCreate,
  'federation list': federationList,
  'federation show': federationShow,
  'federation update': federationUpdate,
  'federation delete': federationDelete,
  'federation refresh': federationRefresh,
  healthcheck,
  'token generate': tokenGenerate,
};

const SERVER_USAGE = `Usage: spire-server [--version] [--help] <command> [<args>]

Commands served by the SPIFFE development agent (through its admin socket):
    bundle count      Counts bundles (the agent's own and the others)
    bundle delete     Deletes the bundle of a foreign trust domain
    bundle list       Lists the bundles of the other trust domains (local CAs and foreign bundles)
    bundle set        Sets the bundle of a foreign trust domain
    bundle show       Prints the agent's trust bundle
    entry count       Counts registration entries
    entry create      Creates registration entries
    entry delete      Deletes registration entries
    entry show        Displays configured registration entries
    federation create Creates a federation relationship with a partner trust domain
    federation delete Deletes a federation relationship
    federation list   Lists federation relationships
    federation refresh Fetches a partner's bundle from its bundle endpoint now
    federation show   Shows a federation relationship
    federation update Updates a federation relationship
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
