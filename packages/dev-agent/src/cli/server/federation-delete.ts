/**
 * `spire-server federation delete -id <td>` (the bundle stays: `bundle delete` removes it).
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { FlagError } from '../flags.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `federation delete`. */
export const federationDelete: Command = {
  flags: (io) => [socketFlag(io), outputFlag, { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' }],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('id') ?? '';
    if (id === '') throw new FlagError('id is required');
    const td = id.replace(/^spiffe:\/\//i, '');
    try {
      await client(flags, io).deleteFederation(td);
    } catch (err) {
      if (!(err instanceof DevAgentError) || !err.code.startsWith('ERR_FEDERATION_')) throw err;
      io.stderr(`Error: failed to delete federation relationship "${id}": ${err.message}\n`);
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ results: [{ status: { code: 0, message: 'OK' }, trust_domain: td }] })}\n`);
    else io.stdout('federation relationship deleted.\n');
    return 0;
  },
};
