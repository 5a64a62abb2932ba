/**
 * `spire-server bundle delete`: deletes the bundle of a foreign trust domain (refused while
 * entries federate with it: the `restrict` mode, the only one the development agent has).
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { FlagError } from '../flags.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `bundle delete`. */
export const bundleDelete: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' },
    {
      name: 'mode',
      kind: 'string',
      usage: 'Deletion mode: one of restrict, delete, or dissociate (only restrict is supported by the development agent)',
      default: 'restrict',
    },
  ],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('id') ?? '';
    if (id === '') throw new FlagError('id is required');
    const mode = flags.strings.get('mode') ?? 'restrict';
    if (mode === 'delete' || mode === 'dissociate')
      throw new FlagError(
        `mode "${mode}" is not supported by the development agent; delete the entries that federate with the trust domain first`,
      );
    if (mode !== 'restrict') throw new FlagError(`unsupported mode "${mode}"`);
    try {
      await client(flags, io).deleteBundle(id.replace(/^spiffe:\/\//i, ''));
    } catch (err) {
      if (!(err instanceof DevAgentError) || !err.code.startsWith('ERR_FEDERATION_')) throw err;
      io.stderr(`Error: failed to delete federated bundle "${id}": ${err.message}\n`);
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ results: [{ status: { code: 0, message: 'OK' }, trust_domain: id }] })}\n`);
    else io.stdout('bundle deleted.\n');
    return 0;
  },
};
