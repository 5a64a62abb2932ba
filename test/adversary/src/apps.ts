/**
 * The example apps as defending targets, each a real process with the suite's certificates:
 * through a Workload API endpoint the suite serves (mtls-echo, https-mtls), or through SVID
 * files (mtls-files, `--svid-dir`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientTarget, DefendingClient } from './clients.js';
import type { Fixtures } from './fixtures.js';
import { AppProcess, appScript, freePort } from './processes.js';
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

/** An app server that takes its SVID from the Workload API: `<pkg>/dist/server.js --host --port`. */
function workloadApiAppServer(id: string, pkg: string, request: ServerTarget['request'], logsTo: string, served: (response: string) => boolean): ServerTarget {
  return {
    id,
    request,
    logsTo,
    switchable: false,
    served,
    async start(fx) {
      const api = await workloadApiFor(fx, 'server');
      const port = await freePort();
      const app = new AppProcess(appScript(pkg, 'server.js'), ['--host', '127.0.0.1', '--port', String(port)], {
        SPIFFE_ENDPOINT_SOCKET: api.address,
      });
      await app.waitFor(/listening/i);
      return appServer(app, port, () => api.stop());
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
  workloadApiAppServer(
    'apps/https-mtls server',
    '@spiffe-node/example-https-mtls',
    'http1',
    'its stdout: TLS handshake error from <peer>: <reason>',
    (response) => response.startsWith('HTTP/1.1 '),
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
      const server = fx.pair('server');
      writeFileSync(join(dir, 'svid.0.pem'), server.chain);
      writeFileSync(join(dir, 'svid.0.key'), server.key, { mode: 0o600 });
      writeFileSync(join(dir, 'bundle.0.pem'), fx.root('example'));
      writeFileSync(join(dir, 'federated_bundle.0.0.pem'), fx.root('partner'));
      const port = await freePort();
      const app = new AppProcess(
        appScript('@spiffe-node/example-mtls-files', 'server.js'),
        ['--svid-dir', dir, '--authorize-id', CLIENT_ID, '--host', '127.0.0.1', '--port', String(port)],
        {},
      );
      await app.waitFor(/listening/i);
      return appServer(app, port, () => rmSync(dir, { recursive: true, force: true }));
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
      appClient(fx, appScript('@spiffe-node/example-mtls-echo', 'client.js'), (port) => ['--host', '127.0.0.1', '--port', String(port), '--timeout', '10']),
  },
  {
    id: 'apps/https-mtls client',
    protocol: 'https',
    resumes: false,
    reportsTo: 'its exit status and output',
    create: (fx) =>
      appClient(fx, appScript('@spiffe-node/example-https-mtls', 'client.js'), (port) => ['--url', `https://127.0.0.1:${port}/`, '--timeout', '10']),
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
