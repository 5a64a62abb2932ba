/**
 * `spire-server federation list`.
 *
 * @module
 */
import { client, outputFlag, outputFormat, socketFlag, type Command } from './common.js';
import { formatRelationship, relationshipJson } from './federation-common.js';

/** `federation list`. */
export const federationList: Command = {
  flags: (io) => [socketFlag(io), outputFlag],
  async run(flags, io) {
    const output = outputFormat(flags);
    const relationships = await client(flags, io).listFederation();
    if (output === 'json') {
      io.stdout(`${JSON.stringify({ federation_relationships: relationships.map(relationshipJson), next_page_token: '' })}\n`);
      return 0;
    }
    const n = relationships.length;
    io.stdout(`Found ${n} federation ${n === 1 ? 'relationship' : 'relationships'}\n`);
    for (const r of relationships) io.stdout(`\n${formatRelationship(r)}`);
    return 0;
  },
};
