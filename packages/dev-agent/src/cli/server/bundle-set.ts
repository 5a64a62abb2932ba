/**
 * `spire-server bundle set`: sets the bundle of a foreign trust domain, from PEM or a SPIFFE
 * bundle document (`-path`, or standard input).
 *
 * @module
 */
import { DevAgentError } from '../../errors.js';
import { FlagError } from '../flags.js';
import { parseBundleData, readBundleFile } from './bundle-file.js';
import { bundleFormat } from './bundle-format.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `bundle set`. */
export const bundleSet: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'format', kind: 'string', usage: 'The format of the bundle data. Either "pem" or "spiffe".', default: 'pem' },
    { name: 'id', kind: 'string', usage: 'SPIFFE ID of the trust domain' },
    { name: 'path', kind: 'string', usage: 'Path to the bundle data' },
  ],
  async run(flags, io) {
    const output = outputFormat(flags);
    const id = flags.strings.get('id') ?? '';
    if (id === '') throw new FlagError('id flag is required');
    const format = bundleFormat(flags);
    const path = flags.strings.get('path') ?? '';
    const data = path === '' ? io.readStdin() : readBundleFile(path, 'unable to load bundle data');
    const td = id.replace(/^spiffe:\/\//i, '');
    const doc = parseBundleData(data, format, td);
    let bundle: Record<string, unknown>;
    try {
      bundle = await client(flags, io).setBundle(td, doc);
    } catch (err) {
      if (!(err instanceof DevAgentError) || err.code !== 'ERR_FEDERATION_INVALID') throw err;
      io.stderr(`Error: failed to set federated bundle: ${err.message}\n`);
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ results: [{ bundle, status: { code: 0, message: 'OK' } }] })}\n`);
    else io.stdout('bundle set.\n');
    return 0;
  },
};
