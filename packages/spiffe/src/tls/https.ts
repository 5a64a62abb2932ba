/**
 * HTTPS with SPIFFE: a server (works with express: `createHttpsServer(opts, app)`) and an
 * `https.Agent` for clients (`https.request`, axios's `httpsAgent`, anything that takes one).
 *
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { clientConfigFrom, connectVerified, type ClientConfig, type SpiffeClientParams } from './connect.js';
import type { SpiffeServerOptions } from './server-options.js';
import { stateFor } from './server.js';

/**
 * Creates an `https.Server` that presents the SVID (or Web PKI certificate) of `options`,
 * authenticates clients as they say, and rotates its SVID; requests only ever come from
 * authenticated clients. Read the client's ID with {@link peerIdFromSocket}`(req.socket)` or
 * the {@link express!spiffeAuth} middleware. Emits `'spiffeRejected'` and `'spiffeRotationError'` as
 * {@link createTlsServer} does.
 *
 * @param options - From {@link mtlsServerOptions}, {@link tlsServerOptions} or {@link mtlsWebServerOptions}.
 * @param requestListener - A request handler, e.g. an express app.
 * @throws `TypeError` for other options.
 * @example
 * ```ts
 * import express from 'express';
 * import { createHttpsServer, mtlsServerOptions, formatTlsHandshakeError } from '@spiffe-node/spiffe/tls';
 * import { spiffeAuth } from '@spiffe-node/spiffe/express';
 * const app = express();
 * app.use(spiffeAuth());
 * app.get('/', (req, res) => { console.log('Request received'); res.send('Success!!!'); });
 * const server = createHttpsServer(mtlsServerOptions(source, source, authorizeId('spiffe://example.org/client')), app);
 * server.on('spiffeRejected', (err, socket) => console.log(formatTlsHandshakeError(err, socket)));
 * server.listen(8443);
 * ```
 */
export function createHttpsServer<
  Request extends typeof IncomingMessage = typeof IncomingMessage,
  Response extends typeof ServerResponse<InstanceType<Request>> = typeof ServerResponse,
>(options: SpiffeServerOptions, requestListener?: RequestListener<Request, Response>): https.Server<Request, Response> {
  const state = stateFor(options, 'createHttpsServer');
  const server = https.createServer<Request, Response>(state.serverOptions(), requestListener);
  state.attach(server);
  return server;
}

/**
 * Options of {@link createSpiffeHttpsAgent}.
 *
 * @example
 * ```ts
 * const options: SpiffeHttpsAgentOptions = { svidSource: source, bundleSource: source, authorizer, agentOptions: { keepAlive: true } };
 * ```
 */
export interface SpiffeHttpsAgentOptions extends SpiffeClientParams {
  /** Pooling options of the agent (`keepAlive`, `maxSockets`, ...); TLS trust options are ignored. */
  agentOptions?: https.AgentOptions;
}

class SpiffeHttpsAgent extends https.Agent {
  readonly #config: ClientConfig;

  constructor(config: ClientConfig, agentOptions: https.AgentOptions) {
    // No TLS session cache: every connection is authenticated in full.
    super({ ...agentOptions, maxCachedSessions: 0 });
    this.#config = config;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const base: ConnectionOptions = {
      host: options.host ?? options.hostname ?? 'localhost',
      port: Number(options.port ?? 443),
      ...(options.servername ? { servername: options.servername } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.family ? { family: options.family } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
      ALPNProtocols: ['http/1.1'],
    };
    const done = callback ?? (() => {});
    // The callback form: the request gets the socket only after the server is authenticated,
    // so no request byte can reach a refused server.
    const timeoutMs = typeof options.timeout === 'number' && options.timeout > 0 ? options.timeout : undefined;
    connectVerified(this.#config, base, { timeoutMs }).then(
      (socket) => done(null, socket),
      (err: Error) => done(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/**
 * An `https.Agent` whose connections authenticate the server's X509-SVID (bundle of the
 * server's own trust domain, then the authorizer) and present the client's current SVID when
 * `svidSource` is given. Requests are written only after the server passed. Pooled keep-alive
 * sockets stay with the server they were authenticated with; new connections use the SVID
 * and bundles current at that moment. TLS sessions are not cached.
 *
 * Works with `https.request({ agent })`, axios (`httpsAgent`), got, node-fetch and others
 * that take an agent. The server's ID of a response: {@link peerIdFromSocket}`(res.socket)`.
 *
 * @param options - Sources, authorizer and agent options.
 * @throws `TypeError` for a missing bundle source or authorizer.
 * @example
 * ```ts
 * import axios from 'axios';
 * import { createSpiffeHttpsAgent } from '@spiffe-node/spiffe/tls';
 * const httpsAgent = createSpiffeHttpsAgent({
 *   svidSource: source, bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/server'),
 *   agentOptions: { keepAlive: true },
 * });
 * const { data } = await axios.get('https://localhost:8443/', { httpsAgent });
 * ```
 */
export function createSpiffeHttpsAgent(options: SpiffeHttpsAgentOptions): https.Agent {
  const config = clientConfigFrom(options, 'createSpiffeHttpsAgent');
  return new SpiffeHttpsAgent(config, options.agentOptions ?? {});
}
