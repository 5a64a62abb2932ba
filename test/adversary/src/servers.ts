/**
 * The defending servers: every SPIFFE server helper of the library, started in this process
 * with the suite's fixtures. Each answers an authenticated request with `WHOAMI {json}` (the
 * SPIFFE ID the library recorded and the URI SAN that `getPeerCertificate()` shows, which is
 * what ordinary Node code reads) and records what it logs for a refused peer.
 */
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import {
  createHttpsServer,
  createTlsServer,
  formatTlsHandshakeError,
  listen,
  mtlsServerOptions,
  peerIdFromSocket,
  secureServer,
  type TlsPeerError,
} from '@spiffe-node/spiffe';
import { createHttp2SecureServer } from '@spiffe-node/spiffe/http2';
import { grpcServerCredentials, peerIdFromGrpcCall } from '@spiffe-node/spiffe/grpc';
import { spiffeAuth } from '@spiffe-node/spiffe/express';
import type tls from 'node:tls';
import type { Fixtures } from './fixtures.js';
import { listenOnLoopback } from './listening.js';
import { SwitchableAuthorizer, SwitchableBundles } from './switchable.js';

/** The ID every defending server accepts; the forged client chains all claim it. */
export const CLIENT_ID = 'spiffe://example.org/client';
const GRPC_WHOAMI_PATH = '/adversary.Whoami/Whoami';

/** A defending server, running. */
export interface DefendingServer {
  readonly port: number;
  /** What the defending side logged about refused peers, one line each. */
  readonly log: string[];
  /** Make the server's authorizer refuse every peer from now on. */
  refuseAll(): void;
  /** Replace the server's trust bundles (example.org's CA rotated to one nobody here holds). */
  rotateBundles(): void;
  stop(): Promise<void>;
}

/** What the hostile client speaks to a target. */
export type RequestKind = 'line' | 'http1' | 'h2' | 'grpc';

export interface ServerTarget {
  /** The helper as the table names it. */
  readonly id: string;
  readonly request: RequestKind;
  /** The HTTP path the hostile client asks for (default `/whoami`). */
  readonly path?: string;
  readonly alpn?: string;
  /** Where the defending side reports a refused peer. */
  readonly logsTo: string;
  start(fx: Fixtures): Promise<DefendingServer>;
  /** Whether the server can change its bundle and authorizer while running (in-process targets). */
  readonly switchable: boolean;
  /** Whether a response shows the peer was served (default: the `WHOAMI` answer). */
  readonly served?: (response: string) => boolean;
  /** The reason for a refusal is in the answer to the attacker (a diagnostics server), not a log. */
  readonly reasonInResponse?: boolean;
}

/** Whether `response` shows that `target` served the peer. */
export function wasServed(target: ServerTarget, response: string): boolean {
  return target.served ? target.served(response) : response.includes('WHOAMI');
}

function whoami(socket: TLSSocket): string {
  const cert = socket.getPeerCertificate();
  return `WHOAMI ${JSON.stringify({ peerId: peerIdFromSocket(socket)?.toString() ?? null, certUri: cert?.subjectaltname ?? null })}\n`;
}

function lineHandler(socket: TLSSocket): void {
  socket.once('data', () => socket.end(whoami(socket)));
  socket.on('error', () => {});
}

interface Defense {
  bundles: SwitchableBundles;
  authz: SwitchableAuthorizer;
  log: string[];
}

function defense(fx: Fixtures): Defense {
  return { bundles: new SwitchableBundles(fx.trustedBundles()), authz: new SwitchableAuthorizer(CLIENT_ID), log: [] };
}

/** Records the library's `'spiffeRejected'` events, as the apps log them, and Node's own TLS errors. */
function recordRejections(server: tls.Server, log: string[]): void {
  server.on('spiffeRejected', (err: TlsPeerError, socket: TLSSocket) => {
    log.push(`spiffeRejected ${err.code}: ${formatTlsHandshakeError(err, socket)}`);
  });
  server.on('tlsClientError', (err: Error & { code?: string }) => log.push(`tlsClientError ${err.code ?? ''}: ${err.message}`));
}

async function running(server: tls.Server, d: Defense, fx: Fixtures): Promise<DefendingServer> {
  const { port, stop } = await listenOnLoopback(server);
  return {
    port,
    log: d.log,
    refuseAll: () => d.authz.refuseAll(),
    rotateBundles: () => d.bundles.set(fx.rotatedBundles()),
    stop,
  };
}

/**
 * A target built by one of the library's server creators: `make` builds the server from the
 * defending side's bundle source and authorizer; its rejections are recorded.
 */
function libraryServer(id: string, request: RequestKind, make: (fx: Fixtures, d: Defense) => tls.Server, alpn?: string): ServerTarget {
  return {
    id,
    request,
    ...(alpn ? { alpn } : {}),
    logsTo: "'spiffeRejected'",
    switchable: true,
    async start(fx) {
      const d = defense(fx);
      const server = make(fx, d);
      recordRejections(server, d.log);
      return running(server, d, fx);
    },
  };
}

function options(fx: Fixtures, d: Defense, alpn?: string) {
  return mtlsServerOptions(fx.svid('server'), d.bundles, d.authz.authorizer, alpn ? { tlsOptions: { ALPNProtocols: [alpn] } } : undefined);
}

function listenWith(fx: Fixtures, d: Defense, resumption: boolean): tls.Server {
  return listen(
    {
      port: 0,
      host: '127.0.0.1',
      mode: 'mtls',
      svidSource: fx.svid('server'),
      bundleSource: d.bundles,
      authorizer: d.authz.authorizer,
      resumption,
    },
    lineHandler,
  );
}

export const serverTargets: ServerTarget[] = [
  libraryServer('createTlsServer', 'line', (fx, d) => createTlsServer(options(fx, d), lineHandler)),
  libraryServer('listen', 'line', (fx, d) => listenWith(fx, d, false)),
  libraryServer('listen (resumption: true)', 'line', (fx, d) => listenWith(fx, d, true)),
  libraryServer('createHttpsServer + express spiffeAuth', 'http1', (fx, d) => {
    const app = express();
    app.use(spiffeAuth());
    app.get('/whoami', (req, res) => {
      res
        .set('connection', 'close')
        .type('text/plain')
        .send(whoami(req.socket as TLSSocket));
    });
    return createHttpsServer(options(fx, d), app);
  }),
  libraryServer('secureServer(https.createServer)', 'http1', (fx, d) =>
    secureServer(
      https.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(whoami(req.socket as TLSSocket));
      }),
      options(fx, d),
    ),
  ),
  libraryServer(
    'createHttp2SecureServer',
    'h2',
    (fx, d) =>
      createHttp2SecureServer(options(fx, d, 'h2'), (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(whoami(req.stream.session?.socket as TLSSocket));
      }),
    'h2',
  ),
  {
    id: 'grpcServerCredentials + grpc-js Server',
    request: 'grpc',
    alpn: 'h2',
    logsTo: "grpcServerCredentials' onRejected",
    switchable: true,
    async start(fx) {
      const d = defense(fx);
      const server = new grpc.Server();
      const identity = (b: Buffer): Buffer => b;
      server.addService(
        {
          Whoami: {
            path: GRPC_WHOAMI_PATH,
            requestStream: false,
            responseStream: false,
            requestSerialize: identity,
            requestDeserialize: identity,
            responseSerialize: identity,
            responseDeserialize: identity,
          },
        },
        {
          Whoami: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
            const cert = call.getAuthContext().sslPeerCertificate;
            const body = { peerId: peerIdFromGrpcCall(call)?.toString() ?? null, certUri: cert?.subjectaltname ?? null };
            callback(null, Buffer.from(`WHOAMI ${JSON.stringify(body)}\n`));
          },
        },
      );
      // onRejected reports a refused client (an option of fix/grpc-chains; main reports nothing).
      const reporting = {
        onRejected: (err: TlsPeerError, socket: TLSSocket) => d.log.push(`onRejected ${err.code}: ${formatTlsHandshakeError(err, socket)}`),
      };
      const credentials = grpcServerCredentials({
        svidSource: fx.svid('server'),
        bundleSource: d.bundles,
        authorizer: d.authz.authorizer,
        ...reporting,
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
      );
      return {
        port,
        log: d.log,
        refuseAll: () => d.authz.refuseAll(),
        rotateBundles: () => d.bundles.set(fx.rotatedBundles()),
        stop: async () => {
          server.forceShutdown();
        },
      };
    },
  },
];
