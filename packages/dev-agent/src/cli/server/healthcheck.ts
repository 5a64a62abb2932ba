/**
 * `spire-server healthcheck`.
 *
 * @module
 */
import { client, socketFlag, type Command } from './common.js';

/** `healthcheck`. */
export const healthcheck: Command = {
  flags: (io) => [
    socketFlag(io),
    { name: 'shallow', kind: 'bool', usage: 'Perform a less stringent health check' },
    { name: 'verbose', kind: 'bool', usage: 'Print verbose information' },
  ],
  async run(flags, io) {
    if (flags.bools.get('verbose')) io.stdout('Checking server health...\n');
    try {
      await client(flags, io).health();
    } catch (err) {
      if (flags.bools.get('verbose')) io.stderr(`${(err as Error).message}\n`);
      io.stderr('Error: server is unhealthy: unable to determine health\n');
      return 1;
    }
    io.stdout('Server is healthy.\n');
    return 0;
  },
};
