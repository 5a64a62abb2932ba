/**
 * Where the CLI reads and writes, so commands can run in tests without a child process.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** The CLI's input and output. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input. */
  readStdin(): string;
  env: NodeJS.ProcessEnv;
}

/**
 * The process's own standard streams and environment.
 *
 * @example
 * ```ts
 * const code = await runServerCommand(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readStdin: () => readFileSync(0, 'utf8'),
    env: process.env,
  };
}
