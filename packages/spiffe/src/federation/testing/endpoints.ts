/**
 * Test-only bundle endpoints: real HTTPS servers on 127.0.0.1 that present an X509-SVID
 * (`https_spiffe`) or a Web PKI certificate (`https_web`) and answer with whatever the test
 * scripts, counting the requests that reach them.
 *
 * @internal
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Server } from 'node:https';
import { createHttpsServer, tlsServerOptions } from '../../tls/index.js';
import type { X509SvidSource } from '../../svid/x509/index.js';
import { closeServer, listenLocal, trackSockets } from '../../tls/testing/fixtures.js';

/** A running test endpoint. */
export interface TestEndpoint {
  server: Server;
  port: number;
  /** `https://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Requests that reached the HTTP layer (after the TLS handshake). */
  requests: number;
  /** Replaces what the endpoint answers. */
  respond(handler: RequestListener): void;
  close(): Promise<void>;
}

async function start(server: Server, initial: RequestListener, host = '127.0.0.1'): Promise<TestEndpoint> {
  let handler = initial;
  trackSockets(server);
  const endpoint: TestEndpoint = {
    server,
    port: 0,
    url: (path = '/') => `https://${host}:${endpoint.port}${path}`,
    requests: 0,
    respond: (next) => {
      handler = next;
    },
    close: () => closeServer(server),
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    endpoint.requests++;
    handler(req, res);
  });
  endpoint.port = await listenLocal(server);
  return endpoint;
}

/** An `https_spiffe` endpoint: presents the SVID of `svidSource`, asks no client certificate. */
export function spiffeEndpoint(svidSource: X509SvidSource, handler: RequestListener): Promise<TestEndpoint> {
  return start(createHttpsServer(tlsServerOptions(svidSource)), handler);
}

/** An `https_web` endpoint with a Web PKI certificate; `host` names it in {@link TestEndpoint.url}. */
export function webEndpoint(cert: string, key: string, handler: RequestListener, host = 'localhost'): Promise<TestEndpoint> {
  return start(https.createServer({ cert, key }), handler, host);
}

/** A handler that answers 200 with `body` as JSON. */
export function answer(body: string | Buffer): RequestListener {
  return (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
}
