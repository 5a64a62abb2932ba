/**
 * The seed scenarios and the gRPC greeter's, each run with real processes: the success flow and
 * the failure cases that the apps' READMEs document. The demo prints them; the end-to-end tests
 * assert on them.
 */
import { join } from 'node:path';
import { startWorkload, type Workload } from './process.js';
import type { Identity, WorkloadEnv } from './agents.js';

/** One expectation checked after a scenario ran. */
export interface Check {
  what: string;
  ok: boolean;
}

export interface ScenarioResult {
  name: string;
  checks: Check[];
  /** Captured output per process, for the demo and for failure messages. */
  outputs: Array<{ name: string; output: string }>;
  ok: boolean;
}

/** Where the built apps are, and how to run a process with an identity. */
export interface ScenarioContext {
  /** A root from which the workload users can run the built apps (see runnableRootFor). */
  root: string;
  /** Spawn options (user / environment) that give a process the identity asked for. */
  as: (identity: Identity) => WorkloadEnv;
  /** Extra environment for every app (ports, timeouts). */
  env?: Record<string, string>;
  onLine?: (name: string, line: string) => void;
}

export const SERVER_ID = 'spiffe://example.org/server';
export const CLIENT_ID = 'spiffe://example.org/client';

function app(ctx: ScenarioContext, appName: string, role: string, identity: Identity, args: string[] = []): Workload {
  const how = ctx.as(identity);
  const name = `${appName}/${role}`;
  return startWorkload({
    name,
    command: process.execPath,
    args: [join(ctx.root, 'apps', appName, 'dist', `${role}.js`), ...args],
    user: how.user,
    env: { ...ctx.env, ...how.env },
    cwd: join(ctx.root, 'apps', appName),
    onLine: ctx.onLine ? (line) => ctx.onLine!(name, line) : undefined,
  });
}

/** A scenario's checks and each process's output, for a failure message. */
export function describeResult(r: ScenarioResult): string {
  const checks = r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`).join('\n');
  const outputs = r.outputs.map((o) => `  [${o.name}]\n${o.output.replace(/^/gm, '    ')}`).join('\n');
  return `${r.name}\n${checks}\n${outputs}`;
}

/**
 * Collects results; a check never throws, so the demo can show every outcome. Also used by the
 * multi-host scenarios (test/multihost).
 */
export class Recorder {
  readonly checks: Check[] = [];
  readonly workloads: Workload[] = [];

  check(what: string, ok: boolean): void {
    this.checks.push({ what, ok });
  }

  async line(w: Workload, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<boolean> {
    const ok = await w.waitForLine(pattern, timeoutMs).then(
      () => true,
      () => false,
    );
    this.check(what, ok);
    return ok;
  }

  track(w: Workload): Workload {
    this.workloads.push(w);
    return w;
  }

  async finish(name: string): Promise<ScenarioResult> {
    await Promise.all(this.workloads.map((w) => w.stop()));
    return {
      name,
      checks: this.checks,
      outputs: this.workloads.map((w) => ({ name: w.name, output: w.output() })),
      ok: this.checks.length > 0 && this.checks.every((c) => c.ok),
    };
  }
}

/** Waits for a client to exit and checks that it succeeded or failed as expected. */
export async function runClient(r: Recorder, client: Workload, expectSuccess: boolean): Promise<void> {
  const info = await client.waitForExit(60_000).catch(() => ({ code: null, signal: null }));
  r.check(
    expectSuccess ? `${client.name} exits 0` : `${client.name} exits non-zero`,
    expectSuccess ? info.code === 0 : info.code !== 0 && info.code !== null,
  );
}

/**
 * mtls-echo (go-spiffe's `spiffe-tls` example): "Hello server" / "Hello client" over SPIFFE mTLS.
 */
export async function mtlsEchoSuccess(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = r.track(app(ctx, 'mtls-echo', 'server', 'server'));
  if (await r.line(server, /^Server listening/, 'server starts with its SVID')) {
    const client = r.track(app(ctx, 'mtls-echo', 'client', 'client'));
    await runClient(r, client, true);
    r.check('client prints "Server says: Hello client"', client.stdout().includes('Server says: Hello client'));
    await r.line(server, /^Client says: Hello server$/, 'server logs "Client says: Hello server"', 5_000);
  }
  return r.finish('mtls-echo: client and server authenticate each other');
}

/** mtls-echo run with the server's identity as the client: the server rejects it. */
export async function mtlsEchoWrongId(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = r.track(app(ctx, 'mtls-echo', 'server', 'server'));
  if (await r.line(server, /^Server listening/, 'server starts with its SVID')) {
    const client = r.track(app(ctx, 'mtls-echo', 'client', 'server'));
    await runClient(r, client, false);
    r.check('client reports "Unable to read server response"', /Unable to read server response/.test(client.output()));
    await r.line(
      server,
      new RegExp(`^Error reading incoming data: unexpected ID "${SERVER_ID}"$`),
      `server logs unexpected ID "${SERVER_ID}"`,
      5_000,
    );
    r.check('server never logs a message from the rejected client', !/Client says/.test(server.output()));
  }
  return r.finish('mtls-echo: a client with the wrong identity is rejected');
}

/** https-mtls (go-spiffe's `spiffe-http` example): "Request received" / "Success!!!". */
export async function httpsMtlsSuccess(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = r.track(app(ctx, 'https-mtls', 'server', 'server'));
  if (await r.line(server, /^Server listening/, 'server starts with its SVID')) {
    const client = r.track(app(ctx, 'https-mtls', 'client', 'client'));
    await runClient(r, client, true);
    r.check('client prints "Success!!!"', client.stdout().includes('Success!!!'));
    await r.line(server, /^Request received/, 'server logs "Request received"', 5_000);
  }
  return r.finish('https-mtls: HTTPS over SPIFFE mTLS');
}

/** https-mtls with the wrong client identity. */
export async function httpsMtlsWrongId(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = r.track(app(ctx, 'https-mtls', 'server', 'server'));
  if (await r.line(server, /^Server listening/, 'server starts with its SVID')) {
    const client = r.track(app(ctx, 'https-mtls', 'client', 'server'));
    await runClient(r, client, false);
    r.check('client reports "Error connecting to"', /Error connecting to "https:\/\/localhost:\d+\/"/.test(client.output()));
    await r.line(
      server,
      new RegExp(`^TLS handshake error from [0-9a-f.:]+:\\d+: unexpected ID "${SERVER_ID}"$`),
      `server logs TLS handshake error ... unexpected ID "${SERVER_ID}"`,
      5_000,
    );
    r.check('server never handles the request', !/Request received/.test(server.output()));
  }
  return r.finish('https-mtls: a client with the wrong identity is rejected');
}

async function startJwtBackend(r: Recorder, ctx: ScenarioContext): Promise<{ server: Workload; proxy: Workload } | undefined> {
  const server = r.track(app(ctx, 'jwt-proxy', 'server', 'server'));
  const proxy = r.track(app(ctx, 'jwt-proxy', 'proxy', 'server'));
  const up = (await r.line(server, /^Server listening/, 'server starts')) && (await r.line(proxy, /^Proxy listening/, 'proxy starts'));
  return up ? { server, proxy } : undefined;
}

/**
 * jwt-proxy (go-spiffe's `spiffe-jwt-using-proxy` example): client → proxy → server with a
 * JWT-SVID.
 */
export async function jwtProxySuccess(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const backend = await startJwtBackend(r, ctx);
  if (backend) {
    const client = r.track(app(ctx, 'jwt-proxy', 'client', 'client'));
    await runClient(r, client, true);
    r.check('client prints "Success!!!"', client.stdout().includes('Success!!!'));
    await r.line(backend.proxy, /^GET \/$/, 'proxy logs "GET /"', 5_000);
    await r.line(backend.server, /^Request received/, 'server logs "Request received"', 5_000);
  }
  return r.finish('jwt-proxy: JWT-SVID through a TLS reverse proxy');
}

/** jwt-proxy with a token for another audience: 401. */
export async function jwtProxyWrongAudience(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const backend = await startJwtBackend(r, ctx);
  if (backend) {
    const other = 'spiffe://example.org/some-other-server';
    const client = r.track(app(ctx, 'jwt-proxy', 'client', 'client', [other]));
    await runClient(r, client, false);
    r.check('client prints "401 Unauthorized"', client.stdout().includes('401 Unauthorized'));
    await r.line(
      backend.server,
      /^Invalid token: jwtsvid: expected audience in \["spiffe:\/\/example\.org\/server"\] \(audience=\["spiffe:\/\/example\.org\/some-other-server"\]\)$/,
      'server logs the expected and the actual audience',
      5_000,
    );
  }
  return r.finish('jwt-proxy: a token for another audience gets 401');
}

async function startGreeter(r: Recorder, ctx: ScenarioContext): Promise<Workload | undefined> {
  const server = r.track(app(ctx, 'grpc-greeter', 'server', 'server'));
  return (await r.line(server, /^Server listening/, 'server starts with its SVID')) ? server : undefined;
}

/** The first refusal of a greeter client: SayHello fails with `status`, and the server never greets. */
async function greeterRefused(
  r: Recorder,
  server: Workload,
  client: Workload,
  status: string,
  serverLog?: { pattern: RegExp; what: string },
): Promise<void> {
  await runClient(r, client, false);
  r.check(`client reports "SayHello failed: ${status}"`, client.output().includes(`SayHello failed: ${status}`));
  if (serverLog) await r.line(server, serverLog.pattern, serverLog.what, 5_000);
  r.check('server never greets the refused client', !/^SayHello(Stream)? from/m.test(server.output()));
}

/** grpc-greeter: unary and server-streaming gRPC over SPIFFE mTLS, with a JWT-SVID in the metadata. */
export async function grpcGreeterSuccess(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = await startGreeter(r, ctx);
  if (server) {
    const client = r.track(app(ctx, 'grpc-greeter', 'client', 'client'));
    await runClient(r, client, true);
    const ids = `from ${SERVER_ID} to ${CLIENT_ID} (JWT-SVID ${CLIENT_ID})`;
    r.check(`client prints SayHello: "Hello world" ${ids}`, client.stdout().includes(`SayHello: "Hello world" ${ids}`));
    const streamed = [1, 2, 3].every((i) => client.stdout().includes(`SayHelloStream: "Hello world (${i} of 3)" ${ids}`));
    r.check('client prints the three SayHelloStream greetings', streamed);
    await r.line(
      server,
      new RegExp(`^SayHello from ${CLIENT_ID} \\(JWT-SVID ${CLIENT_ID}\\)$`),
      'server logs SayHello from the client',
      5_000,
    );
    await r.line(server, /^SayHelloStream from .*: 3 greetings$/, 'server logs SayHelloStream: 3 greetings', 5_000);
  }
  return r.finish('grpc-greeter: gRPC over SPIFFE mTLS with a JWT-SVID per call');
}

/** grpc-greeter run with the server's identity as the client: refused at the TLS handshake. */
export async function grpcGreeterWrongId(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = await startGreeter(r, ctx);
  if (server) {
    const client = r.track(app(ctx, 'grpc-greeter', 'client', 'server'));
    await greeterRefused(r, server, client, 'UNAVAILABLE', {
      what: `server logs TLS handshake error ... unexpected ID "${SERVER_ID}"`,
      pattern: new RegExp(`^TLS handshake error from [0-9a-f.:]+:\\d+: unexpected ID "${SERVER_ID}"$`),
    });
  }
  return r.finish('grpc-greeter: a client with the wrong identity is refused');
}

/** grpc-greeter with a JWT-SVID for another audience: UNAUTHENTICATED. */
export async function grpcGreeterWrongAudience(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = await startGreeter(r, ctx);
  if (server) {
    const client = r.track(app(ctx, 'grpc-greeter', 'client', 'client', ['spiffe://example.org/some-other-server']));
    await greeterRefused(r, server, client, 'UNAUTHENTICATED: invalid JWT-SVID', {
      what: 'server logs the expected and the actual audience',
      pattern:
        /^SayHello refused: invalid JWT-SVID from spiffe:\/\/example\.org\/client: jwtsvid: expected audience in \["spiffe:\/\/example\.org\/server"\] \(audience=\["spiffe:\/\/example\.org\/some-other-server"\]\)$/,
    });
  }
  return r.finish('grpc-greeter: a JWT-SVID for another audience is refused');
}

/** grpc-greeter with no JWT-SVID in the metadata: UNAUTHENTICATED. */
export async function grpcGreeterNoToken(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r = new Recorder();
  const server = await startGreeter(r, ctx);
  if (server) {
    const client = r.track(app(ctx, 'grpc-greeter', 'client', 'client', ['--no-token']));
    await greeterRefused(r, server, client, 'UNAUTHENTICATED: missing JWT-SVID', {
      what: 'server logs that the client sent no bearer token',
      pattern: /^SayHello refused: spiffe:\/\/example\.org\/client sent no "authorization: Bearer <JWT-SVID>" metadata$/,
    });
  }
  return r.finish('grpc-greeter: a call without a JWT-SVID is refused');
}

/** Every scenario of the demo, in order. */
export const DEMO_SCENARIOS = [
  mtlsEchoSuccess,
  mtlsEchoWrongId,
  httpsMtlsSuccess,
  httpsMtlsWrongId,
  jwtProxySuccess,
  jwtProxyWrongAudience,
  grpcGreeterSuccess,
  grpcGreeterWrongId,
  grpcGreeterWrongAudience,
  grpcGreeterNoToken,
];
