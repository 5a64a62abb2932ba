import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeId, TrustDomain } from './index.js';
import { SpiffeError, SpiffeIdError } from '../errors.js';

/** Asserts that `fn` throws a SpiffeIdError for `rule` whose message mentions `mentions`. */
function assertRule(fn: () => unknown, rule: string, mentions?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SpiffeIdError, `expected SpiffeIdError, got ${String(err)}`);
    assert.ok(err instanceof SpiffeError);
    assert.equal(err.rule, rule, `rule for ${err.message}`);
    assert.match(err.message, /^spiffeid: /);
    if (mentions !== undefined) assert.ok(err.message.includes(mentions), `"${err.message}" should mention ${mentions}`);
    return true;
  });
}

describe('SpiffeId.fromString', () => {
  const valid: Array<[string, string, string, string]> = [
    // input, expected string, trust domain, path
    ['spiffe://example.org', 'spiffe://example.org', 'example.org', ''],
    ['spiffe://example.org/workload', 'spiffe://example.org/workload', 'example.org', '/workload'],
    ['spiffe://example.org/ns/prod/sa/web', 'spiffe://example.org/ns/prod/sa/web', 'example.org', '/ns/prod/sa/web'],
    ['SPIFFE://Example.ORG/Path/To/Web', 'spiffe://example.org/Path/To/Web', 'example.org', '/Path/To/Web'],
    ['Spiffe://example.org/x', 'spiffe://example.org/x', 'example.org', '/x'],
    ['spiffe://example.org/a.b-c_d', 'spiffe://example.org/a.b-c_d', 'example.org', '/a.b-c_d'],
    ['spiffe://example.org/...', 'spiffe://example.org/...', 'example.org', '/...'],
    ['spiffe://example.org/.hidden', 'spiffe://example.org/.hidden', 'example.org', '/.hidden'],
    ['spiffe://example.org/..x', 'spiffe://example.org/..x', 'example.org', '/..x'],
    ['spiffe://192.168.1.1/svc', 'spiffe://192.168.1.1/svc', '192.168.1.1', '/svc'],
    ['spiffe://a_b-c.d/e', 'spiffe://a_b-c.d/e', 'a_b-c.d', '/e'],
    ['spiffe://x/y', 'spiffe://x/y', 'x', '/y'],
  ];
  for (const [input, expected, td, path] of valid) {
    it(`accepts ${input}`, () => {
      const id = SpiffeId.fromString(input);
      assert.equal(id.toString(), expected);
      assert.equal(id.trustDomain.name, td);
      assert.equal(id.path, path);
      assert.equal(JSON.stringify({ id }), JSON.stringify({ id: expected }));
    });
  }

  it('accepts a 2000-byte ID and the 2048-byte maximum', () => {
    const prefix = 'spiffe://example.org/';
    const id2000 = prefix + 'a'.repeat(2000 - prefix.length);
    assert.equal(id2000.length, 2000);
    assert.equal(SpiffeId.fromString(id2000).toString(), id2000);
    const id2048 = prefix + 'b'.repeat(2048 - prefix.length);
    assert.equal(SpiffeId.fromString(id2048).toString(), id2048);
  });

  it('accepts a trust domain of exactly 255 bytes and a path segment made of many segments', () => {
    const td = 'a'.repeat(255);
    assert.equal(SpiffeId.fromString(`spiffe://${td}/x`).trustDomain.name, td);
    const many = '/s'.repeat(500);
    assert.equal(SpiffeId.fromString(`spiffe://example.org${many}`).path, many);
  });

  const invalid: Array<[string, string, string | undefined]> = [
    // input, rule, something the message must mention
    ['', 'empty', undefined],
    ['example.org/workload', 'scheme', 'spiffe://'],
    ['https://example.org/workload', 'scheme', '"https"'],
    ['spiffe:/example.org/workload', 'scheme', undefined],
    ['spiffe:example.org', 'scheme', undefined],
    ['spiffe://', 'trust-domain-empty', undefined],
    ['spiffe:///path', 'trust-domain-empty', undefined],
    ['spiffe://example.org:8080/workload', 'trust-domain-port', '":"'],
    ['spiffe://user@example.org/workload', 'trust-domain-userinfo', '"@"'],
    ['spiffe://user:pass@example.org/workload', 'trust-domain-port', undefined],
    ['spiffe://exa%41mple.org/workload', 'percent-encoding', '"%"'],
    ['spiffe://example.org/work%20load', 'percent-encoding', '"%"'],
    ['spiffe://example.org/workload?x=1', 'query', '"?"'],
    ['spiffe://example.org?x=1', 'query', undefined],
    ['spiffe://example.org/workload#frag', 'fragment', '"#"'],
    ['spiffe://example.org#frag', 'fragment', undefined],
    ['spiffe://example.org/', 'path-trailing-slash', undefined],
    ['spiffe://example.org/workload/', 'path-trailing-slash', undefined],
    ['spiffe://example.org//workload', 'path-empty-segment', '"//"'],
    ['spiffe://example.org/a//b', 'path-empty-segment', undefined],
    ['spiffe://example.org/./workload', 'path-dot-segment', '"."'],
    ['spiffe://example.org/a/..', 'path-dot-segment', '".."'],
    ['spiffe://example.org/a/../b', 'path-dot-segment', undefined],
    ['spiffe://example.org/.', 'path-dot-segment', undefined],
    ['spiffe://example.org/work load', 'path-character', 'U+0020'],
    ['spiffe://example.org/wörk', 'path-character', '"ö"'],
    ['spiffe://example.org/a*b', 'path-character', '"*"'],
    ['spiffe://example.org/a:b', 'path-character', '":"'],
    ['spiffe://example.org/a@b', 'path-character', '"@"'],
    ['spiffe://example.org/a\tb', 'path-character', 'U+0009'],
    ['spiffe://exa mple.org/x', 'trust-domain-character', 'U+0020'],
    ['spiffe://exämple.org/x', 'trust-domain-character', '"ä"'],
    ['spiffe://example!.org/x', 'trust-domain-character', '"!"'],
    ['spiffe://[::1]/x', 'trust-domain-character', '"["'],
    [' spiffe://example.org/x', 'scheme', undefined],
    ['spiffe://example.org/x ', 'path-character', 'U+0020'],
  ];
  for (const [input, rule, mentions] of invalid) {
    it(`rejects ${JSON.stringify(input)} (${rule})`, () => {
      assertRule(() => SpiffeId.fromString(input), rule, mentions);
      assert.throws(
        () => SpiffeId.fromString(input),
        (err: unknown) => (err as SpiffeError).code === 'ERR_SPIFFEID_INVALID',
      );
    });
  }

  it('rejects an ID over 2048 bytes, counting UTF-8 bytes', () => {
    const prefix = 'spiffe://example.org/';
    assertRule(() => SpiffeId.fromString(prefix + 'a'.repeat(2049 - prefix.length)), 'too-long', '2049');
  });

  it('rejects a trust domain over 255 bytes', () => {
    assertRule(() => SpiffeId.fromString(`spiffe://${'a'.repeat(256)}/x`), 'trust-domain-too-long', '256');
  });

  it('throws TypeError on a non-string', () => {
    assert.throws(() => SpiffeId.fromString(42 as unknown as string), TypeError);
    assert.throws(() => SpiffeId.fromString(undefined as unknown as string), TypeError);
  });
});

describe('SpiffeId builders', () => {
  const td = TrustDomain.fromString('example.org');

  it('fromPath builds and validates the path', () => {
    assert.equal(SpiffeId.fromPath(td, '/a/b').toString(), 'spiffe://example.org/a/b');
    assert.equal(SpiffeId.fromPath(td, '').toString(), 'spiffe://example.org');
    assertRule(() => SpiffeId.fromPath(td, 'a/b'), 'path-no-leading-slash');
    assertRule(() => SpiffeId.fromPath(td, '/a/'), 'path-trailing-slash');
    assertRule(() => SpiffeId.fromPath(td, '/a/../b'), 'path-dot-segment');
    assertRule(() => SpiffeId.fromPath(td, '/a?b'), 'query');
    assertRule(() => SpiffeId.fromPath(td, '/' + 'a'.repeat(2048)), 'too-long');
  });

  it('fromSegments joins checked segments', () => {
    assert.equal(SpiffeId.fromSegments(td, 'ns', 'prod', 'sa', 'web').toString(), 'spiffe://example.org/ns/prod/sa/web');
    assert.equal(SpiffeId.fromSegments(td).toString(), 'spiffe://example.org');
    assertRule(() => SpiffeId.fromSegments(td, 'a/b'), 'path-character', '"/"');
    assertRule(() => SpiffeId.fromSegments(td, ''), 'path-empty-segment');
    assertRule(() => SpiffeId.fromSegments(td, '..'), 'path-dot-segment');
    assertRule(() => SpiffeId.fromSegments(td, 'a b'), 'path-character');
  });

  it('builders refuse a non-TrustDomain first argument', () => {
    assert.throws(() => SpiffeId.fromPath('example.org' as unknown as TrustDomain, '/x'), TypeError);
    assert.throws(() => SpiffeId.fromSegments({ name: 'example.org' } as unknown as TrustDomain, 'x'), TypeError);
  });
});

describe('SpiffeId comparisons', () => {
  it('equals compares normalised IDs; the path is case-sensitive', () => {
    const a = SpiffeId.fromString('spiffe://Example.org/Web');
    assert.ok(a.equals(SpiffeId.fromString('spiffe://example.ORG/Web')));
    assert.ok(!a.equals(SpiffeId.fromString('spiffe://example.org/web')));
    assert.ok(!a.equals(SpiffeId.fromString('spiffe://example.com/Web')));
  });

  it('memberOf checks the trust domain', () => {
    const id = SpiffeId.fromString('spiffe://example.org/web');
    assert.ok(id.memberOf(TrustDomain.fromString('EXAMPLE.org')));
    assert.ok(!id.memberOf(TrustDomain.fromString('example.com')));
    assert.ok(!id.memberOf(TrustDomain.fromString('org')));
  });
});

describe('TrustDomain.fromString', () => {
  const valid: Array<[string, string]> = [
    ['example.org', 'example.org'],
    ['Example.ORG', 'example.org'],
    ['spiffe://example.org', 'example.org'],
    ['SPIFFE://EXAMPLE.org', 'example.org'],
    ['spiffe://example.org/some/workload', 'example.org'],
    ['10.0.0.1', '10.0.0.1'],
    ['a-b_c.d', 'a-b_c.d'],
  ];
  for (const [input, name] of valid) {
    it(`accepts ${input}`, () => {
      const td = TrustDomain.fromString(input);
      assert.equal(td.name, name);
      assert.equal(td.toString(), name);
      assert.equal(td.idString(), `spiffe://${name}`);
      assert.equal(td.id().toString(), `spiffe://${name}`);
      assert.equal(td.id().path, '');
    });
  }

  const invalid: Array<[string, string, string]> = [
    ['', 'trust-domain-empty', 'ERR_TRUST_DOMAIN_INVALID'],
    ['example.org:443', 'trust-domain-port', 'ERR_TRUST_DOMAIN_INVALID'],
    ['user@example.org', 'trust-domain-userinfo', 'ERR_TRUST_DOMAIN_INVALID'],
    ['exa%2Emple.org', 'percent-encoding', 'ERR_TRUST_DOMAIN_INVALID'],
    ['example.org/path', 'trust-domain-character', 'ERR_TRUST_DOMAIN_INVALID'],
    ['exa mple', 'trust-domain-character', 'ERR_TRUST_DOMAIN_INVALID'],
    ['a'.repeat(256), 'trust-domain-too-long', 'ERR_TRUST_DOMAIN_INVALID'],
    ['spiffe://', 'trust-domain-empty', 'ERR_SPIFFEID_INVALID'],
    ['spiffe://example.org/a//b', 'path-empty-segment', 'ERR_SPIFFEID_INVALID'],
    ['https://example.org', 'scheme', 'ERR_SPIFFEID_INVALID'],
  ];
  for (const [input, rule, code] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 20) + '…' : input)} (${rule})`, () => {
      assertRule(() => TrustDomain.fromString(input), rule);
      assert.throws(
        () => TrustDomain.fromString(input),
        (err: unknown) => (err as SpiffeError).code === code,
      );
    });
  }

  it('accepts 255 bytes and compares by name', () => {
    assert.equal(TrustDomain.fromString('b'.repeat(255)).name.length, 255);
    assert.ok(TrustDomain.fromString('A.org').equals(TrustDomain.fromString('a.ORG')));
    assert.ok(!TrustDomain.fromString('a.org').equals(TrustDomain.fromString('b.org')));
  });

  it('throws TypeError on a non-string', () => {
    assert.throws(() => TrustDomain.fromString(null as unknown as string), TypeError);
  });
});
