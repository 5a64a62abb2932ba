/**
 * Catalogue §6.2, `JB`: JWT bundles (rotation, key selection, JWK handling; feature
 * `jwt-validate`). New bundles are proved applied by a barrier token only they verify.
 */
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, type ConformanceEnv } from './lib/env.js';
import { jwks, newJwtKey, signToken, validClaims, type JwtKey } from './lib/jwt.js';
import { expectJwtAccepted, expectJwtRejected, localValidation } from './lib/jwt-cases.js';

const FOREIGN_TD_ID = 'spiffe://foreign.example.org';

function token(key: JwtKey, sub: string): string {
  return signToken(key, {}, validClaims(sub));
}

/** The token of the initial bundle's key is accepted (the SDK uses the served bundle). */
async function initialControl(env: ConformanceEnv, sub: string): Promise<void> {
  await expectJwtAccepted(env, token(env.jwtKey, sub), sub, 'positive control: a token signed by the initial bundle key').catch(
    (err: Error) => {
      throw new Error(`positive control failed: ${err.message}`);
    },
  );
}

/**
 * JB-5/missing-use (OPT; the catalogue calls the rule's reach "unclear" for Workload API JWT
 * bundles): SPIRE's agent serves `FetchJWTBundles` as a standard JWK Set whose keys carry no
 * `use` at all (its bundle marshalling with the standard-JWKS option drops it), so an SDK that
 * ignored keys without `use` could validate no JWT-SVID from a real agent. `JwtBundle.parse`
 * therefore treats a key without `use` as a JWT authority, on purpose.
 */
const MISSING_USE_DEVIATION =
  'keys without "use" stay JWT authorities: SPIRE\'s agent serves Workload API JWT bundles without "use" (JwtBundle.parse, by design)';

/** JB-5: a key whose JWK `use` is `use` (`null`: no `use`) is ignored; the rest keep working. */
function ignoresUse(id: string, use: string | null, what: string): ConformanceCase {
  return {
    id,
    level: use === null ? 'OPT' : 'MUST',
    ...(use === null ? { deviation: MISSING_USE_DEVIATION } : {}),
    title: `Ignores JWKs whose use is missing or is not jwt-svid (use ${use === null ? 'missing' : JSON.stringify(use)})`,
    async run(env) {
      const sub = `${TD_ID}/jb-5`;
      await initialControl(env, sub);
      const bad: JwtKey = { ...newJwtKey('ES256'), use };
      const barrier = newJwtKey('ES256');
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, bad, barrier]) });
      await expectJwtAccepted(env, token(barrier, sub), sub, 'other keys must keep working: a token of a jwt-svid key of the same bundle');
      await expectJwtRejected(env, token(bad, sub), what);
    },
  };
}

const cases: ConformanceCase[] = [
  {
    id: 'JB-1',
    level: 'MUST',
    title: 'Picks up a key added by a streamed bundle update',
    async run(env) {
      const sub = `${TD_ID}/jb-1`;
      await initialControl(env, sub);
      const k1 = newJwtKey('ES256');
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, k1]) });
      await expectJwtAccepted(env, token(k1, sub), sub, 'a token signed by the key added in a bundle update');
    },
  },
  {
    id: 'JB-2',
    level: 'MUST',
    title: 'Stops accepting a key removed by a streamed bundle update',
    async run(env) {
      const sub = `${TD_ID}/jb-2`;
      const k1 = newJwtKey('ES256');
      const k2 = newJwtKey('ES256');
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, k1]) });
      await expectJwtAccepted(env, token(k1, sub), sub, 'positive control: a token of the added key');
      // Remove k1; k2 in the same update is the barrier.
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, k2]) });
      await expectJwtAccepted(env, token(k2, sub), sub, 'barrier: a token of the key added together with the removal');
      await expectJwtRejected(env, token(k1, sub), 'a token signed by a key removed from the bundle');
    },
  },
  {
    id: 'JB-3',
    level: 'SHOULD',
    title: 'Stops accepting tokens from a trust domain whose bundle was removed',
    async run(env) {
      const foreign = newJwtKey('ES256');
      const barrier = newJwtKey('ES256');
      const foreignSub = `${FOREIGN_TD_ID}/jb-3`;
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey]), [FOREIGN_TD_ID]: jwks([foreign]) });
      await expectJwtAccepted(env, token(foreign, foreignSub), foreignSub, 'positive control: a token of the federated trust domain');
      // Drop the foreign bundle; a new own key is the barrier.
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, barrier]) });
      await expectJwtAccepted(
        env,
        token(barrier, `${TD_ID}/jb-3`),
        `${TD_ID}/jb-3`,
        'barrier: a token of the key added together with the bundle removal',
      );
      await expectJwtRejected(env, token(foreign, foreignSub), 'a token of a trust domain whose bundle was removed');
    },
  },
  {
    id: 'JB-4',
    level: 'MUST',
    title: 'Selects the verification key by kid among several keys',
    async run(env) {
      const sub = `${TD_ID}/jb-4`;
      const keys = [newJwtKey('ES256'), newJwtKey('ES256'), newJwtKey('ES256')] as const;
      env.setJwtBundles({ [TD_ID]: jwks(keys) });
      await expectJwtAccepted(env, token(keys[2], sub), sub, 'barrier: a token of the third bundle key');
      const v = await env.validateJwt(token(keys[1], sub));
      if (!v.accepted)
        throw new Error(`the SDK rejected a token signed by the second of three bundle keys (kid ${keys[1].kid}): ${v.message}`);
    },
  },
  ignoresUse('JB-5/x509-svid-use', 'x509-svid', 'a token signed by a JWK with use "x509-svid"'),
  ignoresUse('JB-5/missing-use', null, 'a token signed by a JWK without use'),
  {
    id: 'JB-6',
    level: 'MUST',
    title: 'Ignores JWKs with an unknown kty without discarding the rest of the bundle',
    async run(env) {
      const sub = `${TD_ID}/jb-6`;
      await initialControl(env, sub);
      const kNew = newJwtKey('ES256');
      // The unknown entry sits before the new key: a parser that stops at it loses the new key.
      const unknown = { kty: 'SCTS-UNKNOWN', use: 'jwt-svid', kid: 'jb-6-unknown-kty', k: 'AQAB' };
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey, kNew], [unknown], 1) });
      await expectJwtAccepted(env, token(kNew, sub), sub, 'a bundle with an unknown-kty JWK: a token of a valid key listed after it');
      const v = await env.validateJwt(token(env.jwtKey, sub));
      if (!v.accepted)
        throw new Error(`a bundle with an unknown-kty JWK: a token of a valid key listed before it was rejected: ${v.message}`);
    },
  },
  {
    id: 'JB-7',
    level: 'MUST',
    title: 'Treats a bundle with empty keys as "trust nothing" for that trust domain',
    async run(env) {
      const sub = `${TD_ID}/jb-7`;
      await initialControl(env, sub);
      // The own bundle becomes empty; a foreign trust domain's bundle in the same update is the barrier.
      const foreign = newJwtKey('ES256');
      const foreignSub = `${FOREIGN_TD_ID}/jb-7`;
      env.setJwtBundles({ [TD_ID]: jwks([]), [FOREIGN_TD_ID]: jwks([foreign]) });
      await expectJwtAccepted(env, token(foreign, foreignSub), foreignSub, 'barrier: a token of the trust domain added in the same update');
      await expectJwtRejected(env, token(env.jwtKey, sub), 'a token of a trust domain whose bundle has an empty "keys" array');
    },
  },
  {
    id: 'JB-8',
    level: 'MUST',
    title: "Accepts a token from a federated trust domain using that trust domain's bundle",
    async run(env) {
      const foreign = newJwtKey('ES256');
      const foreignSub = `${FOREIGN_TD_ID}/jb-8`;
      env.setJwtBundles({ [TD_ID]: jwks([env.jwtKey]), [FOREIGN_TD_ID]: jwks([foreign]) });
      await expectJwtAccepted(env, token(foreign, foreignSub), foreignSub, 'a token of the federated trust domain');
      const v = await env.validateJwt(token(foreign, foreignSub));
      if (!v.accepted) throw new Error(`a token of the federated trust domain was accepted once, then rejected: ${v.message}`);
    },
  },
];

conformanceGroup('JB', localValidation(cases), { concurrency: 4 });
