/**
 * `spire-server federation create`: a relationship with a partner trust domain, whose bundle the
 * agent then fetches from the partner's bundle endpoint.
 *
 * @module
 */
import type { Command } from './common.js';
import { putFlags, putRelationships } from './federation-common.js';

/** `federation create`. */
export const federationCreate: Command = {
  flags: putFlags,
  run: (flags, io) => putRelationships(flags, io, false),
};
