/**
 * `spire-server federation update`: replaces a relationship (its endpoint URL, profile, bundle).
 *
 * @module
 */
import type { Command } from './common.js';
import { putFlags, putRelationships } from './federation-common.js';

/** `federation update`. */
export const federationUpdate: Command = {
  flags: putFlags,
  run: (flags, io) => putRelationships(flags, io, true),
};
