/**
 * Catalogue §6.3, `JF`: fetching JWT-SVIDs through the SDK (feature `jwt-fetch`). The mock
 * serves pre-minted tokens, so "the server's token" is known, and records every request.
 */
import { status } from '@grpc/grpc-js';
import type { JwtSvidRequestMessage } from '@spiffe-node/test-kit/fake-agent';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import type { ControlResponse } from './lib/control-client.js';
import { DEFAULT_ID, TD_ID, type ConformanceEnv } from './lib/env.js';
import { AUDIENCE, signToken, validClaims } from './lib/jwt.js';

function issue(env: ConformanceEnv, sub: string, audience: string[]): string {
  return signToken(env.jwtKey, {}, validClaims(sub, audience));
}

/** Fetches through the harness and returns the answer with the FetchJWTSVID requests it caused. */
async function fetchRecorded(
  env: ConformanceEnv,
  audience: string[],
  spiffeId: string,
): Promise<{ res: ControlResponse; requests: JwtSvidRequestMessage[] }> {
  const before = env.agent.callsTo('FetchJWTSVID').length;
  const res = await env.fetchJwt(audience, spiffeId);
  const requests = env.agent
    .callsTo('FetchJWTSVID')
    .slice(before)
    .map((c) => c.request as JwtSvidRequestMessage);
  return { res, requests };
}

function requireOk(res: ControlResponse): void {
  if (res.status !== 'ok') throw new Error(`the fetch did not succeed: status ${JSON.stringify(res.status)}: ${res.message ?? ''}`);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}

function checkAudience(requests: readonly JwtSvidRequestMessage[], want: readonly string[]): void {
  if (requests.length === 0) throw new Error('the SDK returned a token without calling FetchJWTSVID');
  for (const r of requests) {
    if (!sameSet(r.audience, want))
      throw new Error(`FetchJWTSVID carried audience ${JSON.stringify(r.audience)}, want ${JSON.stringify(want)}`);
  }
}

function hasToken(res: ControlResponse, token: string): boolean {
  return (res.svids ?? []).some((s) => s.token === token);
}

async function audienceCase(env: ConformanceEnv, audience: string[]): Promise<void> {
  const token = issue(env, DEFAULT_ID, audience);
  env.serveJwtSvids([{ id: DEFAULT_ID, token }]);
  const { res, requests } = await fetchRecorded(env, audience, '');
  requireOk(res);
  checkAudience(requests, audience);
  if (!hasToken(res, token)) throw new Error(`the SDK did not return the token FetchJWTSVID served (got ${res.svids?.length ?? 0} SVIDs)`);
  const entry = res.svids?.find((s) => s.token === token);
  if (entry?.spiffe_id !== DEFAULT_ID) throw new Error(`the SVID was reported as ${JSON.stringify(entry?.spiffe_id)}, want ${DEFAULT_ID}`);
}

const cases: ConformanceCase[] = [
  {
    id: 'JF-1',
    level: 'MUST',
    title: "Calls FetchJWTSVID with the requested audience and returns the server's token",
    run: (env) => audienceCase(env, [AUDIENCE]),
  },
  {
    id: 'JF-2',
    level: 'MUST',
    title: 'Passes several audiences through unchanged',
    run: (env) => audienceCase(env, [AUDIENCE, `${TD_ID}/jf-2-backend`, 'jf-2-other']),
  },
  {
    id: 'JF-3',
    level: 'OPT',
    title: 'Passes spiffe_id through when one is requested',
    async run(env) {
      const other = `${TD_ID}/jf-3-other`;
      const def = issue(env, DEFAULT_ID, [AUDIENCE]);
      const alt = issue(env, other, [AUDIENCE]);
      env.serveJwtSvids([
        { id: DEFAULT_ID, token: def },
        { id: other, token: alt },
      ]);
      const { res, requests } = await fetchRecorded(env, [AUDIENCE], other);
      requireOk(res);
      checkAudience(requests, [AUDIENCE]);
      for (const r of requests) {
        if (r.spiffe_id !== other) throw new Error(`FetchJWTSVID carried spiffe_id ${JSON.stringify(r.spiffe_id)}, want ${other}`);
      }
      if (!hasToken(res, alt)) throw new Error(`the SDK did not return the JWT-SVID of the requested ${other}`);
      if (hasToken(res, def)) throw new Error(`the SDK returned the JWT-SVID of ${DEFAULT_ID} although ${other} was requested`);
    },
  },
  {
    id: 'JF-4',
    level: 'OPT',
    title: 'Reports PermissionDenied as an error instead of returning a stale token',
    async run(env) {
      const token = issue(env, DEFAULT_ID, [AUDIENCE]);
      env.serveJwtSvids([{ id: DEFAULT_ID, token }]);
      const first = await env.fetchJwt([AUDIENCE]);
      requireOk(first);
      if (!hasToken(first, token)) throw new Error('positive control: the SDK did not return the served token');
      env.agent.failAllCalls('FetchJWTSVID', { code: status.PERMISSION_DENIED, details: 'no identity issued' });
      const { res, requests } = await fetchRecorded(env, [AUDIENCE], '');
      if (res.status === 'error' || res.status === 'rejected') return;
      const stale = hasToken(res, token) ? ' (the previously fetched token)' : '';
      if (requests.length === 0) {
        throw new Error(
          `the Workload API now denies JWT-SVIDs, but the SDK returned ${res.svids?.length ?? 0} cached token(s)${stale} without calling FetchJWTSVID`,
        );
      }
      throw new Error(
        `FetchJWTSVID answered PermissionDenied, but the harness reported ${JSON.stringify(res.status)} with ${res.svids?.length ?? 0} token(s)${stale}`,
      );
    },
  },
];

conformanceGroup('JF', cases, { concurrency: 4 });
