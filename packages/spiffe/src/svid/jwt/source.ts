import type { SpiffeId } from '../../spiffeid/index.js';
import type { JwtSvid } from './jwt-svid.js';

/**
 * The parameters of {@link JwtSvidSource.fetchJwtSvid}.
 *
 * @example
 * ```ts
 * const params: JwtSvidParams = { audience: 'spiffe://example.org/server' };
 * ```
 */
export interface JwtSvidParams {
  /** The audience (or audiences) the token is for; at least one. */
  audience: string | string[];
  /** Which of the workload's identities to use; the default identity when absent. */
  subject?: SpiffeId;
}

/**
 * Anything that can mint JWT-SVIDs for this workload, such as the Workload API's `JwtSource`.
 * Clients that call services with bearer tokens depend only on this.
 *
 * Implementations reject with a `SpiffeError` (e.g. `WorkloadApiError`) when they cannot
 * provide a token.
 *
 * @example
 * ```ts
 * async function callServer(source: JwtSvidSource): Promise<Response> {
 *   const svid = await source.fetchJwtSvid({ audience: 'spiffe://example.org/server' });
 *   return fetch('https://server.internal/api', {
 *     headers: { authorization: `Bearer ${svid.token}` },
 *   });
 * }
 * ```
 */
export interface JwtSvidSource {
  fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid>;
}
