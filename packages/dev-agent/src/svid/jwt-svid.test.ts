import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { mintJwtKey, type JwtKey } from '../ca/jwt-key.js';
import { JwtSvidValidationError, mintJwtSvid, validateJwtSvid } from './jwt-svid.js';

const ID = 'spiffe://example.org/web';
const key = mintJwtKey(3600);
const other = mintJwtKey(3600);
const keys = (...ks: JwtKey[]): Map<string, Map<string, KeyObject>> =>
  new Map([['example.org', new Map(ks.map((k) => [k.id, k.publicKey]))]]);

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** Signs arbitrary header and claims with an EC P-256 key (ES256, JOSE signature format). */
function es256(header: Record<string, unknown>, claims: Record<string, unknown>, k: JwtKey = key): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

describe('JWT-SVIDs', () => {
  it('mints ES256 tokens with kid, typ, sub, aud, exp and iat, never past the key', async () => {
    const { token, expiresAt } = await mintJwtSvid({ spiffeId: ID, audience: ['a', 'b'], ttlSeconds: 300, key });
    const [h, p] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    assert.deepEqual(h, { alg: 'ES256', kid: key.id, typ: 'JWT' });
    assert.equal(p!.sub, ID);
    assert.deepEqual(p!.aud, ['a', 'b']);
    assert.equal((p!.exp as number) - (p!.iat as number), 300);
    assert.equal(expiresAt.getTime(), (p!.exp as number) * 1000);
    const shortKey = mintJwtKey(60);
    const clamped = await mintJwtSvid({ spiffeId: ID, audience: ['a'], ttlSeconds: 300, key: shortKey });
    assert.ok(clamped.expiresAt.getTime() <= shortKey.notAfter.getTime());
  });

  it('validates a good token against the keys of its trust domain', async () => {
    const { token } = await mintJwtSvid({ spiffeId: ID, audience: ['a', 'b'], ttlSeconds: 300, key });
    const res = await validateJwtSvid(token, 'b', keys(other, key));
    assert.equal(res.spiffeId, ID);
    assert.deepEqual(res.claims.aud, ['a', 'b']);
    // Without kid, every key of the trust domain is tried.
    const noKid = es256({ alg: 'ES256' }, { sub: ID, aud: 'a', exp: Math.floor(Date.now() / 1000) + 60 });
    assert.equal((await validateJwtSvid(noKid, 'a', keys(other, key))).spiffeId, ID);
  });

  it('rejects bad tokens with the reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = { sub: ID, aud: ['a'], exp: now + 60, iat: now };
    const hs = await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(Buffer.alloc(32, 1));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = await new SignJWT(good).setProtectedHeader({ alg: 'RS256', kid: key.id }).sign(rsa.privateKey);
    const cases: Array<{ name: string; token: string; audience?: string; ks?: Map<string, Map<string, KeyObject>>; reason: RegExp }> = [
      { name: 'expired', token: es256({ alg: 'ES256', kid: key.id }, { ...good, exp: now - 10 }), reason: /token has expired/ },
      { name: 'not yet valid', token: es256({ alg: 'ES256', kid: key.id }, { ...good, nbf: now + 600 }), reason: /not yet valid/ },
      // SPIRE's words, Go-quoted: several audiences space-separated, a single string as a list.
      {
        name: 'other audience',
        token: es256({ alg: 'ES256', kid: key.id }, good),
        audience: 'z',
        reason: /^expected audience in \["z"\] \(audience=\["a"\]\)$/,
      },
      {
        name: 'other audience, several in the token',
        token: es256({ alg: 'ES256', kid: key.id }, { ...good, aud: ['a', 'say "b"'] }),
        audience: 'z',
        reason: /^expected audience in \["z"\] \(audience=\["a" "say \\"b\\""\]\)$/,
      },
      {
        name: 'other audience, aud a string',
        token: es256({ alg: 'ES256', kid: key.id }, { ...good, aud: 'a' }),
        audience: 'z',
        reason: /^expected audience in \["z"\] \(audience=\["a"\]\)$/,
      },
      { name: 'no exp', token: es256({ alg: 'ES256', kid: key.id }, { sub: ID, aud: 'a' }), reason: /"exp"/ },
      {
        name: 'no aud',
        token: es256({ alg: 'ES256', kid: key.id }, { sub: ID, exp: now + 60 }),
        reason: /^expected audience in \["a"\] \(audience=\[\]\)$/,
      },
      { name: 'no sub', token: es256({ alg: 'ES256', kid: key.id }, { aud: 'a', exp: now + 60 }), reason: /no subject/ },
      {
        name: 'sub not a SPIFFE ID',
        token: es256({ alg: 'ES256', kid: key.id }, { ...good, sub: 'https://x' }),
        reason: /not a SPIFFE ID/,
      },
      { name: 'unknown kid', token: es256({ alg: 'ES256', kid: 'nope' }, good), reason: /no key found for key ID "nope"/ },
      { name: 'signed by another key', token: es256({ alg: 'ES256', kid: key.id }, good, other), reason: /signature is invalid/ },
      {
        name: 'foreign trust domain',
        token: es256({ alg: 'ES256', kid: key.id }, { ...good, sub: 'spiffe://other.org/x' }),
        reason: /no keys found for trust domain "other.org"/,
      },
      { name: 'alg none', token: `${b64({ alg: 'none' })}.${b64(good)}.`, reason: /unsupported token signature algorithm "none"/ },
      { name: 'HS256', token: hs, reason: /unsupported token signature algorithm "HS256"/ },
      { name: 'alg that does not fit the key', token: rs, reason: /does not fit the key/ },
      { name: 'bad typ', token: es256({ alg: 'ES256', kid: key.id, typ: 'at+jwt' }, good), reason: /"typ"/ },
      { name: 'unknown crit', token: es256({ alg: 'ES256', kid: key.id, crit: ['x'], x: 1 }, good), reason: /critical parameters/ },
      { name: 'garbage', token: 'a.b', reason: /malformed/ },
    ];
    for (const c of cases) {
      await assert.rejects(validateJwtSvid(c.token, c.audience ?? 'a', c.ks ?? keys(key)), (err: unknown) => {
        assert.ok(err instanceof JwtSvidValidationError, `${c.name}: ${String(err)}`);
        assert.match(err.message, c.reason, c.name);
        return true;
      });
    }
  });
});
