/**
 * The example apps as defending targets, each a real process with the suite's certificates:
 * through a Workload API endpoint the suite serves (mtls-echo, https-mtls), or through SVID
 * files (mtls-files, `--svid-dir`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizeAny, createHttpsServer, mtlsServerOptions } from '@spiffe-node/spiffe';
import { freePort } from '@spiffe-node/test-kit';
import type { ClientTarget, DefendingClient } from './clients.js';
import type { Fixtures } from './fixtures.js';
import { listenOnLoopback } from './listening.js';
import { AppProcess, appScript } from './processes.js';
import { CLIENT_ID, type DefendingServer, type ServerTarget } from './servers.js';
import { FixtureWorkloadApi } from './workload-api.js';

async function workloadApiFor(fx: Fixtures, who: 'server' | 'client'): Promise<FixtureWorkloadApi> {
  return FixtureWorkloadApi.start({
    spiffeId: `spiffe://example.org/${who}`,
    svid: fx.pair(who),
    bundle: fx.root('example'),
    federated: { 'spiffe://partner.org': fx.root('partner') },
  });
}

function appServer(app: AppProcess, port: number, cleanup: () => void): DefendingServer {
  const unsupported = (): never => {
    throw new Error('an app process cannot change its authorizer or bundle from the test');
  };
  return {
    port,
    log: app.lines,
    refuseAll: unsupported,
    rotateBundles: unsupported,
    stop: async () => {
      await app.stop();
      cleanup();
    },
  };
}

/** Waits for `ready`; if the app never gets there, stops it (and what it needs) before failing. */
async function stopOnFailure(server: DefendingServer, ready: Promise<void>): Promise<void> {
  try {
    await ready;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * apps/api-gateway with one API whose authentication is mTLS, mandatory, for
 * spiffe://example.org/client, routed to an upstream in this process (SPIFFE mTLS, as the
 * gateway requires) that answers `UPSTREAM-OK`.
 */
const apiGatewayTarget: ServerTarget = {
  id: 'apps/api-gateway (mTLS mandatory, spiffeIds)',
  request: 'http1',
  path: '/adversary/1.0/whoami',
  logsTo: 'its log: Rejected GET …: rule=… reason=…, or TLS handshake error from <peer>: <reason>',
  switchable: false,
  served: (response) => response.includes('UPSTREAM-OK'),
  async start(fx) {
    const upstream = await listenOnLoopback(
      createHttpsServer(mtlsServerOptions(fx.svid('server'), fx.trustedBundles(), authorizeAny()), (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('UPSTREAM-OK\n');
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'spiffe-adversary-gateway-'));
    mkdirSync(join(dir, 'apis'));
    writeFileSync(join(dir, 'gateway.yaml'), 'apis:\n  - apis/\ncertificatesDir: certs\ntrustedProxies: []\n');
    writeFileSync(
      join(dir, 'apis', 'adversary.apk-conf'),
      [
        'name: "AdversaryAPI"',
        'basePath: "/adversary"',
        'version: "1.0"',
        'type: "REST"',
        'id: "adversary-api"',
        'endpointConfigurations:',
        '  production:',
        `    endpoint: "https://127.0.0.1:${upstream.port}"`,
        '    spiffeId: "spiffe://example.org/server"',
        'operations:',
        '  - target: "/whoami"',
        '    verb: "GET"',
        '    secured: true',
        'authentication:',
        '  - authType: mTLS',
        '    required: mandatory',
        '    spiffeIds:',
        `      - ${CLIENT_ID}`,
        '',
      ].join('\n'),
    );
    // The gateway presents the server's SVID (the identity the suite's agent serves it).
    const api = await workloadApiFor(fx, 'server');
    const port = await freePort();
    const app = new AppProcess(
      appScript('@spiffe-node/example-api-gateway', 'gateway.js'),
      ['--config', join(dir, 'gateway.yaml'), '--host', '127.0.0.1', '--port', String(port)],
      { SPIFFE_ENDPOINT_SOCKET: api.address },
    );
    const server = appServer(app, port, () => {
      api.stop();
      void upstream.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await stopOnFailure(server, app.waitFor(/Gateway listening/));
    return server;
  },
};

/**
 * Whether the server's HTTP/2 frames (latin-1, from the first byte) answer stream 1 with a
 * HEADERS frame: a gRPC server answered the call, whatever its status. A refused connection
 * is closed before the gRPC server sees it, so it never gets one.
 */
function answersStreamOne(response: string): boolean {
  const bytes = Buffer.from(response, 'latin1');
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    if (bytes[at + 3] === 0x1 && (bytes.readUInt32BE(at + 5) & 0x7fffffff) === 1) return true;
  }
  return false;
}

/** An app server that takes its SVID from the Workload API: `<pkg>/dist/server.js --host --port`. */
function workloadApiAppServer(
  id: string,
  pkg: string,
  request: ServerTarget['request'],
  logsTo: string,
  served: (response: string) => boolean,
  http2?: { alpn: string; path: string },
): ServerTarget {
  return {
    id,
    request,
    ...http2,
    logsTo,
    switchable: false,
    served,
    async start(fx) {
      const api = await workloadApiFor(fx, 'server');
      const port = await freePort();
      const app = new AppProcess(appScript(pkg, 'server.js'), ['--host', '127.0.0.1', '--port', String(port)], {
        SPIFFE_ENDPOINT_SOCKET: api.address,
      });
      const server = appServer(app, port, () => api.stop());
      await stopOnFailure(server, app.waitFor(/listening/i));
      return server;
    },
  };
}

export const appServerTargets: ServerTarget[] = [
  workloadApiAppServer(
    'apps/mtls-echo server',
    '@spiffe-node/example-mtls-echo',
    'line',
    'its stdout: Error reading incoming data: <reason>',
    (response) => response.includes('Hello client'),
  ),
  apiGatewayTarget,
  workloadApiAppServer(
    'apps/https-mtls server',
    '@spiffe-node/example-https-mtls',
    'http1',
    'its stdout: TLS handshake error from <peer>: <reason>',
    (response) => response.startsWith('HTTP/1.1 '),
  ),
  // The hostile client calls SayHello without a JWT-SVID: an admitted client gets the status
  // UNAUTHENTICATED (and the server logs `SayHello refused: <id> sent no … metadata`); any
  // answer on the call's stream means that the connection was admitted.
  workloadApiAppServer(
    'apps/grpc-greeter server',
    '@spiffe-node/example-grpc-greeter',
    'grpc',
    'its stdout: TLS handshake error from <peer>: <reason>',
    answersStreamOne,
    { alpn: 'h2', path: '/greeter.Greeter/SayHello' },
  ),
  {
    id: 'apps/mtls-files server (--svid-dir)',
    request: 'http1',
    logsTo: 'its answer: {"mTLSValid": false, "reason": …}',
    switchable: false,
    served: (response) => /"mTLSValid": true/.test(response),
    reasonInResponse: true,
    async start(fx) {
      const dir = mkdtempSync(join(tmpdir(), 'spiffe-adversary-svids-'));
      const svid = fx.pair('server');
      writeFileSync(join(dir, 'svid.0.pem'), svid.chain);
      writeFileSync(join(dir, 'svid.0.key'), svid.key, { mode: 0o600 });
      writeFileSync(join(dir, 'bundle.0.pem'), fx.root('example'));
      writeFileSync(join(dir, 'federated_bundle.0.0.pem'), fx.root('partner'));
      const port = await freePort();
      const app = new AppProcess(
        appScript('@spiffe-node/example-mtls-files', 'server.js'),
        ['--svid-dir', dir, '--authorize-id', CLIENT_ID, '--host', '127.0.0.1', '--port', String(port)],
        {},
      );
      const server = appServer(app, port, () => rmSync(dir, { recursive: true, force: true }));
      await stopOnFailure(server, app.waitFor(/listening/i));
      return server;
    },
  },
];

/** An app client run once per call: its output on success, an error with its output otherwise. */
function appClient(fx: Fixtures, script: string, args: (port: number) => string[]): DefendingClient {
  let api: FixtureWorkloadApi | undefined;
  const unsupported = (): never => {
    throw new Error('an app process cannot change its authorizer or bundle from the test');
  };
  return {
    async call(port) {
      api ??= await workloadApiFor(fx, 'client');
      const app = new AppProcess(script, args(port), { SPIFFE_ENDPOINT_SOCKET: api.address });
      const code = await app.exitCode();
      const output = app.lines.join('\n');
      if (code !== 0) throw new Error(`exit ${code}: ${output}`);
      return output;
    },
    refuseAll: unsupported,
    rotateBundles: unsupported,
    close: async () => api?.stop(),
  };
}

export const appClientTargets: ClientTarget[] = [
  {
    id: 'apps/mtls-echo client',
    protocol: 'tls',
    resumes: false,
    reportsTo: 'its exit status and output',
    create: (fx) =>
      appClient(fx, appScript('@spiffe-node/example-mtls-echo', 'client.js'), (port) => [
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--timeout',
        '10',
      ]),
  },
  {
    id: 'apps/https-mtls client',
    protocol: 'https',
    resumes: false,
    reportsTo: 'its exit status and output',
    create: (fx) =>
      appClient(fx, appScript('@spiffe-node/example-https-mtls', 'client.js'), (port) => [
        '--url',
        `https://127.0.0.1:${port}/`,
        '--timeout',
        '10',
      ]),
  },
  {
    id: 'apps/grpc-greeter client (--no-token)',
    protocol: 'grpc',
    resumes: false,
    reportsTo: 'its exit status and output',
    // The suite's Workload API serves no JWT-SVID: the client calls with its X509-SVID only.
    create: (fx) =>
      appClient(fx, appScript('@spiffe-node/example-grpc-greeter', 'client.js'), (port) => [
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--server-id',
        'spiffe://example.org/server',
        '--no-token',
        '--count',
        '1',
      ]),
  },
  {
    id: 'apps/mtls-files request --spiffe',
    protocol: 'https',
    resumes: false,
    reportsTo: 'its exit status and output',
    create: (fx) =>
      appClient(fx, appScript('@spiffe-node/example-mtls-files', 'request.js'), (port) => [
        '--spiffe',
        '--server-id',
        'spiffe://example.org/server',
        '--url',
        `https://127.0.0.1:${port}/`,
      ]),
  },
];
