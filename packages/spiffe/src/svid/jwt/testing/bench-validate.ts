/**
 * A by-hand micro-benchmark (not a test): JWT-SVID validation throughput of
 * parseAndValidateJwtSvid against jose.jwtVerify with a pre-imported key, on the same token.
 *
 *   cd packages/spiffe && node --import tsx src/svid/jwt/testing/bench-validate.ts [iterations]
 *
 * @internal
 */
import { importJWK, jwtVerify, type JWK } from 'jose';
import { JwtBundle } from '../../../bundle/jwt-bundle.js';
import { JwtBundleSet } from '../../../bundle/jwt-bundle-set.js';
import { TrustDomain } from '../../../spiffeid/index.js';
import { parseAndValidateJwtSvid } from '../parse.js';
import { compactJws, jwks, keyPair, nowSeconds, publicJwk } from './tokens.js';

const iterations = Number(process.argv[2] ?? 20000);
const audience = 'spiffe://example.org/server';

const WARMUP = 2000;

async function run(name: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  const start = process.hrtime.bigint();
  for (let i = WARMUP; i < WARMUP + iterations; i++) await fn(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = iterations / seconds;
  console.log(`${name.padEnd(44)} ${rate.toFixed(0).padStart(8)} /s`);
  return rate;
}

for (const [alg, kind] of [
  ['ES256', 'P-256'],
  ['RS256', 'RSA'],
  ['PS256', 'RSA'],
] as const) {
  const pair = keyPair(kind);
  const td = TrustDomain.fromString('example.org');
  const set = new JwtBundleSet(
    JwtBundle.parse(td, jwks(publicJwk(pair.publicKey, 'k1'), publicJwk(keyPair('P-384').publicKey, 'k2'))),
    JwtBundle.parse(TrustDomain.fromString('other.org'), jwks(publicJwk(keyPair('P-521').publicKey, 'k3'))),
  );
  const now = nowSeconds();
  const mint = (jti: number): string =>
    compactJws(
      { alg, kid: 'k1', typ: 'JWT' },
      { sub: 'spiffe://example.org/client', aud: [audience], exp: now + 3600, iat: now, jti: String(jti) },
      pair.privateKey,
    );
  const token = mint(0);
  // Distinct tokens, so that every validation computes its signature check.
  const distinct = Array.from({ length: WARMUP + iterations }, (_, i) => mint(i + 1));
  const joseKey = await importJWK(publicJwk(pair.publicKey, 'k1') as JWK, alg);
  const theirs = await run(`${alg} jose.jwtVerify (pre-imported key)`, () =>
    jwtVerify(token, joseKey, { audience, algorithms: [alg] }),
  );
  const repeated = await run(`${alg} ours, the same token`, () => parseAndValidateJwtSvid(token, set, [audience]));
  const fresh = await run(`${alg} ours, a new token each time`, (i) =>
    parseAndValidateJwtSvid(distinct[i] as string, set, [audience]),
  );
  console.log(
    `${alg} ours/jose: same token ${(repeated / theirs).toFixed(2)}x, new token each time ${(fresh / theirs).toFixed(2)}x\n`,
  );
}
