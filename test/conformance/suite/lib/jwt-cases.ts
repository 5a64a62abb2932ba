/**
 * What the JWT validation cases (`JV`, `JB`, `ID`) share: acceptance with a wait (a bundle just
 * served may still be on its way), the positive control before every negative, serving new
 * bundles only after the initial one is in use, and the check that validation stayed local
 * (catalogue §2.4: a harness that calls `ValidateJWTSVID` gets its results marked delegated;
 * ours must never).
 *
 * @module
 */
import type { ConformanceCase } from './cases.js';
import { TIMING, TD_ID, sleep, type ConformanceEnv } from './env.js';
import { signToken, validClaims, type JwtKey } from './jwt.js';

/**
 * Validates `token` until the harness accepts it (up to 5 s) and checks the reported ID.
 *
 * @example
 * ```ts
 * await expectJwtAccepted(env, token, `${TD_ID}/jv-1`, 'a valid ES256 token');
 * ```
 */
export async function expectJwtAccepted(env: ConformanceEnv, token: string, wantId: string, what: string): Promise<void> {
  const deadline = Date.now() + TIMING.updateMs;
  for (;;) {
    const v = await env.validateJwt(token);
    if (v.accepted) {
      if (v.spiffeId !== wantId)
        throw new Error(`${what}: accepted, but reported SPIFFE ID ${JSON.stringify(v.spiffeId)}, want ${JSON.stringify(wantId)}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${what}: the SDK rejected a valid token (waited ${TIMING.updateMs} ms): ${v.message}`);
    await sleep(TIMING.pollMs);
  }
}

/**
 * Fails if the harness accepts `token`.
 *
 * @example
 * ```ts
 * await expectJwtRejected(env, expired, 'an expired token');
 * ```
 */
export async function expectJwtRejected(env: ConformanceEnv, token: string, what: string): Promise<void> {
  const v = await env.validateJwt(token);
  if (v.accepted) throw new Error(`the SDK accepted ${what} (reported SPIFFE ID ${JSON.stringify(v.spiffeId)})`);
}

/** The SPIFFE ID of a case's positive-control token. */
function controlId(caseId: string): string {
  return `${TD_ID}/control/${caseId.toLowerCase().replace(/\//g, '-')}`;
}

/** A valid SPIFFE ID of the suite trust domain for a case's token. */
export function subId(caseId: string): string {
  return `${TD_ID}/${caseId.toLowerCase().replace(/\//g, '-')}`;
}

/**
 * A valid token signed by `key` (default: the default bundle key) must be accepted.
 *
 * @example
 * ```ts
 * await jwtPositiveControl(env, 'JV-3');
 * ```
 */
export async function jwtPositiveControl(
  env: ConformanceEnv,
  caseId: string,
  key: JwtKey = env.jwtKey,
  id = controlId(caseId),
): Promise<void> {
  try {
    await expectJwtAccepted(env, signToken(key, {}, validClaims(id)), id, 'positive control');
  } catch (err) {
    throw new Error(`positive control failed: ${(err as Error).message}`);
  }
}

/**
 * The positive control, then `token` must be rejected.
 *
 * @example
 * ```ts
 * await jwtNegative(env, 'JV-12', expired, 'a token that expired 5 minutes ago');
 * ```
 */
export async function jwtNegative(env: ConformanceEnv, caseId: string, token: string, what: string): Promise<void> {
  await jwtPositiveControl(env, caseId);
  await expectJwtRejected(env, token, what);
}

/**
 * Proves the initial bundle is in use (positive control), then serves `bundles`. The caller
 * proves the new bundles were applied with a token only they verify.
 *
 * @example
 * ```ts
 * await serveJwtBundles(env, 'JV-2/RS256', { [TD_ID]: jwks([env.jwtKey, rsa]) });
 * ```
 */
export async function serveJwtBundles(env: ConformanceEnv, caseId: string, bundles: Record<string, Buffer>): Promise<void> {
  await jwtPositiveControl(env, caseId);
  env.setJwtBundles(bundles);
}

/**
 * Wraps JWT validation cases: after each, the mock must have seen no `ValidateJWTSVID` call
 * (the harness validates locally, with the SDK).
 *
 * @example
 * ```ts
 * conformanceGroup('JV', localValidation(cases));
 * ```
 */
export function localValidation(cases: readonly ConformanceCase[]): ConformanceCase[] {
  return cases.map((c) => ({
    ...c,
    async run(env: ConformanceEnv) {
      await c.run(env);
      const delegated = env.agent.callsTo('ValidateJWTSVID').length;
      if (delegated > 0) throw new Error(`validation was delegated: the harness called ValidateJWTSVID ${delegated} time(s)`);
    },
  }));
}
