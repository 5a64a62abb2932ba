/**
 * `spire-server federation show -trustDomain <td>`.
 *
 * @module
 */
import { FlagError } from '../flags.js';
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';
import { formatRelationship, relationshipJson } from './federation-common.js';

/** `federation show`. */
export const federationShow: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'trustDomain', kind: 'string', usage: 'The trust domain name of the federation relationship to show' },
  ],
  async run(flags, io) {
    const output = outputFormat(flags);
    const td = (flags.strings.get('trustDomain') ?? '').replace(/^spiffe:\/\//i, '');
    if (td === '') throw new FlagError('a trust domain name is required');
    const found = (await client(flags, io).listFederation()).find((r) => r.trustDomain === td.toLowerCase());
    if (found === undefined) {
      io.stderr('Error: error showing federation relationship: rpc error: code = NotFound desc = federation relationship does not exist\n');
      return 1;
    }
    if (output === 'json') io.stdout(`${JSON.stringify(relationshipJson(found))}\n`);
    else io.stdout(`Found a federation relationship with trust domain ${found.trustDomain}:\n\n${formatRelationship(found)}`);
    return 0;
  },
};
