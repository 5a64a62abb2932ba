/**
 * Errors raised by the development agent.
 *
 * @module
 */

/** The stable error codes of the development agent. */
export type DevAgentErrorCode =
  /** A registration entry that breaks a rule (bad SPIFFE ID, selector, TTL, trust domain). */
  | 'ERR_ENTRY_INVALID'
  /** An entry with the same SPIFFE ID, parent ID and selectors, or with the chosen entry ID, exists already. */
  | 'ERR_ENTRY_EXISTS'
  /** No entry has the given entry ID. */
  | 'ERR_ENTRY_NOT_FOUND'
  /** An option of the agent is invalid (a TTL, a trust domain, a path). */
  | 'ERR_AGENT_CONFIG'
  /** The data directory or a socket path cannot be used safely (wrong owner, wrong type). */
  | 'ERR_AGENT_STATE'
  /** The admin API of a running agent cannot be reached or answered with an error. */
  | 'ERR_ADMIN_API'
  /** A federation relationship or federated bundle that breaks a rule (its own trust domain, a bad URL, profile or bundle). */
  | 'ERR_FEDERATION_INVALID'
  /** A federation relationship for that trust domain exists already. */
  | 'ERR_FEDERATION_EXISTS'
  /** No federation relationship, or no federated bundle, for that trust domain. */
  | 'ERR_FEDERATION_NOT_FOUND'
  /** A federated bundle cannot be deleted while entries federate with its trust domain. */
  | 'ERR_FEDERATION_IN_USE'
  /** Fetching a partner's bundle from its bundle endpoint failed. */
  | 'ERR_FEDERATION_FETCH';

/**
 * An error of the development agent, with a stable {@link DevAgentError.code}.
 *
 * @example
 * ```ts
 * import { startDevAgent, DevAgentError } from '@spiffe-node/dev-agent';
 * const agent = await startDevAgent({ dataDir: '/tmp/agent-data' });
 * try {
 *   await agent.createEntry({ spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1000'] });
 * } catch (err) {
 *   if (err instanceof DevAgentError && err.code === 'ERR_ENTRY_EXISTS') console.log('registered already');
 * }
 * ```
 */
export class DevAgentError extends Error {
  /** A stable, machine-readable code. */
  readonly code: DevAgentErrorCode;

  constructor(code: DevAgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DevAgentError';
  }
}
