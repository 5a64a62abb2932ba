/**
 * The flags of the dev agent's `spire-server` commands: parsed as Go's `flag` package does
 * (shared with the `spiffe` CLI, see `@spiffe-node/go-cli`), and their usage text in the shape
 * `spire-server` prints it.
 *
 * @module
 */
import type { FlagSpec } from '@spiffe-node/go-cli';

export { FlagError, parseFlags, type FlagSpec, type ParsedFlags } from '@spiffe-node/go-cli';

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
