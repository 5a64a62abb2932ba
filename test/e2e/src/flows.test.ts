/**
 * End-to-end flows beyond the demo's scenarios, on the development agent: the proxy forwards `/`
 * only; an app started before the agent succeeds once the agent is up; an SVID rotation in the
 * middle of a sequence of requests through the proxy fails none of them; the gRPC greeter checks
 * its streaming call on its own and serves new clients after its first SVID expired.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLIENT_USER,
  DevAgent,
  SERVER_USER,
  ensureUser,
  freePorts,
  isRoot,
  portEnv,
  register,
  repoRoot,
  runnableRootFor,
  startWorkload,
  type Identity,
  type Workload,
} from '@spiffe-node/harness';
import { JwtSource, SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeHttpsAgent } from '@spiffe-node/spiffe/tls';

const root = repoRoot();
const asUsers = isRoot();
let appRoot = root;
let cleanupStage = (): void => {};

before(() => {
  if (asUsers) {
    ensureUser(SERVER_USER);
    ensureUser(CLIENT_USER);
    const staged = runnableRootFor(root, [SERVER_USER, CLIENT_USER]);
    appRoot = staged.root;
    cleanupStage = staged.cleanup;
  }
});
after(() => cleanupStage());

function startApp(
  agent: DevAgent,
  app: string,
  role: string,
  identity: Identity,
  env: Record<string, string>,
  args: string[] = [],
): Workload {
  const how = agent.as(identity);
  return startWorkload({
    name: `${app}/${role}`,
    command: process.execPath,
    args: [join(appRoot, 'apps', app, 'dist', `${role}.js`), ...args],
    user: how.user,
    env: { ...env, ...how.env },
  });
}

describe('jwt-proxy forwards / only', () => {
  let agent: DevAgent;
  const workloads: Workload[] = [];
  before(async () => {
    agent = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
    await agent.start();
    register(root, 'jwt-proxy', agent);
  });
  after(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    await agent.stop();
  });

  it('answers 404 for another path without reaching the server', async () => {
    const env = portEnv(await freePorts(2));
    const server = startApp(agent, 'jwt-proxy', 'server', 'server', env);
    const proxy = startApp(agent, 'jwt-proxy', 'proxy', 'server', env);
    workloads.push(server, proxy);
    await server.waitForLine(/^Server listening/);
    await proxy.waitForLine(/^Proxy listening/);

    const other = startApp(agent, 'jwt-proxy', 'client', 'client', { ...env, PROXY_URL: `${env.PROXY_URL}admin` });
    const info = await other.waitForExit();
    assert.notEqual(info.code, 0, other.output());
    assert.ok(other.stdout().includes('404 Not Found'), other.output());
    await proxy.waitForLine(/^GET \/admin$/, 5_000);

    // The same proxy still forwards `/`, so the 404 came from the path rule.
    const ok = startApp(agent, 'jwt-proxy', 'client', 'client', env);
    assert.equal((await ok.waitForExit()).code, 0, ok.output());
    assert.ok(ok.stdout().includes('Success!!!'), ok.output());
    const received = server.stdout().filter((l) => l.startsWith('Request received'));
    assert.equal(received.length, 1, `the server saw only the request for /:\n${server.output()}`);
  });
});

describe('an app started before the agent', () => {
  let agent: DevAgent;
  const workloads: Workload[] = [];
  after(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    await agent?.stop();
  });

  it('gets its SVID once the agent is up, and serves', async () => {
    agent = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
    const env = portEnv(await freePorts(2));
    const server = startApp(agent, 'mtls-echo', 'server', 'server', env);
    workloads.push(server);
    // No agent yet: the server keeps retrying instead of failing or spinning.
    await sleep(1_500);
    assert.equal(server.exitInfo, undefined, `the server should still be waiting:\n${server.output()}`);
    assert.ok(!/Server listening/.test(server.output()));

    await agent.start();
    register(root, 'mtls-echo', agent);
    await server.waitForLine(/^Server listening/, 30_000);
    const client = startApp(agent, 'mtls-echo', 'client', 'client', env);
    assert.equal((await client.waitForExit()).code, 0, client.output());
    assert.ok(client.stdout().includes('Server says: Hello client'), client.output());
  });
});

describe('SVID rotation in the middle of requests through the proxy', () => {
  let agent: DevAgent;
  const workloads: Workload[] = [];
  const closers: Array<() => void> = [];
  before(async () => {
    // X509-SVIDs live 4 s and rotate at half-life: several rotations during the run.
    agent = new DevAgent({ mode: asUsers ? 'users' : 'sockets', x509SvidTtl: 4 });
    await agent.start();
    register(root, 'jwt-proxy', agent);
    if (asUsers) {
      // This test process is the client: give its uid the client's identity.
      const r = spawnSync(
        agent.registration.command,
        [
          'entry',
          'create',
          '-socketPath',
          agent.registration.socket,
          '-spiffeID',
          'spiffe://example.org/client',
          '-parentID',
          'spiffe://example.org/host',
          '-selector',
          `unix:uid:${process.getuid!()}`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
  });
  after(async () => {
    for (const close of closers) close();
    await Promise.all(workloads.map((w) => w.stop()));
    await agent.stop();
  });

  it('fails no request and presents the rotated SVIDs', async () => {
    const env = portEnv(await freePorts(2));
    const server = startApp(agent, 'jwt-proxy', 'server', 'server', env);
    const proxy = startApp(agent, 'jwt-proxy', 'proxy', 'server', env);
    workloads.push(server, proxy);
    await server.waitForLine(/^Server listening/);
    await proxy.waitForLine(/^Proxy listening/);

    const address = asUsers ? `unix://${agent.socketPath}` : `unix://${agent.identitySocket('client')}`;
    const x509 = await X509Source.create({ address, timeoutMs: 10_000 });
    const jwt = await JwtSource.create({ address, timeoutMs: 10_000 });
    closers.push(
      () => void x509.close(),
      () => void jwt.close(),
    );
    // A new connection for every request, so that every request is a fresh handshake.
    const agentHttps = createSpiffeHttpsAgent({
      bundleSource: x509,
      authorizer: authorizeId(SpiffeId.fromString('spiffe://example.org/server')),
      agentOptions: { keepAlive: false },
    });
    closers.push(() => agentHttps.destroy());

    const serials = new Set<string>();
    let failures = 0;
    let total = 0;
    const deadline = Date.now() + 7_000;
    while (Date.now() < deadline) {
      total++;
      try {
        const svid = await jwt.fetchJwtSvid({ audience: 'spiffe://example.org/server' });
        const { status, body, serial } = await get(Number(env.PROXY_PORT), svid.token, agentHttps);
        serials.add(serial);
        if (status !== 200 || body !== 'Success!!!') {
          failures++;
          console.log(`request ${total}: ${status} ${body}`);
        }
      } catch (err) {
        failures++;
        console.log(`request ${total}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(50);
    }
    assert.ok(total >= 20, `only ${total} requests were made`);
    assert.equal(failures, 0, `${failures} of ${total} requests failed`);
    assert.ok(serials.size >= 2, `the proxy should have presented at least two SVIDs over 7 s (saw ${serials.size})`);
  });
});

function get(port: number, token: string, agent: import('node:https').Agent): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path: '/', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('grpc-greeter beyond the demo', () => {
  let agent: DevAgent;
  let env: Record<string, string>;
  const workloads: Workload[] = [];
  let server: Workload;
  before(async () => {
    // X509-SVIDs live 4 s: the server's first SVID has expired before the last call below.
    agent = new DevAgent({ mode: asUsers ? 'users' : 'sockets', x509SvidTtl: 4 });
    await agent.start();
    register(root, 'grpc-greeter', agent);
    env = portEnv(await freePorts(2));
    server = startApp(agent, 'grpc-greeter', 'server', 'server', env);
    workloads.push(server);
    await server.waitForLine(/^Server listening/);
  });
  after(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    await agent.stop();
  });

  it('checks the streaming call on its own: SayHello passes, SayHelloStream refuses 11 greetings', async () => {
    const client = startApp(agent, 'grpc-greeter', 'client', 'client', env, ['--count', '11']);
    assert.equal((await client.waitForExit()).code, 1, client.output());
    assert.ok(
      client.stdout().some((l) => l.startsWith('SayHello: "Hello world"')),
      client.output(),
    );
    assert.ok(client.output().includes('SayHelloStream failed: INVALID_ARGUMENT: count must be at most 10, not 11'), client.output());
  });

  it('keeps serving new clients with its rotated SVID after the first one expired', async () => {
    const first = startApp(agent, 'grpc-greeter', 'client', 'client', env, ['--count', '1']);
    assert.equal((await first.waitForExit()).code, 0, first.output());
    await sleep(5_000);
    const later = startApp(agent, 'grpc-greeter', 'client', 'client', env, ['--count', '1']);
    assert.equal((await later.waitForExit()).code, 0, later.output());
    assert.ok(
      later.stdout().some((l) => l.startsWith('SayHelloStream: "Hello world (1 of 1)" from spiffe://example.org/server ')),
      later.output(),
    );
  });
});

describe('no agent, or no registration entry', () => {
  it('gives a clear message within the start-up timeout, not a hang or a stack trace', async () => {
    const agent = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
    try {
      const env = { ...portEnv(await freePorts(2)), SPIFFE_STARTUP_TIMEOUT: '2' };
      const started = Date.now();
      const client = startApp(agent, 'mtls-echo', 'client', 'client', env);
      const info = await client.waitForExit(15_000);
      assert.equal(info.code, 1, client.output());
      assert.ok(Date.now() - started < 10_000, 'the client gave up after its 2 s timeout');
      const output = client.output();
      assert.match(output, /api\.sock|\.sock/, `names the socket:\n${output}`);
      assert.doesNotMatch(output, /^\s+at /m, `no stack trace:\n${output}`);

      // The agent is up, but nothing is registered for this workload.
      await agent.start();
      const unregistered = startApp(agent, 'mtls-echo', 'client', 'client', env);
      assert.equal((await unregistered.waitForExit(15_000)).code, 1, unregistered.output());
      assert.match(unregistered.output(), /no identity issued|registration entry/i, unregistered.output());
      assert.doesNotMatch(unregistered.output(), /^\s+at /m);
    } finally {
      await agent.stop();
    }
  });
});
