/**
 * SPIFFE mTLS for Node.js: option builders after go-spiffe's `tlsconfig`, server creators
 * that verify peers and rotate SVIDs, `listen`/`dial` after `spiffetls`, and integrations for
 * `https`, `http2`, express, `fetch` (undici), axios and gRPC.
 *
 * Peers are verified the SPIFFE way: no system CAs and no host name check; the peer's chain
 * must verify against the bundle of the peer's own trust domain (federated bundles included),
 * and then the authorizer, which is always required, decides on its SPIFFE ID.
 *
 * @module
 */
export {
  tlsServerOptions,
  mtlsServerOptions,
  mtlsWebServerOptions,
  tlsClientOptions,
  mtlsClientOptions,
  mtlsWebClientOptions,
} from './options.js';
export type {
  SpiffeTlsMode,
  WebIdentity,
  SpiffeServerTuning,
  SpiffeServerOptions,
  SpiffeClientOptions,
} from './options.js';
export { createTlsServer, secureServer } from './server.js';
export { createHttpsServer, createSpiffeHttpsAgent } from './https.js';
export type { SpiffeHttpsAgentOptions } from './https.js';
export { createHttp2SecureServer, connectHttp2 } from './http2.js';
export type { ConnectHttp2Options } from './http2.js';
export { listen, dial } from './spiffetls.js';
export type { ListenOptions, DialOptions } from './spiffetls.js';
export type { SpiffeClientParams } from './connect.js';
export { peerIdFromSocket, peerChainFromSocket } from './peer.js';
export { formatTlsHandshakeError } from './peer-error.js';
export { spiffeAuth } from './express.js';
export type { SpiffeAuthOptions } from './express.js';
export { grpcChannelCredentials, grpcServerCredentials, peerIdFromGrpcCall } from './grpc.js';
export type { GrpcServerCredentialsOptions } from './grpc.js';
export { createSpiffeDispatcher } from './undici.js';
export type { SpiffeDispatcherOptions } from './undici.js';
