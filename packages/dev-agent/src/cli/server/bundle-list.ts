/**
 * `spire-server bundle list`: the bundles of the other trust domains.
 *
 * @module
 */
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';
import { bundleFormat, formatFlag } from './bundle-format.js';

/** `bundle list`. */
export const bundleList: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    formatFlag,
    { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' },
  ],
  async run(flags, io) {
    outputFormat(flags);
    const format = bundleFormat(flags);
    const admin = client(flags, io);
    const id = flags.strings.get('id');
    if (id !== undefined) {
      io.stdout(await admin.bundle(format, id.replace(/^spiffe:\/\//i, '')));
      return 0;
    }
    // The first trust domain is the agent's own; the others are listed, as SPIRE lists federated bundles.
    const federated = (await admin.health()).trustDomains.slice(1);
    for (const td of federated) {
      io.stdout(`****************************************\n* spiffe://${td}\n****************************************\n`);
      io.stdout(`${await admin.bundle(format, td)}\n`);
    }
    return 0;
  },
};
