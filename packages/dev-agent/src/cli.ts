/**
 * The command line of the development agent:
 *
 * - `spiffe-dev-agent run [flags]`: runs the agent.
 * - `spiffe-dev-agent server <spire-server arguments>`: `entry create|show|delete|count`,
 *   `bundle show|list|set|delete|count`, `federation create|list|show|update|delete|refresh`,
 *   `healthcheck`, `token generate`, with SPIRE's flags and output
 *   (`bin/spire-server` is a wrapper that runs exactly this).
 * - `spiffe-dev-agent rotate x509|jwt [-socketPath p]`: re-mints X509-SVIDs now, or makes new JWT
 *   keys active now (for trying rotation by hand).
 *
 * @module
 */
import { runAsProgram } from '@spiffe-node/go-cli';
import { AdminClient } from './admin/client.js';
import { DevAgentError } from './errors.js';
import { processIo, type CliIo } from './cli/io.js';
import { runAgentCommand } from './cli/run-command.js';
import { ADMIN_SOCKET_ENV, runServerCommand } from './cli/server-command.js';
import { DEFAULT_ADMIN_SOCKET_PATH } from './options.js';
import { FlagError, parseFlags } from './cli/flags.js';

const USAGE = `Usage: spiffe-dev-agent <command> [<args>]

Commands:
    run                     Runs the SPIFFE development agent (run -h for its flags)
    server <command> ...    A spire-server compatible CLI: entry create|show|delete|count,
                            bundle show|list|set|delete|count, federation create|list|
                            show|update|delete|refresh, healthcheck, token generate
    rotate x509|jwt         Re-mints every X509-SVID now, or activates new JWT signing keys now
`;

async function rotate(argv: readonly string[], io: CliIo): Promise<number> {
  const kind = argv[0];
  if (kind !== 'x509' && kind !== 'jwt') {
    io.stderr('Usage: spiffe-dev-agent rotate x509|jwt [-socketPath <admin socket>]\n');
    return 1;
  }
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv.slice(1), [{ name: 'socketPath', kind: 'string', usage: 'admin socket' }]);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    io.stderr(`Error: ${err.message}\nUsage: spiffe-dev-agent rotate x509|jwt [-socketPath <admin socket>]\n`);
    return 1;
  }
  const admin = new AdminClient(flags.strings.get('socketPath') || io.env[ADMIN_SOCKET_ENV] || DEFAULT_ADMIN_SOCKET_PATH);
  try {
    if (kind === 'x509') await admin.rotateX509();
    else await admin.rotateJwt();
  } catch (err) {
    if (err instanceof DevAgentError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.stdout(kind === 'x509' ? 'Re-minted every X509-SVID.\n' : 'Activated new JWT signing keys.\n');
  return 0;
}

/**
 * Runs the command line.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runAgentCommand(rest, io);
    case 'server':
      return runServerCommand(rest, io);
    case 'rotate':
      return rotate(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stderr(USAGE);
      return command === undefined ? 1 : 0;
    default:
      io.stderr(`Error: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

runAsProgram(import.meta.url, main);
