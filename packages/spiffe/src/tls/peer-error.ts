/**
 * Building {@link TlsPeerError}s, and the log line servers print for a rejected peer.
 *
 * @module
 */
import type { TLSSocket } from 'node:tls';
import { AuthorizationError, SpiffeError, TlsPeerError } from '../errors.js';

/**
 * @internal Turns whatever a verification step threw into a {@link TlsPeerError}. A
 * TlsPeerError is returned as is; a SpiffeError becomes its `reason`; anything else (a bug in a
 * custom authorizer, say) still rejects the peer, with the thrown error as `cause`.
 */
export function toTlsPeerError(err: unknown): TlsPeerError {
  if (err instanceof TlsPeerError) return err;
  if (err instanceof SpiffeError) return new TlsPeerError('ERR_TLS_PEER_REJECTED', `tls: ${err.message}`, err);
  const message = err instanceof Error ? err.message : String(err);
  const peerError = new TlsPeerError('ERR_TLS_PEER_REJECTED', `tls: could not authenticate the peer: ${message}`);
  Object.defineProperty(peerError, 'cause', { value: err, configurable: true, writable: true });
  return peerError;
}

/** @internal The error for a peer that did not present any certificate. */
export function noPeerCertificate(peer: 'client' | 'server'): TlsPeerError {
  return new TlsPeerError(
    'ERR_TLS_NO_PEER_CERTIFICATE',
    `tls: the ${peer} presented no certificate; SPIFFE authentication needs the ${peer}'s X509-SVID`,
  );
}

/** @internal Wraps an error an authorizer threw (any value) as the reason of a rejection. */
export function authorizerRejection(peerId: string, err: unknown): TlsPeerError {
  const reason =
    err instanceof SpiffeError
      ? err
      : new AuthorizationError(peerId, err instanceof Error && err.message !== '' ? err.message : `unexpected ID "${peerId}"`);
  return new TlsPeerError('ERR_TLS_PEER_REJECTED', `tls: ${reason.message}`, reason);
}

/**
 * The line a server logs for a peer that SPIFFE authentication rejected, in the words
 * go-spiffe servers use: `TLS handshake error from 127.0.0.1:52540: unexpected ID
 * "spiffe://example.org/server"`. The servers from {@link createTlsServer} and friends emit
 * `'spiffeRejected'` `(err, socket)` and log nothing themselves; print this from that event.
 *
 * @param err - The error of the `'spiffeRejected'` event (or any error).
 * @param socket - The rejected socket (its remote address is remembered after it closes).
 * @example
 * ```ts
 * import { createHttpsServer, mtlsServerOptions, formatTlsHandshakeError } from '@spiffe-node/spiffe/tls';
 * const server = createHttpsServer(mtlsServerOptions(source, source, authorizer), app);
 * server.on('spiffeRejected', (err, socket) => console.log(formatTlsHandshakeError(err, socket)));
 * // TLS handshake error from 127.0.0.1:52540: unexpected ID "spiffe://example.org/server"
 * ```
 */
export function formatTlsHandshakeError(err: unknown, socket?: Pick<TLSSocket, 'remoteAddress' | 'remotePort'>): string {
  let reason: string;
  if (err instanceof TlsPeerError) {
    reason = err.reason !== undefined ? err.reason.message : err.message.replace(/^tls: /, '');
  } else if (err instanceof Error) {
    reason = err.message;
  } else {
    reason = String(err);
  }
  const address = socket?.remoteAddress;
  const port = socket?.remotePort;
  const from = address === undefined ? 'unknown peer' : address.includes(':') ? `[${address}]:${port ?? ''}` : `${address}:${port ?? ''}`;
  return `TLS handshake error from ${from}: ${reason}`;
}
