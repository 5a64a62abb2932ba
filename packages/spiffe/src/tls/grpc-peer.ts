/**
 * The client ID of a gRPC call: which verified connection a call came over.
 *
 * grpc-js shows a handler only `call.getAuthContext()`, whose `sslPeerCertificate` is a fresh
 * `getPeerCertificate()` object of the call's TLS socket. When the server gate of
 * {@link grpcServerCredentials} admits a socket, it gives that one socket its own
 * `getPeerCertificate`, which marks every object it returns as coming from the socket, with the
 * ID the gate verified. {@link peerIdFromGrpcCall} reads that mark: it answers only for a call
 * over a socket that the server it arrived at verified itself, never from a certificate's
 * contents (a table keyed by fingerprint would answer for any server of the process that saw
 * the same certificate, verified or not).
 *
 * @module
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { SpiffeId } from '../spiffeid/index.js';
import { verifiedPeerOf } from './peer.js';

/** Certificate objects returned by admitted sockets → the ID their socket was verified as. */
const verifiedCertificates = new WeakMap<object, SpiffeId>();

/**
 * @internal Marks the certificates that `socket` (verified and recorded by a server gate)
 * hands out from now on with its verified ID. Does nothing for a socket without a verified
 * peer.
 */
export function markVerifiedGrpcConnection(socket: TLSSocket): void {
  const id = verifiedPeerOf(socket)?.id;
  if (id === undefined) return;
  // The socket's own method, called back with the socket as `this` by the wrapper below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const read = socket.getPeerCertificate;
  Object.defineProperty(socket, 'getPeerCertificate', {
    configurable: true,
    enumerable: false,
    writable: false,
    value: function getPeerCertificate(this: TLSSocket, detailed?: boolean): PeerCertificate {
      const cert: PeerCertificate = read.call(this, detailed as true);
      if (cert !== null && typeof cert === 'object') verifiedCertificates.set(cert, id);
      return cert;
    },
  });
}

/**
 * The SPIFFE ID of the client of a gRPC call on a server using {@link grpcServerCredentials}
 * with an authorizer: the ID that this server verified for the call's connection at its
 * handshake (whole chain against the bundle of the client's own trust domain, then the
 * authorizer). `undefined` for a call over any other connection: a server with other
 * credentials, one that does not authenticate clients, a plain grpc-js mTLS server, even when
 * another server of the process verified the same client.
 *
 * @param call - The call object a handler receives (or any object with `getAuthContext()`).
 * @example
 * ```ts
 * const impl = {
 *   sayHello(call, callback) {
 *     callback(null, { message: `hello ${peerIdFromGrpcCall(call) ?? 'stranger'}` });
 *   },
 * };
 * ```
 */
export function peerIdFromGrpcCall(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): SpiffeId | undefined {
  let cert: unknown;
  try {
    cert = call.getAuthContext().sslPeerCertificate;
  } catch {
    return undefined;
  }
  return cert !== null && typeof cert === 'object' ? verifiedCertificates.get(cert) : undefined;
}
