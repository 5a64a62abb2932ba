/**
 * HTTP/2 with SPIFFE: a secure `node:http2` server that only accepts authenticated clients, and
 * a client session that authenticates the server before HTTP/2 starts.
 *
 * @example
 * ```ts
 * import { connectHttp2, createHttp2SecureServer } from '@spiffe-node/spiffe/http2';
 * import { mtlsServerOptions } from '@spiffe-node/spiffe/tls';
 * createHttp2SecureServer(mtlsServerOptions(source, source, authorizer)).listen(8443);
 * const session = await connectHttp2('https://localhost:8443', { svidSource: source, bundleSource: source, authorizer });
 * ```
 *
 * @module
 */
export { createHttp2SecureServer, connectHttp2 } from '../tls/http2.js';
export type { ConnectHttp2Options } from '../tls/http2.js';
