/**
 * JWK members that are not base64url, found by the property-based tests (test/soak) and pinned
 * here. Node's JWK import skips characters outside the alphabet, so `"x": "abc]def"` would be
 * read as `"abcdef"`: a bundle that is malformed must be refused, not read as something close to
 * it (and `marshal()` would then write a key the document never named).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa } from '../testing/ca.js';
import { JwtBundle } from './jwt-bundle.js';
import { SpiffeBundle } from './spiffe-bundle.js';

const td = TrustDomain.fromString('example.org');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, string>;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as Record<string, string>;
const root = TestCa.create({ trustDomain: 'example.org' });
const rootJwk = root.publicKey.export({ format: 'jwk' }) as Record<string, string>;

/** `value` with `junk` inserted in the middle. */
const spoil = (value: string, junk: string): string => `${value.slice(0, 10)}${junk}${value.slice(10)}`;

function assertRefused(parse: () => unknown, what: string): void {
  let accepted: unknown;
  try {
    accepted = parse();
  } catch (err) {
    assert.ok(err instanceof BundleError, `${what}: expected a BundleError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_BUNDLE_INVALID');
    return;
  }
  assert.fail(
    `${what} was accepted${accepted instanceof JwtBundle || accepted instanceof SpiffeBundle ? `, and marshals to ${accepted.marshal()}` : ''}`,
  );
}

describe('JWK members that are not base64url (fault cases)', () => {
  it('the intact keys parse (the valid counterpart)', () => {
    const jwks = JSON.stringify({
      keys: [
        { ...ec, kid: 'e', use: 'jwt-svid' },
        { ...rsa, kid: 'r', use: 'jwt-svid' },
      ],
    });
    assert.equal(JwtBundle.parse(td, jwks).jwtAuthorities().size, 2);
    const doc = JSON.stringify({ keys: [{ ...rootJwk, use: 'x509-svid', x5c: [root.der.toString('base64')] }] });
    assert.equal(SpiffeBundle.parse(td, doc).x509Bundle().authorities().length, 1);
  });

  for (const [member, base, junk] of [
    ['x', ec, ']'],
    ['y', ec, ' '],
    ['x', ec, '+'],
    ['n', rsa, "'["],
    ['e', rsa, '!'],
  ] as const) {
    it(`JwtBundle.parse refuses a JWT authority whose "${member}" holds ${JSON.stringify(junk)}`, () => {
      const key = { ...base, [member]: spoil(base[member]!, junk), kid: 'k1', use: 'jwt-svid' };
      assertRefused(() => JwtBundle.parse(td, JSON.stringify({ keys: [key] })), `"${member}": ${JSON.stringify(key[member])}`);
    });
  }

  it('SpiffeBundle.parse refuses an x509-svid key whose "x" holds a character outside base64url', () => {
    const key = { ...rootJwk, x: spoil(rootJwk['x']!, '!'), use: 'x509-svid', x5c: [root.der.toString('base64')] };
    assertRefused(() => SpiffeBundle.parse(td, JSON.stringify({ keys: [key] })), `x509-svid "x": ${JSON.stringify(key.x)}`);
  });
});
