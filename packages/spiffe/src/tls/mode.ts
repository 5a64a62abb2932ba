/**
 * The TLS modes of SPIFFE, shared by the server and client option builders and the helpers.
 *
 * @module
 */

/**
 * The three ways to run TLS with SPIFFE, as in go-spiffe's `spiffetls`:
 * - `'tls'`: the server presents its X509-SVID; the client authenticates it and presents
 *   nothing.
 * - `'mtls'`: both present X509-SVIDs and authenticate each other.
 * - `'mtls-web'`: one side uses ordinary Web PKI: the server presents a normal certificate and
 *   authenticates client SVIDs; the client presents its SVID and checks the server the Web PKI
 *   way (CA store and hostname).
 *
 * @example
 * ```ts
 * import { listen, type SpiffeTlsMode } from '@spiffe-node/spiffe/tls';
 * const mode: SpiffeTlsMode = 'mtls';
 * listen({ port: 55555, mode, svidSource: source, bundleSource: source, authorizer });
 * ```
 */
export type SpiffeTlsMode = 'tls' | 'mtls' | 'mtls-web';
