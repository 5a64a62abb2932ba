/**
 * Catalogue §3, `EP`: the Workload Endpoint (discovery, security header, retries; feature
 * `x509-server`). Every case starts the harness itself.
 */
import { status } from '@grpc/grpc-js';
import type { WorkloadApiMethod } from '@spiffe-node/test-kit/fake-agent';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { DEFAULT_ID, sleep, type ConformanceEnv } from './lib/env.js';
import { ExecError } from './lib/errors.js';
import { HarnessNotReady } from './lib/harness-process.js';
import { AUDIENCE, signToken, validClaims } from './lib/jwt.js';

const METHODS: readonly WorkloadApiMethod[] = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID', 'FetchJWTBundles', 'ValidateJWTSVID'];

/** EP-5/EP-6: three failed calls under a 1 s, 2 s, 4 s backoff take about 7 s. */
const RETRY_READINESS_MS = 30_000;
/** EP-5/EP-6: a mean interval below this between attempts is a tight loop (< 20 calls/s). */
const MIN_RETRY_INTERVAL_MS = 50;
/** EP-7: how long every call fails with InvalidArgument. */
const EP7_WINDOW_MS = 5000;
/** EP-8: when the socket appears after the harness started. */
const EP8_DELAY_MS = 2000;

function callSummary(env: ConformanceEnv): string {
  const calls = env.agent.calls;
  if (calls.length === 0) return 'no calls';
  const t0 = calls[0]?.receivedAt ?? 0;
  return calls
    .slice(0, 20)
    .map((c) => `${c.method}+${c.receivedAt - t0}ms`)
    .join(', ');
}

async function expectReadyAndDefault(env: ConformanceEnv, what: string, readyTimeoutMs?: number): Promise<void> {
  try {
    await env.startHarness(readyTimeoutMs === undefined ? {} : { readyTimeoutMs });
  } catch (err) {
    if (err instanceof HarnessNotReady)
      throw new Error(`${what}: the harness did not become ready: ${err.message}; calls: ${callSummary(env)}`);
    throw err;
  }
  await env.waitForSvid(DEFAULT_ID);
}

/** EP-4: an invalid endpoint whose address names the working mock; then the valid one. */
async function rejectsEndpoint(env: ConformanceEnv, bad: string): Promise<void> {
  try {
    await env.startHarness({ endpoint: bad });
    throw new Error(`the SDK accepted the invalid endpoint ${JSON.stringify(bad)} and became ready`);
  } catch (err) {
    if (!(err instanceof HarnessNotReady)) throw err;
  }
  if (env.agent.calls.length > 0) {
    throw new Error(
      `the SDK did not become ready with the invalid endpoint ${JSON.stringify(bad)}, but it called the Workload API: ${callSummary(env)}`,
    );
  }
  await expectReadyAndDefault(env, `positive control with the valid endpoint ${env.endpoint}`);
}

/** EP-5/EP-6: the first three FetchX509SVID calls fail with `code`. */
async function retriesWithBackoff(env: ConformanceEnv, code: status): Promise<void> {
  const failures = 3;
  env.agent.failNextCalls('FetchX509SVID', { code, details: `scripted ${status[code]}` }, failures);
  await expectReadyAndDefault(env, `after ${failures} FetchX509SVID calls failed with ${status[code]}`, RETRY_READINESS_MS);
  const times = env.agent
    .callsTo('FetchX509SVID')
    .slice(0, failures + 1)
    .map((c) => c.receivedAt);
  if (times.length < failures + 1) throw new ExecError(`expected ${failures + 1} FetchX509SVID calls, recorded ${times.length}`);
  const span = (times[times.length - 1] as number) - (times[0] as number);
  const mean = span / (times.length - 1);
  if (mean < MIN_RETRY_INTERVAL_MS) {
    throw new Error(
      `the SDK retried in a tight loop: ${times.length} calls in ${span} ms (mean ${mean.toFixed(0)} ms, want >= ${MIN_RETRY_INTERVAL_MS} ms); calls: ${callSummary(env)}`,
    );
  }
}

const cases: ConformanceCase[] = [
  {
    id: 'EP-1',
    level: 'MUST',
    title: 'Discovers the endpoint from SPIFFE_ENDPOINT_SOCKET when not explicitly configured',
    manualStart: true,
    async run(env) {
      await expectReadyAndDefault(env, `given only SPIFFE_ENDPOINT_SOCKET=${env.endpoint}`);
      if (env.agent.calls.length === 0) throw new Error('the harness became ready without calling the Workload API');
    },
  },
  {
    id: 'EP-2',
    level: 'MUST',
    title: 'Sends metadata workload.spiffe.io: true on every RPC',
    manualStart: true,
    async run(env) {
      let startError: Error | undefined;
      try {
        await env.startHarness();
      } catch (err) {
        if (!(err instanceof HarnessNotReady)) throw err;
        startError = err;
      }
      if (startError === undefined) {
        await env.waitForSvid(DEFAULT_ID);
        // Exercise the JWT bundle path (validation) and the JWT fetch path; their outcome is
        // not what this case asserts.
        await env.validateJwt(signToken(env.jwtKey, {}, validClaims(DEFAULT_ID))).catch(() => undefined);
        await env.fetchJwt([AUDIENCE]).catch(() => undefined);
      }
      const calls = env.agent.calls;
      const missing = calls.filter((c) => c.metadata['workload.spiffe.io']?.[0] !== 'true').map((c) => c.method);
      if (missing.length > 0) {
        throw new Error(`${missing.length} of ${calls.length} Workload API calls lacked workload.spiffe.io: true: ${missing.join(', ')}`);
      }
      if (startError !== undefined)
        throw new ExecError(`the harness did not become ready although every call carried the header: ${startError.message}`);
      for (const method of ['FetchX509SVID', 'FetchJWTBundles', 'FetchJWTSVID'] as const) {
        if (env.agent.callsTo(method).length === 0) throw new Error(`no ${method} call was recorded: ${callSummary(env)}`);
      }
    },
  },
  {
    id: 'EP-3',
    level: 'SHOULD',
    title: 'Supports a tcp://127.0.0.1:<port> endpoint',
    env: { tcp: true },
    manualStart: true,
    async run(env) {
      if (!env.endpoint.startsWith('tcp://127.0.0.1:')) throw new ExecError(`fixture: endpoint ${env.endpoint}`);
      await expectReadyAndDefault(env, `with SPIFFE_ENDPOINT_SOCKET=${env.endpoint}`);
    },
  },
  {
    id: 'EP-4/unix-authority',
    level: 'OPT',
    title: 'Rejects an endpoint URI with an authority (unix://host/abs/path)',
    manualStart: true,
    async run(env) {
      await rejectsEndpoint(env, `unix://localhost${env.socketPath}`);
    },
  },
  {
    id: 'EP-4/tcp-path',
    level: 'OPT',
    title: 'Rejects an endpoint URI with a path on tcp://',
    env: { tcp: true },
    manualStart: true,
    async run(env) {
      await rejectsEndpoint(env, `${env.endpoint}/foo`);
    },
  },
  {
    id: 'EP-5',
    level: 'SHOULD',
    title: 'Retries with backoff after Unavailable',
    manualStart: true,
    async run(env) {
      await retriesWithBackoff(env, status.UNAVAILABLE);
    },
  },
  {
    id: 'EP-6',
    level: 'SHOULD',
    title: 'Retries with backoff after PermissionDenied',
    manualStart: true,
    async run(env) {
      await retriesWithBackoff(env, status.PERMISSION_DENIED);
    },
  },
  {
    id: 'EP-7',
    level: 'SHOULD',
    title: 'Does not retry after InvalidArgument',
    manualStart: true,
    async run(env) {
      for (const m of METHODS) env.agent.failAllCalls(m, { code: status.INVALID_ARGUMENT, details: 'scripted InvalidArgument' });
      try {
        await env.startHarness({ readyTimeoutMs: EP7_WINDOW_MS });
        throw new Error('the harness reported READY although every Workload API call failed with InvalidArgument');
      } catch (err) {
        if (!(err instanceof HarnessNotReady)) throw err;
      }
      const calls = env.agent.calls;
      if (calls.length === 0) throw new ExecError(`the SDK made no Workload API call within ${EP7_WINDOW_MS} ms`);
      const over = METHODS.map((m) => [m, env.agent.callsTo(m).length] as const).filter(([, n]) => n > 2);
      if (over.length > 0) {
        throw new Error(
          `the SDK retried after InvalidArgument (want <= 2 calls per method): ${over.map(([m, n]) => `${m}: ${n}`).join(', ')}; calls: ${callSummary(env)}`,
        );
      }
      // Positive control: the same SDK against the same mock once the errors are cleared.
      for (const m of METHODS) env.agent.failAllCalls(m, undefined);
      await expectReadyAndDefault(env, 'positive control once the errors were cleared');
    },
  },
  {
    id: 'EP-8',
    level: 'OPT',
    title: 'Retries when the endpoint is not reachable yet',
    env: { deferAgent: true },
    manualStart: true,
    async run(env) {
      const started = env.startHarness({ readyTimeoutMs: RETRY_READINESS_MS });
      started.catch(() => undefined);
      const early = await Promise.race([
        started.then(
          () => 'ready',
          () => 'exited',
        ),
        sleep(EP8_DELAY_MS).then(() => 'waiting'),
      ]);
      if (early !== 'waiting') throw new Error(`the harness ${early === 'ready' ? 'became ready' : 'exited'} before the endpoint existed`);
      await env.startAgent();
      try {
        await started;
      } catch (err) {
        throw new Error(`the SDK did not become ready after the endpoint appeared ${EP8_DELAY_MS} ms late: ${(err as Error).message}`);
      }
      await env.waitForSvid(DEFAULT_ID);
    },
  },
];

conformanceGroup('EP', cases, { concurrency: 5 });
