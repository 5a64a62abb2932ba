/**
 * `spire-server entry count`.
 *
 * @module
 */
import { outputFormat, type Command } from './common.js';
import { filteredEntries, showFlags } from './entry-filter.js';

/** `entry count`. */
export const entryCount: Command = {
  flags: showFlags,
  async run(flags, io) {
    const output = outputFormat(flags);
    const n = (await filteredEntries(flags, io)).length;
    if (output === 'json') io.stdout(`${JSON.stringify({ count: n })}\n`);
    else io.stdout(`${n} registration ${n === 1 ? 'entry' : 'entries'}\n`);
    return 0;
  },
};
