/**
 * Running a command module as a program.
 *
 * @module
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Runs `main` with the command-line arguments when the module at `moduleUrl` is the program
 * node was started with (`node dist/main.js ...`, or through a symlinked bin), and sets the
 * exit code to what it resolves to; an unexpected error is printed with its stack and exits 1.
 * Does nothing when the module is imported.
 *
 * @example
 * ```ts
 * runAsProgram(import.meta.url, main);
 * ```
 */
export function runAsProgram(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  const entry = process.argv[1];
  if (entry === undefined) return;
  try {
    if (pathToFileURL(realpathSync(entry)).href !== moduleUrl) return;
  } catch {
    return;
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`Error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
