/**
 * The flags of the `spiffe` commands: parsed as Go's `flag` package does (shared with the dev
 * agent's CLI, see `@spiffe-node/go-cli`), and their usage text in the shape
 * `spire-agent api` prints it.
 *
 * @module
 */
import type { FlagSpec } from '@spiffe-node/go-cli';

export { FlagError, parseFlags, type FlagSpec, type ParsedFlags } from '@spiffe-node/go-cli';

/**
 * The usage text of a command, in the shape Go's `flag.PrintDefaults` prints.
 *
 * @example
 * ```ts
 * io.stderr(usage('api fetch x509', FETCH_X509_FLAGS));
 * ```
 */
export function usage(command: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage of ${command}:`];
  for (const spec of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
    const type = spec.kind === 'bool' ? '' : spec.kind === 'duration' ? ' value' : ' string';
    lines.push(`  -${spec.name}${type}`);
    lines.push(
      `    \t${spec.usage}${spec.default !== undefined && spec.default !== '' ? ` (default ${spec.kind === 'string' ? JSON.stringify(spec.default) : spec.default})` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
