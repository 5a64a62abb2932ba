/**
 * Property-based tests of the SPIFFE ID and trust domain parsers against an independent
 * reference of the SPIFFE rules: `SpiffeId.fromString` accepts exactly what the reference
 * accepts, normalises the scheme and trust domain to lowercase, and what it returns re-parses to
 * itself; anything else is a `SpiffeIdError`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpiffeId, SpiffeIdError, TrustDomain } from '@spiffe-node/spiffe';
import { assertProperty, mutatedString, params, typedOutcome } from './config.js';

/** The SPIFFE ID rules, written independently of the library (NOTES §2). */
function reference(input: string): { trustDomain: string; path: string } | undefined {
  if (Buffer.byteLength(input, 'utf8') > 2048) return undefined;
  const m = /^spiffe:\/\/([^/]*)(.*)$/is.exec(input);
  if (!m) return undefined;
  const td = m[1] as string;
  const path = m[2] as string;
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(td)) return undefined;
  if (path !== '') {
    const segments = path.slice(1).split('/');
    if (!path.startsWith('/')) return undefined;
    for (const s of segments) {
      if (!/^[A-Za-z0-9._-]+$/.test(s) || s === '.' || s === '..') return undefined;
    }
  }
  return { trustDomain: td.toLowerCase(), path };
}

/** A string that looks like a SPIFFE ID, with every rule a chance to break. */
const tdChar = fc.constantFrom(...'abcxyz0189.-_', ...'ABZ', ':', '@', '%', ' ', '\u00e9', '\u0000', '?', '#', '+', '~');
const segChar = fc.constantFrom(...'abAZ09._-', '%', '?', '#', ' ', '\u00fc', '\n', '+', '=', '~', '\u{1F600}');
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: segChar, minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '', '...', '.a', 'a.') },
);
const scheme = fc.constantFrom(
  'spiffe://',
  'SPIFFE://',
  'Spiffe://',
  'spiffe:/',
  'spiffe:',
  'spife://',
  'https://',
  '',
  'spiffe:///',
  ' spiffe://',
);
const trustDomainText = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: tdChar, minLength: 0, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 260 }).map((n) => 'a'.repeat(n)) },
);
const idLike = fc
  .tuple(scheme, trustDomainText, fc.array(segment, { maxLength: 6 }), fc.constantFrom('', '', '', '/', '?x=1', '#frag'))
  .map(([s, td, segs, tail]) => `${s}${td}${segs.map((x) => `/${x}`).join('')}${tail}`);
const longId = fc.integer({ min: 2030, max: 2060 }).map((n) => {
  const base = 'spiffe://example.org/';
  return base + 'a'.repeat(n - base.length);
});
const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'binary-ascii', maxLength: 64 }));
const validIds = ['spiffe://example.org/ns/prod/sa/web', 'spiffe://td', 'spiffe://a-b_c.d/x.y/-/_'];
const mutatedIds = fc
  .constantFrom(...validIds)
  .chain((v) => mutatedString(v, fc.constantFrom('/', '.', '%', ':', 'A', 'a', '?', '#', '\u00e9', ' ')));

const inputs = fc.oneof(
  { weight: 6, arbitrary: idLike },
  { weight: 2, arbitrary: mutatedIds },
  { weight: 2, arbitrary: anyString },
  { weight: 1, arbitrary: longId },
);

function checkId(input: string): void {
  const expected = reference(input);
  const outcome = typedOutcome(() => SpiffeId.fromString(input), `SpiffeId.fromString(${JSON.stringify(input.slice(0, 80))})`);
  if (!outcome.ok) {
    assert.ok(outcome.error instanceof SpiffeIdError, String(outcome.error));
    assert.equal(outcome.error.code, 'ERR_SPIFFEID_INVALID');
    assert.equal(expected, undefined, `rejected a valid SPIFFE ID ${JSON.stringify(input)}: ${outcome.error.message}`);
    return;
  }
  assert.notEqual(expected, undefined, `accepted an invalid SPIFFE ID ${JSON.stringify(input)}`);
  const id = outcome.value;
  const text = id.toString();
  assert.equal(text, `spiffe://${expected!.trustDomain}${expected!.path}`);
  assert.equal(id.trustDomain.name, expected!.trustDomain);
  assert.equal(id.path, expected!.path);
  // What the parser returns obeys the rules and re-parses to itself.
  assert.match(text, /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/);
  assert.ok(Buffer.byteLength(text) <= 2048, 'at most 2048 bytes');
  const again = SpiffeId.fromString(text);
  assert.ok(again.equals(id), 're-parses to an equal ID');
  assert.equal(again.toString(), text);
  assert.ok(id.memberOf(id.trustDomain), 'member of its own trust domain');
}

describe('fuzz: SPIFFE IDs', () => {
  it('SpiffeId.fromString accepts exactly the valid IDs, normalised, and re-parses to itself', () => {
    assertProperty(fc.property(inputs, checkId), params(600));
  });

  it('TrustDomain.fromString: a name or an ID, lowercase result, SpiffeIdError otherwise', () => {
    const names = fc.oneof(trustDomainText, idLike, anyString);
    assertProperty(
      fc.property(names, (input) => {
        const outcome = typedOutcome(() => TrustDomain.fromString(input), `TrustDomain.fromString(${JSON.stringify(input.slice(0, 80))})`);
        const expected = input.includes(':/')
          ? reference(input)?.trustDomain
          : /^[A-Za-z0-9._-]{1,255}$/.test(input)
            ? input.toLowerCase()
            : undefined;
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof SpiffeIdError, String(outcome.error));
          assert.equal(expected, undefined, `rejected a valid trust domain ${JSON.stringify(input)}`);
          return;
        }
        assert.equal(outcome.value.name, expected, `accepted ${JSON.stringify(input)}`);
        assert.equal(TrustDomain.fromString(outcome.value.name).name, outcome.value.name);
        assert.equal(outcome.value.idString(), `spiffe://${outcome.value.name}`);
        assert.ok(SpiffeId.fromString(outcome.value.idString()).trustDomain.equals(outcome.value), 'the trust domain ID round-trips');
      }),
      params(400),
    );
  });

  it('SpiffeId.fromPath and fromSegments build only valid IDs', () => {
    const td = TrustDomain.fromString('example.org');
    assertProperty(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.boolean(), (segs, asPath) => {
        const path = segs.map((s) => `/${s}`).join('');
        const outcome = asPath
          ? typedOutcome(() => SpiffeId.fromPath(td, path), `fromPath(${JSON.stringify(path)})`)
          : typedOutcome(() => SpiffeId.fromSegments(td, ...segs), `fromSegments(${JSON.stringify(segs)})`);
        const expected = reference(`spiffe://example.org${path}`);
        if (!outcome.ok) {
          assert.equal(expected, undefined, `rejected ${JSON.stringify(path)}`);
          return;
        }
        assert.notEqual(expected, undefined, `accepted ${JSON.stringify(path)}`);
        assert.equal(outcome.value.toString(), `spiffe://example.org${path}`);
        assert.ok(SpiffeId.fromString(outcome.value.toString()).equals(outcome.value), 're-parses to an equal ID');
      }),
      params(300),
    );
  });

  it('non-string input is a TypeError, not a crash', () => {
    assertProperty(
      fc.property(fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined), fc.object(), fc.array(fc.string())), (value) => {
        typedOutcome(() => SpiffeId.fromString(value as unknown as string), 'SpiffeId.fromString(non-string)', true);
        typedOutcome(() => TrustDomain.fromString(value as unknown as string), 'TrustDomain.fromString(non-string)', true);
      }),
      params(50),
    );
  });
});
