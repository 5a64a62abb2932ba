/**
 * gRPC (`@grpc/grpc-js`) with SPIFFE: channel credentials for clients, server credentials
 * for servers, and the client's ID inside a call.
 *
 * Client side: the credentials open each connection themselves, authenticate the server's
 * X509-SVID (bundle of its own trust domain, then the authorizer) and only then hand the
 * socket to gRPC; each new connection presents the SVID current at that moment.
 *
 * Server side: grpc-js builds its HTTP/2 server itself, from the credentials' settings, when
 * `server.bindAsync()` (or `server.createConnectionInjector()`) is called. The credentials find
 * that server (through the watcher grpc-js registers with them, see `grpc-server-hook.ts`) and
 * install on it the gate of this module's TLS servers ({@link secureServer}): OpenSSL asks
 * for a client certificate without judging it, and no connection reaches HTTP/2, nor gRPC,
 * before the **whole chain the client presented** verified against the bundle of the client's
 * own trust domain and the authorizer accepted its ID. A refused client's socket is destroyed
 * (the client sees `UNAVAILABLE`, as with a Go server that fails the handshake) and
 * `onRejected` gets the reason. No session tickets, no session cache, renegotiation refused;
 * a new SVID (rotation) and bundle changes apply to each new connection. If grpc-js does not
 * hand the server over, binding fails with a `TypeError`: the port is never served unchecked.
 * {@link peerIdFromGrpcCall} answers with the ID that the call's own connection was verified
 * as, by the server it arrived at.
 *
 * `@grpc/grpc-js` is an optional peer dependency, loaded when one of the credentials functions
 * is first called (the application's own copy, so that its classes are the ones gRPC checks).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { TlsPeerError } from '../errors.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { clientConfigFrom, connectVerified, type ClientConfig, type SpiffeClientParams } from './connect.js';
import { markVerifiedGrpcConnection } from './grpc-peer.js';
import { serverOfWatcher } from './grpc-server-hook.js';
import { loadOptionalPeer } from './optional-peer.js';
import { mtlsServerOptions, tlsServerOptions, type SpiffeServerOptions } from './server-options.js';
import { secureServer } from './server.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource } from './sources.js';

type SecureConnector = ReturnType<grpc.ChannelCredentials['_createSecureConnector']>;
type ChannelTarget = Parameters<grpc.ChannelCredentials['_createSecureConnector']>[0];

function hostOf(target: ChannelTarget): string | undefined {
  const path = target.path;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(path);
  if (bracketed) return bracketed[1];
  const colon = path.lastIndexOf(':');
  const host = colon >= 0 && path.indexOf(':') === colon ? path.slice(0, colon) : path;
  return host === '' ? undefined : host;
}

/**
 * The credentials classes, defined on first use: `@grpc/grpc-js` (about 50 ms and 15 MB) is
 * loaded only by programs that use these functions, not by every importer of this module.
 */
function grpcClasses(where: string) {
  const g = loadOptionalPeer<typeof grpc>('@grpc/grpc-js', '>= 1.14', where);

  class SpiffeChannelCredentials extends g.ChannelCredentials {
    readonly #config: ClientConfig;

    constructor(config: ClientConfig) {
      super();
      this.#config = config;
    }

    override _isSecure(): boolean {
      return true;
    }

    override _equals(other: grpc.ChannelCredentials): boolean {
      return other === this;
    }

    override _createSecureConnector(
      channelTarget: ChannelTarget,
      options: grpc.ChannelOptions,
      callCredentials?: grpc.CallCredentials,
    ): SecureConnector {
      const config = this.#config;
      const override = options['grpc.ssl_target_name_override'];
      const host = typeof override === 'string' ? override : hostOf(channelTarget);
      const servername = host !== undefined && isIP(host) === 0 ? host : undefined;
      const credentials = callCredentials ?? g.credentials.createEmpty();
      return {
        connect: async (socket: Socket) => {
          const tlsSocket = await connectVerified(config, {
            socket,
            ALPNProtocols: ['h2'],
            ...(servername === undefined ? {} : { servername }),
          });
          return { socket: tlsSocket, secure: true };
        },
        waitForReady: () => Promise.resolve(),
        getCallCredentials: () => credentials,
        destroy: () => {},
      };
    }
  }

  class SpiffeServerCredentials extends g.ServerCredentials {
    readonly #options: SpiffeServerOptions;
    readonly #onRejected: GrpcServerCredentialsOptions['onRejected'];
    readonly #onRotationError: GrpcServerCredentialsOptions['onRotationError'];

    constructor(options: SpiffeServerOptions, hooks: Pick<GrpcServerCredentialsOptions, 'onRejected' | 'onRotationError'>) {
      // Fail closed until the gate is on the server: no context options, so grpc-js drops every
      // connection; and were a connection to get through, OpenSSL would refuse every client
      // certificate (empty trust store, rejectUnauthorized). The gate sets what the mode needs.
      super({ requestCert: true, rejectUnauthorized: true, ca: [] });
      this.#options = options;
      this.#onRejected = hooks.onRejected;
      this.#onRotationError = hooks.onRotationError;
    }

    /**
     * Called by grpc-js right after it created an HTTP/2 server from these credentials: installs
     * the SPIFFE gate, the SVID and rotation on that server (see the module notes).
     */
    override _addWatcher(watcher: (context: SecureContextOptions | null) => void): void {
      const server = serverOfWatcher(watcher);
      if (server === undefined) {
        throw new TypeError(
          'grpcServerCredentials: @grpc/grpc-js did not show the HTTP/2 server it built from these credentials (it installs context options some other way than the 1.14 releases), so clients could not be authenticated and nothing is served; use @grpc/grpc-js 1.14',
        );
      }
      secureServer(server, this.#options);
      server.prependListener('secureConnection', markVerifiedGrpcConnection);
      const onRejected = this.#onRejected;
      if (onRejected !== undefined) server.on('spiffeRejected', (err: TlsPeerError, socket: TLSSocket) => onRejected(err, socket));
      const onRotationError = this.#onRotationError;
      if (onRotationError !== undefined) server.on('spiffeRotationError', (err: unknown) => onRotationError(err));
      super._addWatcher(watcher);
    }

    override _equals(other: grpc.ServerCredentials): boolean {
      return other === this;
    }
  }

  return { SpiffeChannelCredentials, SpiffeServerCredentials };
}

let classes: ReturnType<typeof grpcClasses> | undefined;

/**
 * Channel credentials for a gRPC client that authenticates the server's X509-SVID and, with
 * `svidSource`, presents the client's own (mTLS). Compose call credentials with `compose()` as
 * usual.
 *
 * @param options - Sources and the authorizer for the server's ID.
 * @throws `TypeError` for a missing bundle source or authorizer; an
 *   {@link errors!OptionalPeerError} (`ERR_OPTIONAL_PEER_MISSING`) when `@grpc/grpc-js` is not installed.
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grpcChannelCredentials } from '@spiffe-node/spiffe/grpc';
 * const credentials = grpcChannelCredentials({
 *   svidSource: source, bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/greeter'),
 * });
 * const client = new GreeterClient('localhost:50051', credentials);
 * ```
 */
export function grpcChannelCredentials(options: SpiffeClientParams): grpc.ChannelCredentials {
  return new (classes ??= grpcClasses('grpcChannelCredentials')).SpiffeChannelCredentials(
    clientConfigFrom(options, 'grpcChannelCredentials'),
  );
}

/**
 * Options of {@link grpcServerCredentials}.
 *
 * @example
 * ```ts
 * const options: GrpcServerCredentialsOptions = {
 *   svidSource: source, bundleSource: source, authorizer,
 *   onRejected: (err, socket) => console.log(formatTlsHandshakeError(err, socket)),
 * };
 * ```
 */
export interface GrpcServerCredentialsOptions {
  /** The server's SVID source; rotation installs new SVIDs for new connections. */
  svidSource: X509SvidSource;
  /** Bundles for client SVIDs (any X509BundleSource); without it (and the authorizer) clients are not authenticated. */
  bundleSource?: X509BundleSource;
  /** Required with `bundleSource`: which client IDs may call. */
  authorizer?: Authorizer;
  /**
   * Called for each client refused (its socket already destroyed), with why: `err.code` is
   * `ERR_TLS_NO_PEER_CERTIFICATE` (no certificate), `ERR_TLS_PEER_REJECTED` (chain or ID
   * refused), or another code of the `'spiffeRejected'` event of {@link tls!createTlsServer}. The
   * credentials log nothing themselves; log `formatTlsHandshakeError(err, socket)`, the line
   * go-spiffe servers print.
   */
  onRejected?: (err: TlsPeerError, socket: TLSSocket) => void;
  /**
   * Called when a new SVID could not be installed (the previous one stays) or the source has
   * none (new connections are refused until it has one again).
   */
  onRotationError?: (err: unknown) => void;
}

/**
 * Server credentials for a gRPC server (`server.bindAsync(address, credentials, cb)`, or
 * `server.createConnectionInjector(credentials)`) that presents its X509-SVID, rotating with
 * the source, and, with `bundleSource` and `authorizer`, authenticates each client at the TLS
 * handshake: the whole chain the client presents, against the bundle of the client's own
 * trust domain, then the authorizer. A refused client never reaches gRPC: its connection is
 * closed (the client sees `UNAVAILABLE`) and `onRejected` says why. No TLS session is resumed
 * and renegotiation is refused. The client's ID inside a handler: {@link peerIdFromGrpcCall}.
 *
 * @param options - Sources, the authorizer for client IDs, and the hooks to log refusals.
 * @throws `TypeError` for a missing SVID source, a bundle source without authorizer (or the
 *   reverse) or hooks that are not functions; the source's error when it has no SVID yet;
 *   an {@link errors!OptionalPeerError} (`ERR_OPTIONAL_PEER_MISSING`) when `@grpc/grpc-js` is not installed.
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { formatTlsHandshakeError } from '@spiffe-node/spiffe/tls';
 * import { grpcServerCredentials, peerIdFromGrpcCall } from '@spiffe-node/spiffe/grpc';
 * const server = new grpc.Server();
 * server.addService(GreeterService, {
 *   sayHello: (call, callback) => callback(null, { message: `hello ${peerIdFromGrpcCall(call)}` }),
 * });
 * const credentials = grpcServerCredentials({
 *   svidSource: source, bundleSource: source, authorizer: authorizeMemberOf('example.org'),
 *   onRejected: (err, socket) => console.log(formatTlsHandshakeError(err, socket)),
 * });
 * server.bindAsync('0.0.0.0:50051', credentials, () => {});
 * ```
 */
export function grpcServerCredentials(options: GrpcServerCredentialsOptions): grpc.ServerCredentials {
  const where = 'grpcServerCredentials';
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: expected an options object`);
  assertSvidSource(options.svidSource, where);
  for (const hook of ['onRejected', 'onRotationError'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new TypeError(`${where}: ${hook} must be a function`);
  }
  let serverOptions: SpiffeServerOptions;
  if (options.bundleSource !== undefined || options.authorizer !== undefined) {
    assertBundleSource(options.bundleSource, where);
    assertAuthorizer(options.authorizer, where);
    serverOptions = mtlsServerOptions(options.svidSource, options.bundleSource, options.authorizer);
  } else {
    serverOptions = tlsServerOptions(options.svidSource);
  }
  // A server without an identity cannot start: the source's error, now rather than at bind.
  options.svidSource.getX509Svid();
  return new (classes ??= grpcClasses(where)).SpiffeServerCredentials(serverOptions, options);
}

export { peerIdFromGrpcCall } from './grpc-peer.js';
