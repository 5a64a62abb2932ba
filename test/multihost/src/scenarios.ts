/**
 * The example apps with client and server on different hosts of the topology: within trust domain
 * A (example.org) and across the federation A <-> B (partner.org), each with the case the app must
 * refuse. The server side always runs on a-host1 as spiffe://example.org/server; the client runs on
 * a-host2 (A) or b-host (B), as the identity of the Unix user it runs as on that host.
 */
import { join } from 'node:path';
import { CLIENT_USER, Recorder, SERVER_USER, runClient, startWorkload, type ScenarioResult, type Workload } from '@spiffe-node/harness';
import type { HostName, Topology } from './topology.js';

export const A_SERVER_ID = 'spiffe://example.org/server';
export const A_CLIENT_ID = 'spiffe://example.org/client';
const A_OTHER_ID = 'spiffe://example.org/other';
export const B_CLIENT_ID = 'spiffe://partner.org/client';
const B_OTHER_ID = 'spiffe://partner.org/other';
const OTHER_AUDIENCE = 'spiffe://example.org/some-other-server';

/** Where the servers run. */
const SERVER_HOST: HostName = 'a-host1';

export interface MultihostContext {
  /** A root from which the workload users can run the built apps (runnableRootFor). */
  root: string;
  topology: Topology;
  onLine?: (name: string, line: string) => void;
}

/** A workload on a host of the topology: a Unix user there, and the SPIFFE ID it holds. */
interface Peer {
  host: HostName;
  user: string;
  id: string;
}

/** One client/server pairing across hosts. */
interface Pairing {
  /** Within A, or across the federation. */
  across: 'A' | 'A<->B';
  client: Peer;
  /** The client ID the server authorizes. */
  allowedClientId: string;
  /** The client the server must refuse (its own SVID is valid, its ID is not the allowed one). */
  wrongClient: Peer;
}

const PAIRINGS: Pairing[] = [
  {
    across: 'A',
    client: { host: 'a-host2', user: CLIENT_USER, id: A_CLIENT_ID },
    allowedClientId: A_CLIENT_ID,
    wrongClient: { host: 'a-host2', user: SERVER_USER, id: A_OTHER_ID },
  },
  {
    across: 'A<->B',
    client: { host: 'b-host', user: CLIENT_USER, id: B_CLIENT_ID },
    allowedClientId: B_CLIENT_ID,
    wrongClient: { host: 'b-host', user: SERVER_USER, id: B_OTHER_ID },
  },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function app(ctx: MultihostContext, appName: string, role: string, host: HostName, user: string, args: string[]): Workload {
  const where = ctx.topology.hosts[host];
  const name = `${appName}/${role}@${host}`;
  return startWorkload({
    name,
    command: process.execPath,
    args: [join(ctx.root, 'apps', appName, 'dist', `${role}.js`), ...args],
    user,
    netns: where.netns,
    env: { SPIFFE_ENDPOINT_SOCKET: `unix://${where.socketPath}` },
    cwd: join(ctx.root, 'apps', appName),
    onLine: ctx.onLine ? (line) => ctx.onLine!(name, line) : undefined,
  });
}

function describePeer(p: Peer): string {
  return `${p.id} on ${p.host}`;
}

/** mtls-echo: the client on another host says "Hello server"; a wrong client ID is refused. */
async function mtlsEcho(ctx: MultihostContext, pairing: Pairing, accepted: boolean): Promise<ScenarioResult> {
  const r = new Recorder();
  const address = ctx.topology.hosts[SERVER_HOST].address;
  const client = accepted ? pairing.client : pairing.wrongClient;
  const server = r.track(
    app(ctx, 'mtls-echo', 'server', SERVER_HOST, SERVER_USER, [
      '--host',
      address,
      '--port',
      '55555',
      '--client-id',
      pairing.allowedClientId,
    ]),
  );
  const listening = new RegExp(`^Server listening on ${escape(address)}:55555 as ${escape(A_SERVER_ID)}$`);
  if (await r.line(server, listening, `server listens on ${SERVER_HOST} (${address}) as ${A_SERVER_ID}`)) {
    const c = r.track(
      app(ctx, 'mtls-echo', 'client', client.host, client.user, ['--host', address, '--port', '55555', '--server-id', A_SERVER_ID]),
    );
    await runClient(r, c, accepted);
    if (accepted) {
      r.check('client prints "Server says: Hello client"', c.stdout().includes('Server says: Hello client'));
      await r.line(server, /^Client says: Hello server$/, 'server logs "Client says: Hello server"', 5_000);
    } else {
      r.check('client reports "Unable to read server response"', /Unable to read server response/.test(c.output()));
      await r.line(
        server,
        new RegExp(`^Error reading incoming data: unexpected ID "${escape(client.id)}"$`),
        `server logs unexpected ID "${client.id}"`,
        5_000,
      );
      r.check('server never logs a message from the refused client', !/Client says/.test(server.output()));
    }
  }
  const verdict = accepted ? `accepts ${describePeer(client)}` : `refuses ${describePeer(client)}`;
  return r.finish(`mtls-echo [${pairing.across}]: server on ${SERVER_HOST} ${verdict}`);
}

/** https-mtls: HTTPS over SPIFFE mTLS from another host; a wrong client ID fails the handshake. */
async function httpsMtls(ctx: MultihostContext, pairing: Pairing, accepted: boolean): Promise<ScenarioResult> {
  const r = new Recorder();
  const address = ctx.topology.hosts[SERVER_HOST].address;
  const client = accepted ? pairing.client : pairing.wrongClient;
  const url = `https://${address}:8443/`;
  const server = r.track(
    app(ctx, 'https-mtls', 'server', SERVER_HOST, SERVER_USER, [
      '--host',
      address,
      '--port',
      '8443',
      '--client-id',
      pairing.allowedClientId,
    ]),
  );
  const listening = new RegExp(`^Server listening on ${escape(url.slice(0, -1))} as ${escape(A_SERVER_ID)}$`);
  if (await r.line(server, listening, `server listens on ${SERVER_HOST} (${url}) as ${A_SERVER_ID}`)) {
    const c = r.track(app(ctx, 'https-mtls', 'client', client.host, client.user, ['--url', url, '--server-id', A_SERVER_ID]));
    await runClient(r, c, accepted);
    if (accepted) {
      r.check('client prints "Success!!!"', c.stdout().includes('Success!!!'));
      await r.line(
        server,
        new RegExp(`^Request received from ${escape(client.id)}$`),
        `server logs "Request received from ${client.id}"`,
        5_000,
      );
    } else {
      const from = ctx.topology.hosts[client.host].address;
      r.check(`client reports "Error connecting to "${url}""`, c.output().includes(`Error connecting to "${url}"`));
      await r.line(
        server,
        new RegExp(`^TLS handshake error from ${escape(from)}:\\d+: unexpected ID "${escape(client.id)}"$`),
        `server logs TLS handshake error from ${from} (${client.host}): unexpected ID "${client.id}"`,
        5_000,
      );
      r.check('server never handles the request', !/Request received/.test(server.output()));
    }
  }
  const verdict = accepted ? `accepts ${describePeer(client)}` : `refuses ${describePeer(client)}`;
  return r.finish(`https-mtls [${pairing.across}]: server on ${SERVER_HOST} ${verdict}`);
}

/**
 * jwt-proxy: the client on another host calls the proxy on a-host1 with a JWT-SVID, the proxy
 * forwards to the server (a-host1's loopback), which validates the token against the JWT bundle
 * of the token's trust domain (partner.org's comes from the federation). The server authorizes by
 * audience, not by ID: the refused case is a valid JWT-SVID of the same client for another audience.
 */
async function jwtProxy(ctx: MultihostContext, pairing: Pairing, accepted: boolean): Promise<ScenarioResult> {
  const r = new Recorder();
  const address = ctx.topology.hosts[SERVER_HOST].address;
  const client = pairing.client;
  const url = `https://${address}:8443/`;
  const server = r.track(app(ctx, 'jwt-proxy', 'server', SERVER_HOST, SERVER_USER, ['--host', '127.0.0.1', '--port', '8080']));
  const proxy = r.track(
    app(ctx, 'jwt-proxy', 'proxy', SERVER_HOST, SERVER_USER, ['--host', address, '--port', '8443', '--upstream', 'https://127.0.0.1:8080']),
  );
  const up =
    (await r.line(server, /^Server listening/, `server starts on ${SERVER_HOST} (loopback)`)) &&
    (await r.line(proxy, /^Proxy listening/, `proxy listens on ${SERVER_HOST} (${url})`));
  if (up) {
    const args = ['--url', url, '--server-id', A_SERVER_ID, ...(accepted ? [] : [OTHER_AUDIENCE])];
    const c = r.track(app(ctx, 'jwt-proxy', 'client', client.host, client.user, args));
    await runClient(r, c, accepted);
    if (accepted) {
      r.check('client prints "Success!!!"', c.stdout().includes('Success!!!'));
      await r.line(proxy, /^GET \/$/, 'proxy logs "GET /"', 5_000);
      await r.line(
        server,
        new RegExp(`^Request received from ${escape(client.id)}$`),
        `server logs "Request received from ${client.id}"`,
        5_000,
      );
    } else {
      r.check('client prints "401 Unauthorized"', c.stdout().includes('401 Unauthorized'));
      const expected = `Invalid token: jwtsvid: expected audience in ["${A_SERVER_ID}"] (audience=["${OTHER_AUDIENCE}"])`;
      await r.line(server, new RegExp(`^${escape(expected)}$`), 'server logs the expected and the actual audience', 5_000);
      r.check('server never accepts the request', !/Request received/.test(server.output()));
    }
  }
  const verdict = accepted
    ? `accepts a JWT-SVID of ${describePeer(client)}`
    : `refuses a JWT-SVID of ${describePeer(client)} for ${OTHER_AUDIENCE}`;
  return r.finish(`jwt-proxy [${pairing.across}]: server on ${SERVER_HOST} ${verdict}`);
}

/** One scenario: a name known before it runs, and the run. */
export interface MultihostScenario {
  name: string;
  run: (ctx: MultihostContext) => Promise<ScenarioResult>;
}

const APPS = { 'mtls-echo': mtlsEcho, 'https-mtls': httpsMtls, 'jwt-proxy': jwtProxy };

/** Every scenario, in order: per app, within A then across A<->B, the accepted then the refused case. */
export const MULTIHOST_SCENARIOS: MultihostScenario[] = Object.entries(APPS).flatMap(([appName, run]) =>
  PAIRINGS.flatMap((pairing) =>
    [true, false].map((accepted) => ({
      name: `${appName} [${pairing.across}]: the ${accepted ? 'authorized client is served' : 'wrong client is refused'}`,
      run: (ctx: MultihostContext) => run(ctx, pairing, accepted),
    })),
  ),
);
