/**
 * `spire-server bundle list`: the bundles of the other trust domains (the CAs of
 * `-federatedTrustDomain` and the foreign bundles), or the one that `-id` names.
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { bundleFormat, formatFlag } from './bundle-format.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

const BANNER = '****************************************';

/** `bundle list`. */
export const bundleList: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    {
      ...formatFlag,
      usage: 'The format to list federated bundles (only pretty output format supports this flag). Either "pem" or "spiffe".',
    },
    { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' },
  ],
  async run(flags, io) {
    const output = outputFormat(flags);
    const format = bundleFormat(flags);
    const admin = client(flags, io);
    const id = flags.strings.get('id');
    if (id !== undefined) {
      let text: string;
      try {
        text = await admin.bundle(output === 'json' ? 'json' : format, id.replace(/^spiffe:\/\//i, ''));
      } catch (err) {
        if (!(err instanceof DevAgentError) || (err.code !== 'ERR_FEDERATION_NOT_FOUND' && err.code !== 'ERR_FEDERATION_INVALID'))
          throw err;
        io.stderr('Error: rpc error: code = NotFound desc = bundle not found\n');
        return 1;
      }
      io.stdout(text);
      return 0;
    }
    const trustDomains = await admin.federatedTrustDomains();
    if (output === 'json') {
      const bundles = await Promise.all(trustDomains.map(async (td) => JSON.parse(await admin.bundle('json', td)) as unknown));
      io.stdout(`${JSON.stringify({ bundles, next_page_token: '' })}\n`);
      return 0;
    }
    const blocks = await Promise.all(trustDomains.map(async (td) => `${BANNER}\n* ${td}\n${BANNER}\n${await admin.bundle(format, td)}`));
    io.stdout(blocks.join('\n'));
    return 0;
  },
};
