/**
 * `spire-server bundle show`: the agent's own bundle.
 *
 * @module
 */
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';
import { bundleFormat, formatFlag } from './bundle-format.js';

/** `bundle show`. */
export const bundleShow: Command = {
  flags: (io) => [socketFlag(io), outputFlag, formatFlag],
  async run(flags, io) {
    outputFormat(flags);
    io.stdout(await client(flags, io).bundle(bundleFormat(flags)));
    return 0;
  },
};
