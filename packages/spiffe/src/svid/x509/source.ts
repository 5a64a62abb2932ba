import type { X509Svid } from './x509-svid.js';

/**
 * Anything that can hand out the workload's current X509-SVID: a static {@link X509Svid}
 * (which returns itself), a file source or a live Workload API source. TLS helpers depend
 * only on this.
 *
 * @example
 * ```ts
 * function currentId(source: X509SvidSource): string {
 *   return source.getX509Svid().id.toString();
 * }
 * ```
 */
export interface X509SvidSource {
  /** The current X509-SVID. Sources that have none throw a `SpiffeError`. */
  getX509Svid(): X509Svid;
}
