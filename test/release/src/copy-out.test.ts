/**
 * Each example app copied out of the monorepo, as its README's "Copy this example out" says: its
 * tracked files into an empty folder, the `workspace:*` dependency on the library pointed at the
 * packed tarball (`npm pkg set`), the monorepo-only devDependencies removed (`npm pkg delete`),
 * `npm install`, `npm run build`; then its programs run against the dev agent (one Workload API
 * socket per identity, so no workload users are needed) and print their success lines.
 *
 * One npm install per app, all from npm's shared cache after the first.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DevAgent,
  describeResult,
  freePorts,
  grpcGreeterSuccess,
  httpsMtlsSuccess,
  jwtProxySuccess,
  mtlsEchoSuccess,
  portEnv,
  register,
  startWorkload,
  type ScenarioContext,
  type Workload,
} from '@spiffe-node/harness';
import { REPO_ROOT, packLibrary, run } from './tools.js';

const LIBRARY = '@spiffe-node/spiffe';
const IDENTITIES = {
  server: 'spiffe://example.org/server',
  client: 'spiffe://example.org/client',
  gateway: 'spiffe://example.org/api-gateway',
  upstream: 'spiffe://example.org/employee-service',
};

let tarball: string;
let stage: string;
let agent: DevAgent;
const started: Workload[] = [];

before(async () => {
  tarball = await packLibrary();
  stage = mkdtempSync(join(tmpdir(), 'spiffe-node-copy-out-'));
  agent = new DevAgent({ mode: 'sockets', identities: IDENTITIES });
  await agent.start();
});

after(async () => {
  await Promise.all(started.map((w) => w.stop()));
  await agent?.stop();
  if (tarball) rmSync(dirname(tarball), { recursive: true, force: true });
  if (stage) rmSync(stage, { recursive: true, force: true });
});

const socketOf = (identity: keyof typeof IDENTITIES): string => `unix://${agent.identitySocket(identity)}`;

/** Copies the app's tracked files (what `git archive HEAD:apps/<app>` gives) to <stage>/apps/<app>. */
function copyOut(app: string): string {
  const dest = join(stage, 'apps', app);
  const files = execFileSync('git', ['ls-files', '-z', '--', '.'], { cwd: join(REPO_ROOT, 'apps', app), encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'apps', app, file), join(dest, file));
  }
  return dest;
}

/** Copies, rewires, installs and builds an app as its README says; returns its folder. */
async function copyInstallBuild(app: string): Promise<string> {
  const dir = copyOut(app);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  assert.ok(readme.includes('## Copy this example out'), `apps/${app}/README.md has no "Copy this example out" section`);
  const section = readme.slice(readme.indexOf('## Copy this example out'));
  assert.doesNotMatch(
    readFileSync(join(dir, 'tsconfig.json'), 'utf8'),
    /"extends"/,
    `apps/${app}/tsconfig.json extends a file of the monorepo`,
  );

  const npm = async (...args: string[]): Promise<void> => {
    const r = await run('npm', args, { cwd: dir, timeoutMs: 600_000 });
    assert.equal(r.code, 0, `apps/${app}: npm ${args.join(' ')} failed\n${r.output}`);
  };
  await npm('pkg', 'set', `dependencies.${LIBRARY}=file:${tarball}`);
  // Every other workspace package it names serves the monorepo's tests; the README deletes them.
  for (const field of ['dependencies', 'devDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (name === LIBRARY || !range.startsWith('workspace:')) continue;
      assert.ok(
        section.includes(`npm pkg delete`) && section.includes(`${field}.${name}`),
        `apps/${app}/README.md does not say to delete ${field}.${name}`,
      );
      await npm('pkg', 'delete', `${field}.${name}`);
    }
  }
  await npm('install', '--no-audit', '--no-fund', '--prefer-offline');
  await npm('run', 'build');
  register(stage, app, agent);
  return dir;
}

async function context(): Promise<ScenarioContext> {
  return {
    root: stage,
    as: (identity) => ({ env: { SPIFFE_ENDPOINT_SOCKET: socketOf(identity) } }),
    env: { ...portEnv(await freePorts(2)), SPIFFE_STARTUP_TIMEOUT: '30' },
  };
}

/** Starts one of a copied app's programs with an identity. */
function program(dir: string, name: string, identity: keyof typeof IDENTITIES, args: string[]): Workload {
  const w = startWorkload({
    name,
    command: process.execPath,
    args: [join(dir, 'dist', `${name.split('/')[1]}.js`), ...args],
    env: { SPIFFE_ENDPOINT_SOCKET: socketOf(identity), SPIFFE_STARTUP_TIMEOUT: '30' },
    cwd: dir,
  });
  started.push(w);
  return w;
}

describe('each example app copied out of the monorepo, with the packed library', () => {
  const seeds = [
    ['mtls-echo', mtlsEchoSuccess],
    ['https-mtls', httpsMtlsSuccess],
    ['jwt-proxy', jwtProxySuccess],
    ['grpc-greeter', grpcGreeterSuccess],
  ] as const;
  for (const [app, scenario] of seeds) {
    it(`${app}: installs, builds and runs its success flow`, async () => {
      await copyInstallBuild(app);
      const result = await scenario(await context());
      assert.ok(result.ok, describeResult(result));
    });
  }

  it('api-gateway: installs, builds, and a client gets 200 through the gateway from the employee service', async () => {
    const dir = await copyInstallBuild('api-gateway');
    const [gatewayPort, upstreamPort] = await freePorts(2);
    // The API definition names the employee service's address; move it to the port of this run.
    const api = join(dir, 'config', 'apis', 'EmployeeServiceAPI.apk-conf');
    writeFileSync(api, readFileSync(api, 'utf8').replace('https://localhost:8080', `https://localhost:${upstreamPort}`));
    // The pinned certificate of the ConfigMap, made as the README's "Running it" makes it.
    mkdirSync(join(dir, 'config', 'certs', 'mtls-configmap'), { recursive: true });
    const openssl = await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=employee-client',
        '-keyout',
        'client.key',
        '-out',
        'config/certs/mtls-configmap/tls.crt',
      ],
      { cwd: dir },
    );
    assert.equal(openssl.code, 0, openssl.output);
    const upstream = program(dir, 'api-gateway/upstream', 'upstream', ['--port', String(upstreamPort)]);
    await upstream.waitForLine(/^Employee service listening on /, 60_000);
    const gateway = program(dir, 'api-gateway/gateway', 'gateway', ['--port', String(gatewayPort)]);
    await gateway.waitForLine(/^Gateway listening on /, 60_000);
    const client = program(dir, 'api-gateway/client', 'client', ['--url', `https://localhost:${gatewayPort}/employee/3.14/employee`]);
    const exit = await client.waitForExit(60_000);
    const detail = [client, gateway, upstream].map((w) => `[${w.name}]\n${w.output()}`).join('\n');
    assert.equal(exit.code, 0, detail);
    assert.match(client.output(), /^200 \{"employees":\[/m, detail);
    await upstream.waitForLine(/^GET \/employee from /, 5_000);
  });

  it('mtls-files: installs, builds, and the server tells a SPIFFE client its certificate is valid', async () => {
    const dir = await copyInstallBuild('mtls-files');
    // The server's SVID files, as `spiffe api fetch x509 -write` writes them (the workspace's CLI).
    const svidDir = join(stage, 'server-svids');
    const fetch = await run(
      process.execPath,
      [join(REPO_ROOT, 'packages', 'cli', 'bin', 'spiffe.js'), 'api', 'fetch', 'x509', '-write', svidDir],
      {
        cwd: stage,
        env: { SPIFFE_ENDPOINT_SOCKET: socketOf('server') },
        timeoutMs: 60_000,
      },
    );
    assert.equal(fetch.code, 0, fetch.output);
    const [port] = await freePorts(1);
    const server = program(dir, 'mtls-files/server', 'server', [
      '--svid-dir',
      svidDir,
      '--authorize-id',
      IDENTITIES.client,
      '--port',
      String(port),
    ]);
    await server.waitForLine(/^Example mTLS app listening at /, 60_000);
    const request = program(dir, 'mtls-files/request', 'client', [
      '--spiffe',
      '--server-id',
      IDENTITIES.server,
      '--url',
      `https://localhost:${port}`,
    ]);
    const exit = await request.waitForExit(60_000);
    const detail = [request, server].map((w) => `[${w.name}]\n${w.output()}`).join('\n');
    assert.equal(exit.code, 0, detail);
    assert.ok(request.stdout().includes(`{"mTLSValid": true, "spiffeId": "${IDENTITIES.client}"}`), detail);
  });
});
