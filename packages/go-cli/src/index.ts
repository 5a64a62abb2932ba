/**
 * Command-line plumbing shared by the `spiffe` CLI and the dev agent's `spire-server` CLI, which
 * both answer as Go programs (SPIRE's) do.
 *
 * @module
 */
export { FlagError, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
export { parseGoDuration } from './duration.js';
export { runAsProgram } from './main-module.js';
