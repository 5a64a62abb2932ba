/**
 * The `spiffe` command line.
 *
 * @module
 */
import { runAsProgram } from '@spiffe-node/go-cli';
import { runApiCommand } from './api/command.js';
import { helperCommand } from './helper/command.js';
import { processIo, type CliIo } from './io.js';

/**
 * The top-level usage text.
 *
 * @example
 * ```ts
 * io.stderr(USAGE);
 * ```
 */
export const USAGE = `Usage: spiffe <command> [<args>]

Commands:
    api fetch x509     Fetches X509 SVIDs from the Workload API (-write DIR writes them as files)
    api fetch jwt      Fetches a JWT SVID from the Workload API
    api validate jwt   Validates a JWT SVID
    api watch          Attaches to the Workload API and prints updates as they're received
    helper             Keeps SVID files current for programs without Workload API support
                       (spiffe-helper's configuration: helper -config helper.conf)

The Workload API endpoint: -socketPath, else SPIFFE_ENDPOINT_SOCKET, else /tmp/spire-agent/public/api.sock.
`;

/**
 * Options of {@link main}.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await main(['api', 'watch'], processIo(), { signal: controller.signal });
 * ```
 */
export interface MainOptions {
  /**
   * Ends long-running commands (`api watch`, `helper`). Default: SIGINT or SIGTERM of the
   * process.
   */
  signal?: AbortSignal;
}

/**
 * Runs the `spiffe` command line.
 *
 * @returns the exit code.
 * @example
 * ```ts
 * import { main } from '@spiffe-node/cli';
 * process.exitCode = await main(['api', 'fetch', 'x509', '-write', '/tmp/svids']);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo(), options: MainOptions = {}): Promise<number> {
  let signal = options.signal;
  let cleanup = (): void => {};
  if (signal === undefined) {
    const controller = new AbortController();
    let stopping = false;
    const onSignal = (name: NodeJS.Signals): void => {
      if (stopping) {
        io.stderr(`Received ${name} again; exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    cleanup = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    signal = controller.signal;
  }
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'api':
        return await runApiCommand(rest, io, signal);
      case 'helper':
        return await helperCommand(rest, io, signal);
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
  } finally {
    cleanup();
  }
}

runAsProgram(import.meta.url, main);
