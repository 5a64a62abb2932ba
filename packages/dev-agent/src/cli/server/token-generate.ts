/**
 * `spire-server token generate`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { outputFlag, outputFormat, socketFlag, type Command } from './common.js';

/** `token generate`. */
export const tokenGenerate: Command = {
  flags: (io) => [
    socketFlag(io),
    outputFlag,
    { name: 'spiffeID', kind: 'string', usage: 'Additional SPIFFE ID to assign the token owner (optional)' },
    { name: 'ttl', kind: 'int', usage: 'Token TTL in seconds', default: '600' },
  ],
  async run(flags, io) {
    // The development agent has no node attestation: the token is never checked, only printed
    // so that scripts written for SPIRE's join-token flow run unchanged.
    const token = randomUUID();
    if (outputFormat(flags) === 'json') io.stdout(`${JSON.stringify({ value: token })}\n`);
    else io.stdout(`Token: ${token}\n`);
    return 0;
  },
};
