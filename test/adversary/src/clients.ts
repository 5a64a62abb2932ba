/**
 * The defending clients: every SPIFFE client helper of the library, each making one call to a
 * server and returning what it answered. A call that the helper refuses rejects with the
 * helper's error, which is where a client reports the reason.
 *
 * Clients that can resume (plain options with a saved `session`, dial with one, the https
 * agent's and undici's own session caches) keep what they would keep in real use between calls.
 */
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  createSpiffeHttpsAgent,
  dial,
  mtlsClientOptions,
  tlsClientOptions,
  type SpiffeClientParams,
  type X509BundleSet,
  type X509Svid,
} from '@spiffe-node/spiffe';
import { connectHttp2 } from '@spiffe-node/spiffe/http2';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { grpcChannelCredentials } from '@spiffe-node/spiffe/grpc';
import { request as undiciRequest } from 'undici';
import type { Fixtures } from './fixtures.js';
import { GRPC_PWNED_PATH, type ClientProtocol } from './hostile-servers.js';
import { SwitchableAuthorizer, SwitchableBundles } from './switchable.js';

/** The ID every defending client accepts; the forged server chains all claim it. */
const SERVER_ID = 'spiffe://example.org/server';

export interface DefendingClient {
  /** One call to 127.0.0.1:`port`; resolves with what the server sent. */
  call(port: number): Promise<string>;
  refuseAll(): void;
  rotateBundles(): void;
  close(): Promise<void>;
}

export interface ClientTarget {
  readonly id: string;
  readonly protocol: ClientProtocol;
  /** The helper keeps sessions between calls, so the resumption attacks apply. */
  readonly resumes: boolean;
  /** Where the refusal is reported (default: the error the helper throws). */
  readonly reportsTo?: string;
  create(fx: Fixtures): DefendingClient;
}

interface Trust {
  svid: X509Svid;
  bundles: SwitchableBundles;
  authz: SwitchableAuthorizer;
  /** What `rotateBundles` installs. */
  rotated: X509BundleSet;
}

function make(fx: Fixtures): Trust {
  return {
    svid: fx.svid('client'),
    bundles: new SwitchableBundles(fx.trustedBundles()),
    authz: new SwitchableAuthorizer(SERVER_ID),
    rotated: fx.rotatedBundles(),
  };
}

function readAll(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    socket.once('end', () => resolve(data));
    socket.once('close', () => resolve(data));
    socket.once('error', reject);
  });
}

/** The helpers' common parameters: the client SVID, the switchable bundles and authorizer. */
function params(t: Trust): SpiffeClientParams {
  return { svidSource: t.svid, bundleSource: t.bundles, authorizer: t.authz.authorizer };
}

function defending(t: Trust, call: (port: number) => Promise<string>, close: () => Promise<void> = async () => {}): DefendingClient {
  return { call, refuseAll: () => t.authz.refuseAll(), rotateBundles: () => t.bundles.set(t.rotated), close };
}

function httpsGet(options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `tls.connect` with option builders, resuming the last session as a user passing `session` would. */
function plainOptionsClient(fx: Fixtures, build: (t: Trust) => tls.ConnectionOptions): DefendingClient {
  const t = make(fx);
  let session: Buffer | undefined;
  return defending(t, async (port) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...build(t), ...(session ? { session } : {}) });
    socket.on('session', (s: Buffer) => (session = s));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    return readAll(socket);
  });
}

export const clientTargets: ClientTarget[] = [
  {
    id: 'tlsClientOptions (tls.connect)',
    protocol: 'tls',
    resumes: true,
    create: (fx) => plainOptionsClient(fx, (t) => tlsClientOptions(t.bundles, t.authz.authorizer)),
  },
  {
    id: 'mtlsClientOptions (tls.connect)',
    protocol: 'tls',
    resumes: true,
    create: (fx) => plainOptionsClient(fx, (t) => mtlsClientOptions(t.svid, t.bundles, t.authz.authorizer)),
  },
  {
    id: 'mtlsClientOptions (https.request, shared https.Agent)',
    protocol: 'https',
    resumes: true,
    create(fx) {
      const t = make(fx);
      // What the issue calls "an https.Agent other than agent: false": the option builders'
      // options on an ordinary agent, whose session cache ignores secureContext.
      const agent = new https.Agent({ keepAlive: false });
      return defending(
        t,
        (port) => httpsGet({ host: '127.0.0.1', port, path: '/', ...mtlsClientOptions(t.svid, t.bundles, t.authz.authorizer), agent }),
        async () => agent.destroy(),
      );
    },
  },
  {
    id: 'dial',
    protocol: 'tls',
    resumes: true,
    create(fx) {
      const t = make(fx);
      let session: Buffer | undefined;
      return defending(t, async (port) => {
        const socket = await dial({
          host: '127.0.0.1',
          port,
          mode: 'mtls',
          ...params(t),
          timeoutMs: 5000,
          ...(session ? { tlsOptions: { session } } : {}),
        });
        socket.on('session', (s: Buffer) => (session = s));
        return readAll(socket);
      });
    },
  },
  {
    id: 'createSpiffeHttpsAgent (https.request)',
    protocol: 'https',
    resumes: true,
    create(fx) {
      const t = make(fx);
      const agent = createSpiffeHttpsAgent(params(t));
      return defending(
        t,
        (port) => httpsGet({ host: '127.0.0.1', port, path: '/', agent }),
        async () => agent.destroy(),
      );
    },
  },
  {
    id: 'createSpiffeDispatcher (undici)',
    protocol: 'https',
    resumes: true,
    create(fx) {
      const t = make(fx);
      const dispatcher = createSpiffeDispatcher(params(t));
      return defending(
        t,
        async (port) => {
          const res = await undiciRequest(`https://127.0.0.1:${port}/`, { dispatcher });
          return res.body.text();
        },
        () => dispatcher.close(),
      );
    },
  },
  {
    id: 'connectHttp2',
    protocol: 'h2',
    resumes: false,
    create(fx) {
      const t = make(fx);
      return defending(t, async (port) => {
        const session = await connectHttp2(`https://127.0.0.1:${port}`, { ...params(t), timeoutMs: 5000 });
        try {
          return await new Promise<string>((resolve, reject) => {
            const stream = session.request({ ':path': '/' });
            let body = '';
            stream.setEncoding('utf8');
            stream.on('data', (c: string) => (body += c));
            stream.on('end', () => resolve(body));
            stream.on('error', reject);
            stream.end();
          });
        } finally {
          session.close();
        }
      });
    },
  },
  {
    id: 'grpcChannelCredentials (grpc-js client)',
    protocol: 'grpc',
    resumes: false,
    create(fx) {
      const t = make(fx);
      return defending(t, async (port) => {
        const credentials = grpcChannelCredentials(params(t));
        const client = new grpc.Client(`127.0.0.1:${port}`, credentials);
        try {
          return await new Promise<string>((resolve, reject) => {
            const deadline = new Date(Date.now() + 5000);
            client.makeUnaryRequest(
              GRPC_PWNED_PATH,
              (b: Buffer) => b,
              (b: Buffer) => b,
              Buffer.from('hello'),
              new grpc.Metadata(),
              { deadline },
              (err, value) => (err ? reject(err) : resolve(value?.toString('utf8') ?? '')),
            );
          });
        } finally {
          client.close();
        }
      });
    },
  },
];
