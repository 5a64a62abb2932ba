/**
 * Refusing TLS 1.2 renegotiation, both ways.
 *
 * A renegotiation is a new handshake inside an established connection: the peer may present
 * another certificate, and Node then reports that certificate (`getPeerCertificate()`) while
 * `authorized` still holds the verdict on the first one. TLS 1.3 has no renegotiation, and Go
 * peers never renegotiate, so nothing is lost by refusing it.
 *
 * Two layers. Every context this module builds carries `SSL_OP_NO_RENEGOTIATION`: OpenSSL
 * itself refuses the new handshake (a server ignores the client's new ClientHello, a client
 * ignores the server's HelloRequest; each answers with a `no_renegotiation` alert). On top of
 * that, each server socket is marked with `disableRenegotiation()`, so that Node reports the
 * attempt; the socket is then destroyed and the server emits `'spiffeRejected'` with
 * `ERR_TLS_RENEGOTIATION_REFUSED`. Node has no such report for a client socket (it ignores
 * `disableRenegotiation()` there): a client socket that completes a second handshake anyway
 * is destroyed with the same error.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { constants } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { TlsPeerError } from '../errors.js';

/** @internal `secureOptions` bit that makes OpenSSL refuse every TLS 1.2 renegotiation. */
export const NO_RENEGOTIATION: number = constants.SSL_OP_NO_RENEGOTIATION;

/** @internal The error for a peer that tried to renegotiate an established connection. */
function renegotiationRefused(peer: 'client' | 'server'): TlsPeerError {
  return new TlsPeerError(
    'ERR_TLS_RENEGOTIATION_REFUSED',
    `tls: the ${peer} of an established TLS 1.2 connection tried to renegotiate, which could swap its certificate after it was verified; ` +
      'renegotiation is refused and the connection closed',
  );
}

/**
 * @internal Marks an admitted server socket so that a renegotiation attempt calls `onRefused`
 * (once, before the socket is destroyed, so that its address can still be read). Node reports the attempt as an `'error'` with code
 * `ERR_TLS_RENEGOTIATION_DISABLED`; that one error is taken out of the socket's events, so an
 * application without an `'error'` listener does not crash on it; every other error passes.
 */
export function refuseClientRenegotiation(socket: TLSSocket, onRefused: (err: TlsPeerError) => void): void {
  socket.disableRenegotiation();
  // The socket's own emit, called back with the socket as `this` by the wrapper below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = socket.emit as (this: TLSSocket, event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = function emitUnlessRenegotiation(this: TLSSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && (args[0] as { code?: unknown } | undefined)?.code === 'ERR_TLS_RENEGOTIATION_DISABLED') {
      if (!socket.destroyed) {
        onRefused(renegotiationRefused('client'));
        socket.destroy();
      }
      return true;
    }
    return emit.call(this, event, ...args);
  } as typeof socket.emit;
}

/**
 * @internal Destroys a verified client socket with `ERR_TLS_RENEGOTIATION_REFUSED` if it ever
 * completes another handshake (Node emits `'secure'` again after a renegotiation). Its contexts
 * already refuse renegotiation; this is the second layer.
 */
export function refuseServerRenegotiation(socket: TLSSocket): void {
  socket.disableRenegotiation();
  socket.on('secure', () => socket.destroy(renegotiationRefused('server')));
}
