/**
 * `spire-server federation refresh -id <td>`: fetches a partner's bundle now.
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { FlagError } from '../flags.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `federation refresh`. */
export const federationRefresh: Command = {
  flags: (io) => [socketFlag(io), outputFlag, { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' }],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('id') ?? '';
    if (id === '') throw new FlagError('id is required');
    try {
      await client(flags, io).refreshFederation(id.replace(/^spiffe:\/\//i, ''));
    } catch (err) {
      if (!(err instanceof DevAgentError)) throw err;
      if (err.code === 'ERR_FEDERATION_NOT_FOUND' || err.code === 'ERR_FEDERATION_INVALID') {
        io.stderr(`Error: ${err.message}\n`);
        return 1;
      }
      if (err.code !== 'ERR_FEDERATION_FETCH') throw err;
      io.stderr(`Error: failed to refresh bundle: rpc error: code = Internal desc = failed to refresh bundle: ${err.message}\n`);
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ code: 0, message: 'OK' })}\n`);
    else io.stdout('Bundle refreshed\n');
    return 0;
  },
};
