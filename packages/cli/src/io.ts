/**
 * Where a command writes and what environment it reads, so that commands run the same in a
 * process and in tests.
 *
 * @module
 */

/**
 * The outputs and environment of a command.
 *
 * @example
 * ```ts
 * const out: string[] = [];
 * const io: CliIo = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), env: {} };
 * ```
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

/**
 * The process's own stdout, stderr and environment.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
  };
}
