/**
 * The `-format pem|spiffe` flag of the `spire-server bundle` commands.
 *
 * @module
 */
import { FlagError, type FlagSpec, type ParsedFlags } from '../flags.js';

/** The bundle format asked for. @throws {@link FlagError} for another one. */
export function bundleFormat(flags: ParsedFlags): 'pem' | 'spiffe' {
  const format = flags.strings.get('format') ?? 'pem';
  if (format !== 'pem' && format !== 'spiffe') throw new FlagError(`invalid format: "${format}"`);
  return format;
}

/** The `-format` flag of `bundle show`. */
export const formatFlag: FlagSpec = {
  name: 'format',
  kind: 'string',
  usage: 'The format to show the bundle (only pretty output format supports this flag). Either "pem" or "spiffe".',
  default: 'pem',
};
