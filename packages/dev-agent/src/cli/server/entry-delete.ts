/**
 * `spire-server entry delete`.
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { FlagError } from '../flags.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `entry delete`. */
export const entryDelete: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'entryID', kind: 'string', usage: 'The Registration Entry ID of the record to delete.' },
  ],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('entryID') ?? '';
    if (id === '') throw new FlagError('an entry ID is required');
    try {
      await client(flags, io).deleteEntry(id);
    } catch (err) {
      if (!(err instanceof DevAgentError) || err.code !== 'ERR_ENTRY_NOT_FOUND') throw err;
      // SPIRE's summary line goes to stdout without a final newline.
      if (output === 'pretty') io.stdout('\n\nFailed to delete 1 entries');
      io.stderr(
        `Failed to delete entry with ID ${id} (code: NotFound, msg: "entry not found")\nError: failed to delete one or more entries\n`,
      );
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ results: [{ status: { code: 0, message: 'OK' }, id }] })}\n`);
    else io.stdout(`Deleted entry with ID: ${id}\n\n\nDeleted 1 entries successfully`);
    return 0;
  },
};
