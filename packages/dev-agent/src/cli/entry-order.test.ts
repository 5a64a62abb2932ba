import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseSelector } from '../state/entries.js';
import { compareSelectors, spireEntryOrder, type OrderedEntry } from './entry-order.js';

interface Named extends OrderedEntry {
  name: string;
}

function entry(name: string, spiffeId: string, selectors: string[], more: Partial<OrderedEntry> = {}): Named {
  return {
    name,
    spiffeId,
    parentId: 'spiffe://example.org/host',
    x509SvidTtl: 0,
    jwtSvidTtl: 0,
    selectors: selectors.map(parseSelector),
    ...more,
  };
}

describe("spire-server's entry order", () => {
  it('sorts selectors by type, then value, as bytes', () => {
    const sorted = ['unix:user:root', 'unix:uid:0', 'docker:label:x', 'unix:gid:0', 'unix:path:/é', 'unix:path:/z']
      .map(parseSelector)
      .sort(compareSelectors)
      .map((s) => `${s.type}:${s.value}`);
    assert.deepEqual(sorted, ['docker:label:x', 'unix:gid:0', 'unix:path:/z', 'unix:path:/é', 'unix:uid:0', 'unix:user:root']);
  });

  it('orders entries by trust domain, path, parent, TTLs, then selectors, each with its selectors sorted', () => {
    const given = [
      entry('server', 'spiffe://example.org/server', ['unix:user:server']),
      entry('b-longer-ttl', 'spiffe://example.org/b', ['unix:uid:0'], { x509SvidTtl: 600 }),
      entry('b-two-selectors', 'spiffe://example.org/b', ['unix:user:root', 'unix:uid:0']),
      entry('b-jwt-ttl', 'spiffe://example.org/b', ['unix:uid:0'], { jwtSvidTtl: 60 }),
      entry('b', 'spiffe://example.org/b', ['unix:uid:1']),
      entry('b-lower-selector', 'spiffe://example.org/b', ['unix:uid:0']),
      entry('b-other-parent', 'spiffe://example.org/b', ['unix:uid:0'], { parentId: 'spiffe://example.org/agent' }),
      entry('dotted-td', 'spiffe://a.example.org/z', ['unix:uid:0']),
      entry('partner', 'spiffe://partner.org/a', ['unix:uid:0']),
      entry('client', 'spiffe://example.org/client', ['unix:user:client']),
      // The same as 'b': keeps its place after it.
      entry('b-again', 'spiffe://example.org/b', ['unix:uid:1']),
    ];
    const before = given.map((e) => e.name);
    const ordered = spireEntryOrder(given);
    assert.deepEqual(
      ordered.map((e) => e.name),
      [
        // Trust domains first: "a.example.org" < "example.org" < "partner.org".
        'dotted-td',
        'b-other-parent',
        'b-lower-selector',
        'b',
        'b-again',
        'b-two-selectors',
        'b-jwt-ttl',
        'b-longer-ttl',
        'client',
        'server',
        'partner',
      ],
    );
    assert.deepEqual(
      ordered.find((e) => e.name === 'b-two-selectors')!.selectors.map((s) => s.value),
      ['uid:0', 'user:root'],
    );
    // The input is left as it was.
    assert.deepEqual(
      given.map((e) => e.name),
      before,
    );
    assert.deepEqual(
      given[2]!.selectors.map((s) => s.value),
      ['user:root', 'uid:0'],
    );
  });

  it('compares trust domain and path apart, not the ID as one string', () => {
    // As one string, "spiffe://a.b/x" < "spiffe://a/x" ('.' < '/'); SPIRE compares "a" < "a.b" first.
    const ordered = spireEntryOrder([entry('a.b', 'spiffe://a.b/x', ['unix:uid:0']), entry('a', 'spiffe://a/x', ['unix:uid:0'])]);
    assert.deepEqual(
      ordered.map((e) => e.name),
      ['a', 'a.b'],
    );
  });
});
