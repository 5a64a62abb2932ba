/**
 * `@spiffe-node/dev-agent`: a development SPIFFE Workload API agent. It serves the real Workload
 * API on a Unix socket (so code runs unchanged against it or against a SPIRE agent), attests
 * callers by their Unix peer credentials, issues X509-SVIDs and JWT-SVIDs from local CAs,
 * rotates them, and takes registration entries through a CLI that accepts `spire-server`'s
 * arguments, or through this programmatic API.
 *
 * @example
 * ```ts
 * import { startDevAgent } from '@spiffe-node/dev-agent';
 * const agent = await startDevAgent({ dataDir: '/tmp/my-agent/data' });
 * await agent.createEntry({ spiffeId: 'spiffe://example.org/web', selectors: ['unix:user:web'] });
 * ```
 *
 * @packageDocumentation
 */
export { startDevAgent, type DevAgent } from './agent.js';
export { DEFAULT_ADMIN_SOCKET_PATH, DEFAULT_DATA_DIR, DEFAULT_SOCKET_PATH, DEFAULT_TRUST_DOMAIN, type DevAgentOptions } from './options.js';
export { DevAgentError, type DevAgentErrorCode } from './errors.js';
export type { EntryParams, RegistrationEntry, Selector } from './state/entries.js';
export type { IdentitySocket } from './workload/server.js';
export type { KeyType } from './ca/key-type.js';
export { createLogger, type Logger, type LogLevel, type LogFields } from './log.js';
export { AdminClient } from './admin/client.js';
