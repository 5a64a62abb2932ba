/**
 * `spire-server bundle count`: the agent's own bundle and the others it holds.
 *
 * @module
 */
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `bundle count`. */
export const bundleCount: Command = {
  flags: (io) => [socketFlag(io), outputFlag],
  async run(flags, io) {
    const output = outputFormat(flags);
    const n = 1 + (await client(flags, io).federatedTrustDomains()).length;
    if (output === 'json') io.stdout(`${JSON.stringify({ count: n })}\n`);
    else io.stdout(`${n} ${n === 1 ? 'bundle' : 'bundles'}\n`);
    return 0;
  },
};
