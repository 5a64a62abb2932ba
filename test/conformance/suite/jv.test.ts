/**
 * Catalogue §6.1, `JV`: JWT-SVID validation (feature `jwt-validate`). Tokens are ES256 by the
 * default bundle key, `aud: ["conformance"]`, 5-minute `exp`, validated for `conformance`,
 * unless a case says otherwise.
 */
import { randomBytes, sign } from 'node:crypto';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, TRUST_DOMAIN, type ConformanceEnv } from './lib/env.js';
import { AUDIENCE, b64Json, b64url, hmacToken, jwks, newJwtKey, signInput, signToken, validClaims, type SigningAlg } from './lib/jwt.js';
import {
  expectJwtAccepted,
  expectJwtRejected,
  jwtNegative,
  jwtPositiveControl,
  localValidation,
  serveJwtBundles,
  subId,
} from './lib/jwt-cases.js';

const OTHER_TD_ID = 'spiffe://other.example.org';

/** A negative case on the claims: default claims changed by `mutate`, signed by the default key. */
function claimsNegative(id: string, title: string, what: string, mutate: (c: Record<string, unknown>) => void): ConformanceCase {
  return {
    id,
    level: 'MUST',
    title,
    async run(env) {
      const claims = validClaims(`${TD_ID}/claims-negative`);
      mutate(claims);
      await jwtNegative(env, id, signToken(env.jwtKey, {}, claims), what);
    },
  };
}

/** A positive case on the claims. */
function claimsPositive(id: string, title: string, mutate: (c: Record<string, unknown>) => void): ConformanceCase {
  return {
    id,
    level: 'MUST',
    title,
    async run(env) {
      const sub = `${TD_ID}/claims-positive`;
      const claims = validClaims(sub);
      mutate(claims);
      await expectJwtAccepted(env, signToken(env.jwtKey, {}, claims), sub, 'a valid token');
    },
  };
}

/** A case on the header: default token with header members replaced (`null` removes one). */
function headerCase(id: string, title: string, header: Record<string, unknown>, accept: boolean, what: string): ConformanceCase {
  return {
    id,
    level: 'MUST',
    title,
    async run(env) {
      const sub = `${TD_ID}/header-${accept ? 'positive' : 'negative'}`;
      const token = signToken(env.jwtKey, header, validClaims(sub));
      if (accept) await expectJwtAccepted(env, token, sub, what);
      else await jwtNegative(env, id, token, what);
    },
  };
}

function validToken(env: ConformanceEnv, sub: string): string {
  return signToken(env.jwtKey, {}, validClaims(sub));
}

const ALGS: readonly SigningAlg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

const cases: ConformanceCase[] = [
  {
    id: 'JV-1',
    level: 'MUST',
    title: 'Accepts a valid token and returns `sub` as the SPIFFE ID (positive control)',
    async run(env) {
      const sub = subId('JV-1');
      await expectJwtAccepted(env, validToken(env, sub), sub, 'a valid ES256 token');
      const v = await env.validateJwt(validToken(env, sub));
      if (v.claims?.['sub'] !== sub || !Array.isArray(v.claims['aud'])) {
        throw new Error(`the harness returned claims ${JSON.stringify(v.claims)}; want the token's claims`);
      }
    },
  },
  ...ALGS.map((alg): ConformanceCase => ({
    id: `JV-2/${alg}`,
    level: 'MUST',
    title: 'Accepts every supported `alg`',
    async run(env) {
      const key = newJwtKey(alg);
      await serveJwtBundles(env, `JV-2/${alg}`, { [TD_ID]: jwks([env.jwtKey, key]) });
      const sub = subId(`JV-2/${alg}`);
      await expectJwtAccepted(env, signToken(key, {}, validClaims(sub)), sub, `an ${alg} token signed by a bundle key`);
    },
  })),
  {
    id: 'JV-3',
    level: 'MUST',
    title: 'Rejects `alg: none`',
    async run(env) {
      const token = `${b64Json({ alg: 'none', kid: env.jwtKey.kid, typ: 'JWT' })}.${b64Json(validClaims(subId('JV-3')))}.`;
      await jwtNegative(env, 'JV-3', token, 'an unsigned token with alg "none"');
    },
  },
  ...(['HS256', 'HS384', 'HS512'] as const).map((alg): ConformanceCase => ({
    id: `JV-4/${alg}`,
    level: 'MUST',
    title: 'Rejects HS256/HS384/HS512',
    async run(env) {
      const token = hmacToken(alg, randomBytes(32), env.jwtKey.kid, validClaims(subId(`JV-4/${alg}`)));
      await jwtNegative(env, `JV-4/${alg}`, token, `an ${alg} token keyed with a random secret`);
    },
  })),
  {
    id: 'JV-4/hmac-public-key',
    level: 'MUST',
    title: 'Rejects HS256/HS384/HS512 (algorithm confusion)',
    async run(env) {
      const secret = Buffer.from(env.jwtKey.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      const token = hmacToken('HS256', secret, env.jwtKey.kid, validClaims(subId('JV-4/hmac-public-key')));
      await jwtNegative(env, 'JV-4/hmac-public-key', token, "an HS256 token keyed with the bundle key's PEM public key");
    },
  },
  {
    id: 'JV-5',
    level: 'MUST',
    title: 'Rejects asymmetric algorithms outside the list, even if the key is in the bundle',
    async run(env) {
      const ed = newJwtKey('EdDSA');
      const barrier = newJwtKey('ES256');
      await serveJwtBundles(env, 'JV-5', { [TD_ID]: jwks([env.jwtKey, ed, barrier]) });
      // The ES256 key of the same bundle shows the bundle holding the Ed25519 key was applied
      // (an SDK that drops the whole bundle because of it fails here).
      await jwtPositiveControl(env, 'JV-5', barrier, `${TD_ID}/control/jv-5-barrier`).catch((err: Error) => {
        throw new Error(`the bundle holding the Ed25519 key was not applied: ${err.message}`);
      });
      await expectJwtRejected(env, signToken(ed, {}, validClaims(subId('JV-5'))), 'an EdDSA token signed by an Ed25519 key of the bundle');
    },
  },
  {
    id: 'JV-6/rs256-header-ec-key',
    level: 'MUST',
    title: 'Rejects an `alg` that does not match the key type',
    async run(env) {
      const token = signToken(env.jwtKey, { alg: 'RS256' }, validClaims(subId('JV-6/rs256-header-ec-key')));
      await jwtNegative(env, 'JV-6/rs256-header-ec-key', token, 'an RS256-labelled token whose kid names a P-256 key (ES256 signature)');
    },
  },
  {
    id: 'JV-6/es384-header-p256-key',
    level: 'MUST',
    title: 'Rejects an `alg` that does not match the key type',
    async run(env) {
      const input = `${b64Json({ alg: 'ES384', kid: env.jwtKey.kid, typ: 'JWT' })}.${b64Json(validClaims(subId('JV-6/es384-header-p256-key')))}`;
      // A P-256 signature over a SHA-384 digest, as an SDK trusting the header would check it.
      const signature = sign('sha384', Buffer.from(input), { key: env.jwtKey.privateKey, dsaEncoding: 'ieee-p1363' });
      await jwtNegative(
        env,
        'JV-6/es384-header-p256-key',
        `${input}.${b64url(signature)}`,
        'an ES384-labelled token signed with a P-256 key',
      );
    },
  },
  claimsNegative('JV-7', 'Rejects a token without `aud`', 'a token without aud', (c) => void delete c['aud']),
  claimsNegative(
    'JV-8',
    "Rejects a token whose `aud` does not contain the validator's audience",
    'a token whose aud is ["other"]',
    (c) => void (c['aud'] = ['other']),
  ),
  claimsPositive(
    'JV-9',
    "Accepts an `aud` array that contains the validator's audience among others",
    (c) => void (c['aud'] = ['other', AUDIENCE]),
  ),
  claimsPositive('JV-10', 'Accepts `aud` as a single string', (c) => void (c['aud'] = AUDIENCE)),
  claimsNegative('JV-11', 'Rejects a token without `exp`', 'a token without exp', (c) => void delete c['exp']),
  claimsNegative('JV-12', 'Rejects an expired token', 'a token that expired 5 minutes ago', (c) => {
    const now = Math.floor(Date.now() / 1000);
    c['iat'] = now - 600;
    c['exp'] = now - 300;
  }),
  claimsNegative('JV-13', 'Rejects a token whose `nbf` is in the future', 'a token whose nbf is 5 minutes ahead', (c) => {
    c['nbf'] = Math.floor(Date.now() / 1000) + 300;
  }),
  {
    id: 'JV-14',
    level: 'MUST',
    title: 'Rejects a token with a tampered signature',
    async run(env) {
      const [h, p, s] = validToken(env, subId('JV-14')).split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[sig.length >> 1] = (sig[sig.length >> 1] as number) ^ 0x01;
      await jwtNegative(env, 'JV-14', `${h}.${p}.${b64url(sig)}`, 'a token with one signature bit flipped');
    },
  },
  {
    id: 'JV-15',
    level: 'MUST',
    title: 'Rejects a token with a tampered payload',
    async run(env) {
      const [h, p, s] = validToken(env, subId('JV-15')).split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims['sub'] = `${TD_ID}/admin`;
      await jwtNegative(env, 'JV-15', `${h}.${b64Json(claims)}.${s}`, 'a token whose sub was changed after signing');
    },
  },
  {
    id: 'JV-16',
    level: 'MUST',
    title: 'Rejects a token signed by a key that is not in the bundle',
    async run(env) {
      const stranger = newJwtKey('ES256');
      await jwtNegative(env, 'JV-16', signToken(stranger, {}, validClaims(subId('JV-16'))), 'a token signed by a key that is in no bundle');
    },
  },
  {
    id: 'JV-17',
    level: 'MUST',
    title: "Rejects a token whose `sub` is in trust domain B but which is signed by trust domain A's key",
    async run(env) {
      const other = newJwtKey('ES256');
      await serveJwtBundles(env, 'JV-17', { [TD_ID]: jwks([env.jwtKey]), [OTHER_TD_ID]: jwks([other]) });
      // B's own token shows B's bundle is in place.
      await jwtPositiveControl(env, 'JV-17', other, `${OTHER_TD_ID}/control/jv-17`);
      await expectJwtRejected(
        env,
        signToken(env.jwtKey, {}, validClaims(`${OTHER_TD_ID}/jv-17`)),
        `a token for ${OTHER_TD_ID} signed by the key of ${TD_ID}`,
      );
    },
  },
  {
    id: 'JV-18',
    level: 'MUST',
    title: 'Rejects a token whose `sub` trust domain has no bundle',
    async run(env) {
      await jwtNegative(
        env,
        'JV-18',
        validToken(env, 'spiffe://unknown.example.org/jv-18'),
        `a token for spiffe://unknown.example.org (no bundle) signed by the key of ${TD_ID}`,
      );
    },
  },
  claimsNegative('JV-19', 'Rejects a token whose `sub` is not a SPIFFE ID', `a token whose sub is https://${TRUST_DOMAIN}/jv-19`, (c) => {
    c['sub'] = `https://${TRUST_DOMAIN}/jv-19`;
  }),
  headerCase('JV-20/typ-JWT', 'Accepts `typ` of `JWT`, `JOSE`, or no `typ`', { typ: 'JWT' }, true, 'a token with typ JWT'),
  headerCase('JV-20/typ-JOSE', 'Accepts `typ` of `JWT`, `JOSE`, or no `typ`', { typ: 'JOSE' }, true, 'a token with typ JOSE'),
  headerCase('JV-20/no-typ', 'Accepts `typ` of `JWT`, `JOSE`, or no `typ`', { typ: null }, true, 'a token without typ'),
  headerCase('JV-21', 'Rejects any other `typ` value', { typ: 'at+jwt' }, false, 'a token with typ "at+jwt"'),
  headerCase('JV-22', 'Accepts a token without `kid`', { kid: null }, true, 'a token without kid (go-spiffe and SPIRE reject it)'),
  headerCase(
    'JV-23',
    'Rejects a token with an unknown `crit` header',
    { crit: ['urn:spiffe-conformance:unknown'], 'urn:spiffe-conformance:unknown': true },
    false,
    'a token with an unknown crit header parameter',
  ),
  {
    id: 'JV-24',
    level: 'MUST',
    title: 'Rejects JWS JSON serialization',
    async run(env) {
      const [h, p, s] = validToken(env, subId('JV-24')).split('.') as [string, string, string];
      await jwtNegative(
        env,
        'JV-24',
        JSON.stringify({ protected: h, payload: p, signature: s }),
        'a validly signed token in JWS JSON serialization',
      );
    },
  },
  {
    id: 'JV-25/two-parts',
    level: 'MUST',
    title: 'Rejects a malformed compact token',
    async run(env) {
      const token = validToken(env, subId('JV-25/two-parts'));
      await jwtNegative(env, 'JV-25/two-parts', token.slice(0, token.lastIndexOf('.')), 'a token with two parts (signature removed)');
    },
  },
  {
    id: 'JV-25/bad-base64',
    level: 'MUST',
    title: 'Rejects a malformed compact token',
    async run(env) {
      // A character outside the base64url alphabet inside the payload; the signature covers
      // the token's actual signing input, so only the encoding is wrong.
      const header = b64Json({ alg: env.jwtKey.alg, kid: env.jwtKey.kid, typ: 'JWT' });
      const payload = b64Json(validClaims(subId('JV-25/bad-base64')));
      const mid = payload.length >> 1;
      const token = signInput(env.jwtKey, `${header}.${payload.slice(0, mid)}!${payload.slice(mid)}`);
      await jwtNegative(env, 'JV-25/bad-base64', token, 'a validly signed token whose payload holds a non-base64url character');
    },
  },
  {
    id: 'JV-25/bad-json',
    level: 'MUST',
    title: 'Rejects a malformed compact token',
    async run(env) {
      const header = b64Json({ alg: env.jwtKey.alg, kid: env.jwtKey.kid, typ: 'JWT' });
      const payload = b64url(`{"sub":"${subId('JV-25/bad-json')}","aud":["${AUDIENCE}"],`);
      await jwtNegative(
        env,
        'JV-25/bad-json',
        signInput(env.jwtKey, `${header}.${payload}`),
        'a validly signed token whose payload is not JSON',
      );
    },
  },
];

conformanceGroup('JV', localValidation(cases), { concurrency: 4 });
