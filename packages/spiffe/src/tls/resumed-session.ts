/**
 * Verifying a resumed TLS session in plain client options ({@link tlsClientOptions},
 * {@link mtlsClientOptions}).
 *
 * Node authenticates a server in `checkServerIdentity`, and calls it only on a full handshake:
 * when the server resumes a session (one the caller passed as `session`, or one an
 * `https.Agent` or undici cached), OpenSSL restores the verdict stored in the session and
 * Node reports `authorized === true` without asking anyone, even if the bundle or the
 * authorizer changed since, or the session came from options with another authorizer.
 *
 * Plain options have no per-connection hook that runs on resumption, except one: Node calls
 * the client's `pskCallback` with `this` bound to the socket while OpenSSL builds a ClientHello
 * that offers TLS 1.3. The options' context always offers TLS 1.3 (Node ignores a caller's
 * `minVersion`/`maxVersion`/`secureOptions` when `secureContext` is given), so the callback
 * runs on every connection. It offers no PSK (returns `null`) and puts a listener in front of
 * Node's own handshake check: when the session was resumed, the server is verified in full
 * there (chain against the bundle source as it is now, then the authorizer), and a failure
 * becomes the socket's verify error, which Node's check turns into the usual rejection
 * (socket destroyed with the {@link TlsPeerError}, no `'secureConnect'`).
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import type { TLSSocket } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { TlsPeerError } from '../errors.js';
import { authorizePeer, recordVerifiedPeer } from './peer.js';
import { toTlsPeerError } from './peer-error.js';
import { refuseServerRenegotiation } from './renegotiation.js';
import { serverVerificationsFor } from './verified-peers.js';

/** The sockets whose check is in place (a ClientHello may be built twice, after a HelloRetryRequest). */
const guarded = new WeakSet<TLSSocket>();

/** What Node's handshake check reads from the socket's handle. */
interface VerifiableHandle {
  verifyError(): Error | null;
}

/**
 * Makes Node's own handshake check (which runs after this module's listener) reject the socket
 * with `error`: Node takes the handle's verify error for the verdict on resumed sessions too.
 */
function failHandshake(socket: TLSSocket, error: TlsPeerError): void {
  const handle = (socket as unknown as { _handle?: Partial<VerifiableHandle> | null })._handle;
  if (handle !== null && handle !== undefined && typeof handle.verifyError === 'function') {
    handle.verifyError = () => error;
    return;
  }
  // Node's internals are not what this module knows: refuse the connection anyway.
  socket.destroy(error);
}

/**
 * @internal Installs, once per socket, the full verification of a resumed session and the
 * refusal of later renegotiation. Called from the options' `pskCallback`.
 */
export function guardResumedSession(socket: TLSSocket, bundleSource: X509BundleSource, authorizer: Authorizer): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.prependOnceListener('secure', () => {
    const verifications = serverVerificationsFor(bundleSource);
    if (!socket.isSessionReused()) {
      // A full handshake: `checkServerIdentity` (chain and authorizer) judges it, next. Verifying
      // the chain here as well remembers its intermediates, which a later resumed session does
      // not carry (a session stores only the leaf), and gives peerIdFromSocket its answer once
      // Node has accepted the server.
      try {
        const verified = verifications.verify(socket, bundleSource);
        socket.once('secureConnect', () => recordVerifiedPeer(socket, verified));
      } catch {
        // checkServerIdentity refuses it with the same reason.
      }
    } else {
      try {
        const verified = authorizePeer(verifications.verify(socket, bundleSource), authorizer);
        recordVerifiedPeer(socket, verified);
      } catch (err) {
        failHandshake(socket, toTlsPeerError(err));
        return;
      }
    }
    refuseServerRenegotiation(socket);
  });
}
