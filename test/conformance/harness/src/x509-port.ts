/**
 * The X.509 port (harness contract v1 §3): an mTLS server of `@spiffe-node/spiffe` that
 * presents the X509Source's current default SVID (rotated by the SDK for new connections),
 * requires a client X509-SVID and authenticates it against the source's bundles, authorizing
 * any SPIFFE ID. A verified client gets its SPIFFE ID and a newline, then the connection closes;
 * a rejected client is dropped by the SDK before anything is written.
 *
 * @module
 */
import { once } from 'node:events';
import type tls from 'node:tls';
import { authorizeAny, formatTlsHandshakeError, listen, peerIdFromSocket, type X509Source } from '@spiffe-node/spiffe';
import { errorText, log } from './log.js';

/**
 * Starts the X.509 port on 127.0.0.1 with an OS-assigned port and resolves once it listens.
 *
 * @throws the source's error when it holds no SVID (start it only once the source is ready).
 * @example
 * ```ts
 * const server = await startX509Port(source);
 * const { port } = server.address() as AddressInfo;
 * ```
 */
export async function startX509Port(source: X509Source): Promise<tls.Server> {
  const server = listen(
    { mode: 'mtls', host: '127.0.0.1', port: 0, svidSource: source, bundleSource: source, authorizer: authorizeAny() },
    (socket) => {
      socket.on('error', (err) => log(`X.509 port: connection error after the handshake: ${errorText(err)}`));
      const id = peerIdFromSocket(socket);
      if (id === undefined) {
        // Not reachable with the SDK's server (it only hands over verified sockets); never
        // write an unverified ID.
        socket.destroy();
        return;
      }
      socket.end(`${id.toString()}\n`);
    },
  );
  server.on('spiffeRejected', (err: unknown, socket: tls.TLSSocket) => log(`X.509 port: ${formatTlsHandshakeError(err, socket)}`));
  server.on('spiffeRotationError', (err: unknown) => log(`X.509 port: SVID rotation: ${errorText(err)}`));
  server.on('tlsClientError', (err: Error) => log(`X.509 port: TLS handshake failed: ${errorText(err)}`));
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw err;
    }),
  ]);
  return server;
}
