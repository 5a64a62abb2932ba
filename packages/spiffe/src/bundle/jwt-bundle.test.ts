import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { JwtBundle, jwtAuthorityEntriesFor, jwtAuthorityEntry } from './jwt-bundle.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { jwks, keyPair, publicJwk } from '../svid/jwt/testing/tokens.js';

const td = TrustDomain.fromString('example.org');
const other = TrustDomain.fromString('other.org');
const ec = keyPair('P-256');
const ec384 = keyPair('P-384');
const ec521 = keyPair('P-521');
const rsa = keyPair('RSA');
const ed = keyPair('Ed25519');

function assertBundleInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_BUNDLE_INVALID');
    assert.match(err.message, /^jwtbundle: /);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('JwtBundle.parse', () => {
  it('imports EC P-256/P-384/P-521, RSA and Ed25519 keys under their kid', () => {
    const bundle = JwtBundle.parse(
      td,
      jwks(
        publicJwk(ec.publicKey, 'ec256'),
        publicJwk(ec384.publicKey, 'ec384', { use: 'jwt-svid' }),
        publicJwk(ec521.publicKey, 'ec521'),
        publicJwk(rsa.publicKey, 'rsa', { alg: 'RS256' }),
        publicJwk(ed.publicKey, 'ed'),
      ),
    );
    assert.equal(bundle.trustDomain, td);
    assert.equal(bundle.size, 5);
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['ec256', 'ec384', 'ec521', 'rsa', 'ed']);
    for (const [kid, pair] of [
      ['ec256', ec],
      ['ec384', ec384],
      ['ec521', ec521],
      ['rsa', rsa],
      ['ed', ed],
    ] as const) {
      const key = bundle.findJwtAuthority(kid);
      assert.ok(key, kid);
      assert.equal(key.type, 'public');
      assert.ok(key.equals(pair.publicKey), kid);
      assert.equal(bundle.hasJwtAuthority(kid), true);
    }
    assert.equal(bundle.findJwtAuthority('missing'), undefined);
    assert.equal(bundle.hasJwtAuthority('missing'), false);
  });

  it('accepts the JWK Set as UTF-8 bytes', () => {
    const bundle = JwtBundle.parse(td, new TextEncoder().encode(jwks(publicJwk(ec.publicKey, 'k1'))));
    assert.ok(bundle.findJwtAuthority('k1')?.equals(ec.publicKey));
  });

  it('trusts nothing for "keys": []', () => {
    const bundle = JwtBundle.parse(td, '{"keys":[]}');
    assert.equal(bundle.size, 0);
    assert.equal(bundle.jwtAuthorities().size, 0);
  });

  it('reads the JWT part of a SPIFFE bundle document, ignoring x509-svid keys and SPIFFE members', () => {
    const doc = JSON.stringify({
      keys: [
        publicJwk(ec384.publicKey, undefined, { use: 'x509-svid', x5c: ['MIIB'] }),
        publicJwk(ec.publicKey, 'jwt-key', { use: 'jwt-svid' }),
      ],
      spiffe_sequence: 7,
      spiffe_refresh_hint: 300,
    });
    const bundle = JwtBundle.parse(td, doc);
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['jwt-key']);
  });

  // Keys that are skipped, each beside the same key in a form that is kept.
  const skipped: { name: string; skip: Record<string, unknown>; keep: Record<string, unknown> }[] = [
    {
      name: 'use x509-svid (an X.509 authority, even with a kid)',
      skip: publicJwk(ec.publicKey, 'k', { use: 'x509-svid' }),
      keep: publicJwk(ec.publicKey, 'k', { use: 'jwt-svid' }),
    },
    {
      name: 'an unknown use',
      skip: publicJwk(ec.publicKey, 'k', { use: 'enc' }),
      keep: publicJwk(ec.publicKey, 'k'),
    },
    {
      name: 'an unknown kty',
      skip: { kty: 'PQC', kid: 'k', pub: 'AAAA' },
      keep: publicJwk(ec.publicKey, 'k'),
    },
    {
      name: 'a symmetric (oct) key',
      skip: { kty: 'oct', kid: 'k', k: 'c2VjcmV0' },
      keep: publicJwk(rsa.publicKey, 'k'),
    },
  ];
  for (const { name, skip, keep } of skipped) {
    it(`skips a key with ${name}, keeps its valid counterpart`, () => {
      const withSkipped = JwtBundle.parse(td, jwks(skip, publicJwk(ec384.publicKey, 'other')));
      assert.deepEqual([...withSkipped.jwtAuthorities().keys()], ['other']);
      const withKept = JwtBundle.parse(td, jwks(keep, publicJwk(ec384.publicKey, 'other')));
      assert.deepEqual([...withKept.jwtAuthorities().keys()], ['k', 'other']);
    });
  }

  const good = jwks(publicJwk(ec.publicKey, 'k1'));
  const badPoint = { ...publicJwk(ec.publicKey, 'k1'), y: publicJwk(ec384.publicKey, 'x')['y'] };
  const invalid: { name: string; input: string | Uint8Array; valid: string | Uint8Array; pattern: RegExp }[] = [
    { name: 'malformed JSON', input: '{"keys":[', valid: good, pattern: /unable to parse JWKS/ },
    { name: 'an empty document', input: '', valid: good, pattern: /unable to parse JWKS/ },
    { name: 'invalid UTF-8 bytes', input: Uint8Array.from([0x7b, 0xff, 0x7d]), valid: new TextEncoder().encode(good), pattern: /UTF-8/ },
    { name: 'a top-level array', input: '[]', valid: '{"keys":[]}', pattern: /not a JSON object/ },
    { name: 'missing "keys"', input: '{}', valid: '{"keys":[]}', pattern: /"keys" must be an array of JWKs, got nothing/ },
    { name: '"keys" an object', input: '{"keys":{}}', valid: '{"keys":[]}', pattern: /"keys" must be an array/ },
    { name: '"keys" null', input: '{"keys":null}', valid: '{"keys":[]}', pattern: /got null/ },
    { name: '"keys" a string', input: '{"keys":"k"}', valid: '{"keys":[]}', pattern: /got string/ },
    { name: 'a key that is not an object', input: '{"keys":["k1"]}', valid: good, pattern: /key 0 of JWKS is not a JSON object/ },
    { name: 'a key without kty', input: jwks({ kid: 'k1', x: 'a' }), valid: good, pattern: /no "kty"/ },
    { name: 'a JWT key without kid', input: jwks(publicJwk(ec.publicKey, undefined)), valid: good, pattern: /key 0 of JWKS has no "kid"/ },
    {
      name: 'a jwt-svid key without kid',
      input: jwks(publicJwk(ec.publicKey, undefined, { use: 'jwt-svid' })),
      valid: jwks(publicJwk(ec.publicKey, 'k1', { use: 'jwt-svid' })),
      pattern: /has no "kid"/,
    },
    { name: 'an empty kid', input: jwks(publicJwk(ec.publicKey, '')), valid: good, pattern: /has no "kid"/ },
    { name: 'a numeric kid', input: jwks(publicJwk(ec.publicKey, undefined, { kid: 1 })), valid: good, pattern: /has no "kid"/ },
    {
      name: 'a duplicate kid',
      input: jwks(publicJwk(ec.publicKey, 'k1'), publicJwk(rsa.publicKey, 'k1')),
      valid: jwks(publicJwk(ec.publicKey, 'k1'), publicJwk(rsa.publicKey, 'k2')),
      pattern: /duplicate key ID "k1" \(key 1 of JWKS\)/,
    },
    { name: 'a non-string use', input: jwks(publicJwk(ec.publicKey, 'k1', { use: 1 })), valid: good, pattern: /non-string "use"/ },
    { name: 'a non-string alg', input: jwks(publicJwk(ec.publicKey, 'k1', { alg: 256 })), valid: good, pattern: /non-string "alg"/ },
    {
      name: 'private key material',
      input: jwks({ ...ec.privateKey.export({ format: 'jwk' }), kid: 'k1' }),
      valid: good,
      pattern: /private key material \("d"\)/,
    },
    {
      name: 'an EC point not on the curve',
      input: jwks(badPoint),
      valid: good,
      pattern: /key "k1" \(key 0 of JWKS\) is not a valid EC public key/,
    },
    {
      name: 'an RSA key without modulus',
      input: jwks({ kty: 'RSA', kid: 'k1', e: 'AQAB' }),
      valid: jwks(publicJwk(rsa.publicKey, 'k1')),
      pattern: /not a valid RSA public key/,
    },
    {
      name: 'an EC key on an unknown curve',
      input: jwks(publicJwk(ec.publicKey, 'k1', { crv: 'P-999' })),
      valid: good,
      pattern: /not a valid EC public key/,
    },
  ];
  for (const { name, input, valid, pattern } of invalid) {
    it(`rejects ${name}; accepts its valid counterpart`, () => {
      assertBundleInvalid(() => JwtBundle.parse(td, input), pattern);
      assert.ok(JwtBundle.parse(td, valid) instanceof JwtBundle);
    });
  }

  it('throws TypeError on misuse', () => {
    assert.throws(() => JwtBundle.parse('example.org' as unknown as TrustDomain, good), TypeError);
    assert.throws(() => JwtBundle.parse(td, 42 as unknown as string), TypeError);
  });
});

describe('JwtBundle.marshal', () => {
  it('round-trips through parse, with use "jwt-svid", kid and published alg', () => {
    const original = JwtBundle.parse(
      td,
      jwks(
        publicJwk(ec.publicKey, 'ec', { alg: 'ES256' }),
        publicJwk(rsa.publicKey, 'rsa'),
        publicJwk(ed.publicKey, 'ed'),
        publicJwk(ec521.publicKey, 'ec521'),
      ),
    );
    const text = original.marshal();
    const doc = JSON.parse(text) as { keys: Record<string, unknown>[] };
    assert.deepEqual(
      doc.keys.map((k) => [k['kid'], k['use'], k['kty'], k['alg']]),
      [
        ['ec', 'jwt-svid', 'EC', 'ES256'],
        ['rsa', 'jwt-svid', 'RSA', undefined],
        ['ed', 'jwt-svid', 'OKP', undefined],
        ['ec521', 'jwt-svid', 'EC', undefined],
      ],
    );
    for (const k of doc.keys) assert.equal(k['d'], undefined);
    const reparsed = JwtBundle.parse(td, text);
    assert.ok(reparsed.equals(original));
    assert.ok(original.equals(reparsed));
    assert.equal(reparsed.marshal(), text);
  });

  it('marshals an empty bundle as {"keys":[]}', () => {
    assert.equal(new JwtBundle(td).marshal(), '{"keys":[]}');
  });
});

describe('JwtBundle authorities', () => {
  it('builds from a map, adds, replaces and removes keys', () => {
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['a', ec.publicKey]]));
    assert.equal(bundle.size, 1);
    bundle.addJwtAuthority('b', rsa.publicKey);
    assert.ok(bundle.findJwtAuthority('b')?.equals(rsa.publicKey));
    bundle.addJwtAuthority('b', ec384.publicKey);
    assert.ok(bundle.findJwtAuthority('b')?.equals(ec384.publicKey));
    assert.equal(bundle.removeJwtAuthority('a'), true);
    assert.equal(bundle.removeJwtAuthority('a'), false);
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['b']);
  });

  it('hands out a copy of its map', () => {
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['a', ec.publicKey]]));
    const copy = bundle.jwtAuthorities();
    copy.delete('a');
    copy.set('z', rsa.publicKey);
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['a']);
  });

  it('keeps the keys that fit each algorithm current across changes', () => {
    const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['a', ec.publicKey]]));
    assert.deepEqual(
      jwtAuthorityEntriesFor(bundle, 'ES256').map((e) => e.kid),
      ['a'],
    );
    assert.deepEqual(
      jwtAuthorityEntriesFor(bundle, 'RS256').map((e) => e.kid),
      [],
    );
    bundle.addJwtAuthority('r', rsa.publicKey);
    assert.deepEqual(
      jwtAuthorityEntriesFor(bundle, 'RS256').map((e) => e.kid),
      ['r'],
    );
    assert.deepEqual(
      jwtAuthorityEntriesFor(bundle, 'PS512').map((e) => e.kid),
      ['r'],
    );
    bundle.removeJwtAuthority('a');
    assert.deepEqual(
      jwtAuthorityEntriesFor(bundle, 'ES256').map((e) => e.kid),
      [],
    );
    bundle.addJwtAuthority('e', ed.publicKey);
    for (const alg of ['ES256', 'ES384', 'ES512', 'RS256', 'PS256'] as const) {
      assert.ok(!jwtAuthorityEntriesFor(bundle, alg).some((e) => e.kid === 'e'), alg);
    }
  });

  it('restricts a key published with a JWK alg to that algorithm', () => {
    const bundle = JwtBundle.parse(td, jwks(publicJwk(rsa.publicKey, 'r', { alg: 'PS384' })));
    assert.deepEqual([...(jwtAuthorityEntry(bundle, 'r')?.verifiers.keys() ?? [])], ['PS384']);
    const plain = JwtBundle.parse(td, jwks(publicJwk(rsa.publicKey, 'r')));
    assert.deepEqual([...(jwtAuthorityEntry(plain, 'r')?.verifiers.keys() ?? [])], ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  });

  it('rejects misuse with TypeError', () => {
    const bundle = new JwtBundle(td);
    assert.throws(() => bundle.addJwtAuthority('', ec.publicKey), TypeError);
    assert.throws(() => bundle.addJwtAuthority('k', ec.privateKey), TypeError);
    assert.throws(() => bundle.addJwtAuthority('k', 'pem' as never), TypeError);
    assert.throws(() => JwtBundle.fromJwtAuthorities(td, { k: ec.publicKey } as never), TypeError);
    assert.throws(() => new JwtBundle('example.org' as never), TypeError);
    bundle.addJwtAuthority('k', ec.publicKey);
    assert.equal(bundle.size, 1);
  });
});

describe('JwtBundle.equals', () => {
  const base = (): JwtBundle => JwtBundle.parse(td, jwks(publicJwk(ec.publicKey, 'a'), publicJwk(rsa.publicKey, 'b', { alg: 'RS256' })));
  it('equals a bundle with the same keys under the same kids, in any order', () => {
    const same = JwtBundle.parse(td, jwks(publicJwk(rsa.publicKey, 'b', { alg: 'RS256' }), publicJwk(ec.publicKey, 'a')));
    assert.ok(base().equals(same));
    const imported = JwtBundle.parse(
      td,
      jwks(
        publicJwk(createPublicKey(ec.publicKey.export({ format: 'pem', type: 'spki' })), 'a'),
        publicJwk(rsa.publicKey, 'b', { alg: 'RS256' }),
      ),
    );
    assert.ok(base().equals(imported));
  });
  const different: [string, () => JwtBundle][] = [
    [
      'another trust domain',
      () => JwtBundle.parse(other, jwks(publicJwk(ec.publicKey, 'a'), publicJwk(rsa.publicKey, 'b', { alg: 'RS256' }))),
    ],
    [
      'another key under a kid',
      () => JwtBundle.parse(td, jwks(publicJwk(ec384.publicKey, 'a'), publicJwk(rsa.publicKey, 'b', { alg: 'RS256' }))),
    ],
    ['another kid', () => JwtBundle.parse(td, jwks(publicJwk(ec.publicKey, 'c'), publicJwk(rsa.publicKey, 'b', { alg: 'RS256' })))],
    ['a missing key', () => JwtBundle.parse(td, jwks(publicJwk(ec.publicKey, 'a')))],
    [
      'another published alg',
      () => JwtBundle.parse(td, jwks(publicJwk(ec.publicKey, 'a'), publicJwk(rsa.publicKey, 'b', { alg: 'PS256' }))),
    ],
  ];
  for (const [name, make] of different) {
    it(`does not equal a bundle with ${name}`, () => {
      assert.equal(base().equals(make()), false);
      assert.equal(make().equals(base()), false);
    });
  }
});

describe('JwtBundle as a JwtBundleSource', () => {
  it('returns itself for its own trust domain and ERR_BUNDLE_NOT_FOUND for another', () => {
    const bundle = new JwtBundle(td);
    assert.equal(bundle.getJwtBundleForTrustDomain(TrustDomain.fromString('EXAMPLE.org')), bundle);
    assert.throws(
      () => bundle.getJwtBundleForTrustDomain(other),
      (err: unknown) =>
        err instanceof BundleError &&
        err.code === 'ERR_BUNDLE_NOT_FOUND' &&
        err.message === 'jwtbundle: no JWT bundle for trust domain "other.org" (this bundle is for "example.org")',
    );
  });
});
