/**
 * SPIFFE mTLS for Node.js: option builders after go-spiffe's `tlsconfig`, server creators
 * that verify peers and rotate SVIDs, `listen`/`dial` after `spiffetls`, and `https` (an
 * `https.Agent` that also serves axios). The other runtimes have their own entry points, so
 * that this one needs no optional package, not even in its types:
 * `@spiffe-node/spiffe/http2`, `/undici` (`fetch`), `/express` and `/grpc`.
 *
 * Peers are verified the SPIFFE way: no system CAs and no host name check; the peer's chain
 * must verify against the bundle of the peer's own trust domain (federated bundles included),
 * and then the authorizer, which is always required, decides on its SPIFFE ID.
 *
 * @module
 */
export { tlsServerOptions, mtlsServerOptions, mtlsWebServerOptions } from './server-options.js';
export { tlsClientOptions, mtlsClientOptions, mtlsWebClientOptions } from './client-options.js';
export type { SpiffeTlsMode } from './mode.js';
export type { WebIdentity, SpiffeServerTuning, SpiffeServerOptions } from './server-options.js';
export type { SpiffeClientOptions } from './client-options.js';
export { createTlsServer, secureServer } from './server.js';
export { createHttpsServer, createSpiffeHttpsAgent } from './https.js';
export type { SpiffeHttpsAgentOptions } from './https.js';
export { listen, dial } from './spiffetls.js';
export type { ListenOptions, DialOptions } from './spiffetls.js';
export type { SpiffeClientParams } from './connect.js';
export { peerIdFromSocket, peerChainFromSocket } from './peer.js';
export { formatTlsHandshakeError } from './peer-error.js';
