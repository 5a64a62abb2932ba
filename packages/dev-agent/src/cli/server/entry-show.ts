/**
 * `spire-server entry show`.
 *
 * @module
 */
import { spireEntryOrder } from '../entry-order.js';
import { formatEntryList } from '../print.js';
import { entryJson, outputFormat, type Command } from './common.js';
import { filteredEntries, showFlags } from './entry-filter.js';

/** `entry show`. */
export const entryShow: Command = {
  flags: showFlags,
  async run(flags, io) {
    const output = outputFormat(flags);
    const entries = spireEntryOrder(await filteredEntries(flags, io));
    const entryId = flags.strings.get('entryID');
    if (entryId !== undefined && entries.length === 0) {
      io.stderr('Error: rpc error: code = NotFound desc = entry not found\n');
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ entries: entries.map(entryJson), next_page_token: '' })}\n`);
    else io.stdout(formatEntryList(entries));
    return 0;
  },
};
