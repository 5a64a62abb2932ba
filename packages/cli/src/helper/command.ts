/**
 * `spiffe helper -config helper.conf`: spiffe-helper's command line.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { FlagError, parseFlags, usage, type FlagSpec } from '../flags.js';
import type { CliIo } from '../io.js';
import { HelperConfigError, parseHelperConfig, type HelperConfig } from './config.js';
import { SpiffeHelper } from './helper.js';
import { helperLog } from './log.js';

/** The flags of `spiffe helper` (spiffe-helper's). */
const HELPER_FLAGS: readonly FlagSpec[] = [
  { name: 'config', kind: 'string', usage: 'Path to the configuration file (HCL)', default: 'helper.conf' },
  {
    name: 'daemon-mode',
    kind: 'bool',
    usage: 'Keep the files current (true, the default) or write them once and exit (false); overrides daemon_mode',
  },
  { name: 'exitWhenReady', kind: 'bool', usage: 'Exit once every file is written; overrides exit_when_ready' },
];

/**
 * Runs the helper until `signal` aborts (or once, without daemon mode).
 *
 * @returns the exit code.
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * process.exitCode = await helperCommand(['-config', 'helper.conf'], processIo(), stop.signal);
 * ```
 */
export async function helperCommand(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let file: string;
  let overrides: { daemonMode?: boolean; exitWhenReady?: boolean };
  try {
    const flags = parseFlags(argv, HELPER_FLAGS);
    if (flags.help) {
      io.stderr(usage('helper', HELPER_FLAGS));
      return 0;
    }
    if (flags.args.length > 0) throw new FlagError(`unexpected argument "${flags.args[0]}"`);
    file = flags.strings.get('config') ?? 'helper.conf';
    overrides = { daemonMode: flags.bools.get('daemon-mode'), exitWhenReady: flags.bools.get('exitWhenReady') };
  } catch (err) {
    if (err instanceof FlagError) {
      io.stderr(`${err.message}\n${usage('helper', HELPER_FLAGS)}`);
      return 1;
    }
    throw err;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    io.stderr(
      `Error: cannot read the configuration file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist (give its path with -config)' : (err as Error).message}\n`,
    );
    return 1;
  }
  let config: HelperConfig;
  try {
    config = parseHelperConfig(text, file, overrides);
  } catch (err) {
    if (err instanceof HelperConfigError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const helper = new SpiffeHelper(config, { env: io.env, log: helperLog((line) => io.stderr(line), config.logLevel) });
  return helper.run(signal);
}
