/**
 * Self-checks of the harness against its contract (v1): not catalogue cases, but what the
 * public suite relies on to judge the SDK at all: the readiness lines, the response envelope
 * (`error` is not `rejected`), `GET /v1/info`, start-up failures, and a prompt exit on SIGTERM.
 */
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { DEFAULT_ID, type ConformanceEnv } from './lib/env.js';
import { HarnessNotReady } from './lib/harness-process.js';

async function rawPost(
  env: ConformanceEnv,
  path: string,
  body: string,
): Promise<{ httpStatus: number; json: Record<string, unknown>; contentType: string }> {
  const res = await fetch(`http://127.0.0.1:${env.control.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return {
    httpStatus: res.status,
    json: (await res.json()) as Record<string, unknown>,
    contentType: res.headers.get('content-type') ?? '',
  };
}

function expectError(what: string, res: { httpStatus: number; json: Record<string, unknown>; contentType: string }): void {
  if (res.httpStatus !== 500 || res.json['status'] !== 'error') {
    throw new Error(`${what}: want 500 {"status":"error"}, got ${res.httpStatus} ${JSON.stringify(res.json)}`);
  }
  if (!res.contentType.startsWith('application/json')) throw new Error(`${what}: Content-Type ${res.contentType}`);
  if (typeof res.json['message'] !== 'string' || res.json['message'] === '') throw new Error(`${what}: no message`);
}

const cases: ConformanceCase[] = [
  {
    id: 'HARNESS/readiness',
    level: 'MUST',
    title: 'prints SPIFFE_HARNESS_VERSION=1 and both ports, READY last, and then serves',
    async run(env) {
      const lines = env.harness.stdoutLines;
      for (const prefix of ['SPIFFE_HARNESS_VERSION=1', 'SPIFFE_X509_PORT=', 'SPIFFE_CONTROL_PORT=']) {
        if (!lines.some((l) => l.startsWith(prefix))) throw new Error(`no ${prefix} line in ${JSON.stringify(lines)}`);
      }
      if (lines[lines.length - 1] !== 'READY') throw new Error(`READY is not the last line: ${JSON.stringify(lines)}`);
      await env.waitForSvid(DEFAULT_ID);
    },
  },
  {
    id: 'HARNESS/info',
    level: 'MUST',
    title: 'GET /v1/info names the SDK, its version and the language',
    async run(env) {
      const info = await env.control.info();
      const body = info.body as Record<string, unknown>;
      if (info.httpStatus !== 200 || body['sdk'] !== '@spiffe-node/spiffe' || body['language'] !== 'typescript') {
        throw new Error(`unexpected /v1/info answer ${info.httpStatus} ${JSON.stringify(body)}`);
      }
      if (typeof body['sdk_version'] !== 'string' || !/^\d+\.\d+\.\d+/.test(body['sdk_version'])) {
        throw new Error(`sdk_version ${JSON.stringify(body['sdk_version'])} is not a version`);
      }
      if (!info.contentType?.startsWith('application/json')) throw new Error(`Content-Type ${info.contentType}`);
    },
  },
  {
    id: 'HARNESS/bad-requests',
    level: 'MUST',
    title: 'answers requests it cannot act on with 500 error, never with rejected',
    async run(env) {
      expectError('a body that is not JSON', await rawPost(env, '/v1/jwt/validate', '{"token":'));
      expectError('validate without audience', await rawPost(env, '/v1/jwt/validate', JSON.stringify({ token: 'a.b.c' })));
      expectError('fetch with an empty audience list', await rawPost(env, '/v1/jwt/fetch', JSON.stringify({ audience: [] })));
      expectError('dial with a malformed address', await rawPost(env, '/v1/x509/dial', JSON.stringify({ address: 'nowhere' })));
    },
  },
  {
    id: 'HARNESS/dial-unreachable',
    level: 'MUST',
    title: 'a dial that cannot connect is an error, not a rejection',
    async run(env) {
      // A port that was just free: nothing listens there.
      const res = await rawPost(env, '/v1/x509/dial', JSON.stringify({ address: '127.0.0.1:1' }));
      expectError('dial to a closed port', res);
    },
  },
  {
    id: 'HARNESS/bad-endpoint-exits',
    level: 'MUST',
    title: 'with an unusable SPIFFE_ENDPOINT_SOCKET it explains why on stderr and exits without READY',
    manualStart: true,
    async run(env) {
      try {
        await env.startHarness({ endpoint: 'not-an-endpoint' });
        throw new Error('the harness became ready with SPIFFE_ENDPOINT_SOCKET=not-an-endpoint');
      } catch (err) {
        if (!(err instanceof HarnessNotReady)) throw err;
        if (err.reason !== 'exited') throw new Error(`the harness did not exit: ${err.message}`);
      }
      if (!/SPIFFE_ENDPOINT_SOCKET/.test(env.harnessStderrTail())) {
        throw new Error(`stderr does not say what is wrong: ${env.harnessStderrTail()}`);
      }
      if (env.agent.calls.length > 0) throw new Error('the harness called the Workload API anyway');
    },
  },
  {
    id: 'HARNESS/sigterm',
    level: 'MUST',
    title: 'exits promptly on SIGTERM',
    async run(env) {
      const { exitMs, killed } = await env.harness.stop();
      if (killed) throw new Error('the harness ignored SIGTERM for 5 s and had to be killed');
      if (exitMs > 2000) throw new Error(`the harness took ${exitMs} ms to exit after SIGTERM`);
      if (env.harness.describeExit() !== 'code 0') throw new Error(`the harness ended with ${env.harness.describeExit()}`);
    },
  },
];

conformanceGroup('HARNESS', cases, { concurrency: 3 });
