import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DevAgentError } from '../errors.js';
import { tempDir } from '../testing/agent-process.js';
import { entryMatches, EntryStore, parseSelector, validateEntryId, validateEntryParams, type EntryParams } from './entries.js';

const ctx = { localTrustDomains: ['example.org', 'partner.org'], defaultParentId: 'spiffe://example.org/host' };
const valid: EntryParams = { spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1000'] };

describe('registration entries', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('parses selectors as type:value, the value keeping its colons', () => {
    assert.deepEqual(parseSelector('unix:uid:1000'), { type: 'unix', value: 'uid:1000' });
    assert.deepEqual(parseSelector('k8s:pod-label:app:web'), { type: 'k8s', value: 'pod-label:app:web' });
    for (const bad of ['unix', ':x', 'unix:']) assert.throws(() => parseSelector(bad), /must be formatted as type:value/);
  });

  it('validates and normalises entry parameters', () => {
    const e = validateEntryParams(
      {
        ...valid,
        spiffeId: 'SPIFFE://Example.ORG/Web',
        selectors: ['unix:uid:1', { type: 'unix', value: 'uid:1' }, 'unix:gid:2'],
        federatesWith: ['spiffe://partner.org', 'partner.org'],
        dnsNames: ['a.local', '*.b.local'],
      },
      ctx,
    );
    assert.equal(e.spiffeId, 'spiffe://example.org/Web');
    assert.equal(e.parentId, 'spiffe://example.org/host');
    assert.deepEqual(e.selectors, [
      { type: 'unix', value: 'uid:1' },
      { type: 'unix', value: 'gid:2' },
    ]);
    assert.deepEqual(e.federatesWith, ['partner.org']);
    assert.equal(e.x509SvidTtl, 0);
    assert.equal(e.hint, '');
    const cases: Array<{ params: EntryParams; error: RegExp }> = [
      { params: { ...valid, spiffeId: '' }, error: /SPIFFE ID is required/ },
      { params: { ...valid, spiffeId: 'https://example.org/web' }, error: /not a valid SPIFFE ID/ },
      { params: { ...valid, spiffeId: 'spiffe://example.org' }, error: /has no path/ },
      { params: { ...valid, spiffeId: 'spiffe://other.org/web' }, error: /not in a trust domain this agent issues for/ },
      { params: { ...valid, parentId: 'nope' }, error: /not a valid parent ID/ },
      { params: { ...valid, selectors: [] }, error: /at least one selector/ },
      { params: { ...valid, selectors: ['unix'] }, error: /type:value/ },
      { params: { ...valid, x509SvidTtl: -1 }, error: /x509SVIDTTL/ },
      { params: { ...valid, jwtSvidTtl: 1.5 }, error: /jwtSVIDTTL/ },
      { params: { ...valid, dnsNames: ['bad_name'] }, error: /not a valid DNS name/ },
      { params: { ...valid, dnsNames: ['-a.b'] }, error: /not a valid DNS name/ },
      { params: { ...valid, federatesWith: ['example.org'] }, error: /its own trust domain/ },
      { params: { ...valid, federatesWith: ['unknown.org'] }, error: /no bundle for federated trust domain/ },
      { params: { ...valid, federatesWith: ['Not A Domain'] }, error: /not a valid trust domain/ },
    ];
    for (const c of cases) {
      assert.throws(
        () => validateEntryParams(c.params, ctx),
        (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_ENTRY_INVALID' && c.error.test(err.message),
        JSON.stringify(c.params),
      );
    }
  });

  it('matches a caller only when it has every selector of the entry', async () => {
    const store = await EntryStore.open(join(dir.path));
    const entry = await store.create({ ...valid, spiffeId: 'spiffe://example.org/m', selectors: ['unix:uid:1', 'unix:gid:2'] }, ctx);
    assert.ok(entryMatches(entry, new Set(['unix:uid:1', 'unix:gid:2', 'unix:user:x'])));
    assert.ok(!entryMatches(entry, new Set(['unix:uid:1'])));
    assert.ok(!entryMatches(entry, new Set(['unix:uid:1', 'unix:gid:3'])));
  });

  it('persists entries in creation order to a 0600 file, refuses duplicates, deletes by ID', async () => {
    const path = join(dir.path, 'store');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path, { mode: 0o700 });
    const store = await EntryStore.open(path);
    const created = await Promise.all(
      ['a', 'b', 'c'].map((n) => store.create({ spiffeId: `spiffe://example.org/${n}`, selectors: [`unix:user:${n}`] }, ctx)),
    );
    assert.equal(statSync(join(path, 'entries.json')).mode & 0o777, 0o600);
    await assert.rejects(
      store.create({ spiffeId: 'spiffe://example.org/a', selectors: ['unix:user:a'] }, ctx),
      (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_ENTRY_EXISTS' && err.message === 'similar entry already exists',
    );
    // Same ID and parent with other selectors is a different entry.
    await store.create({ spiffeId: 'spiffe://example.org/a', selectors: ['unix:user:a2'] }, ctx);
    await store.delete(created[1]!.id);
    await assert.rejects(
      store.delete(created[1]!.id),
      (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_ENTRY_NOT_FOUND',
    );
    const reopened = await EntryStore.open(path);
    assert.deepEqual(
      reopened.list().map((e) => [e.spiffeId, e.selectors[0]!.value]),
      [
        ['spiffe://example.org/a', 'user:a'],
        ['spiffe://example.org/c', 'user:c'],
        ['spiffe://example.org/a', 'user:a2'],
      ],
    );
    assert.match(reopened.list()[0]!.id, /^[0-9a-f-]{36}$/);
  });

  it("checks caller-chosen entry IDs by SPIRE's rules", () => {
    const valid = ['a', 'web-1', 'A.b_c-9', '.', '..', 'x'.repeat(255), '2f0c3f5e-7a47-4b55-9c38-2a0c7d0b5b0e'];
    for (const id of valid) assert.equal(validateEntryId(id), id);
    for (const none of [undefined, '']) assert.equal(validateEntryId(none), undefined);
    const invalid: Array<[string, RegExp]> = [
      ['x'.repeat(256), /entry ID is too long \(256 characters; at most 255\)/],
      ['bad id', /contains invalid characters/],
      ['a/b', /contains invalid characters/],
      ['é', /contains invalid characters/],
      ['a:b', /contains invalid characters/],
    ];
    for (const [id, error] of invalid) {
      assert.throws(
        () => validateEntryId(id),
        (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_ENTRY_INVALID' && error.test(err.message),
        id,
      );
    }
    assert.throws(() => validateEntryId(42), TypeError);
  });

  it('stores an entry under the ID the caller chose, refusing one taken (after the similar-entry check)', async () => {
    const path = join(dir.path, 'chosen');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path, { mode: 0o700 });
    const store = await EntryStore.open(path);
    const chosen = await store.create({ id: 'web-1', spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1'] }, ctx);
    assert.equal(chosen.id, 'web-1');
    const generated = await store.create({ id: '', spiffeId: 'spiffe://example.org/web2', selectors: ['unix:uid:1'] }, ctx);
    assert.match(generated.id, /^[0-9a-f-]{36}$/);
    const rejects = (params: EntryParams, code: string, message: RegExp) =>
      assert.rejects(
        store.create(params, ctx),
        (err: unknown) => err instanceof DevAgentError && err.code === code && message.test(err.message),
      );
    // Another entry under a taken ID.
    await rejects(
      { id: 'web-1', spiffeId: 'spiffe://example.org/other', selectors: ['unix:uid:2'] },
      'ERR_ENTRY_EXISTS',
      /^an entry with ID "web-1" already exists/,
    );
    // The same entry again under any ID: SPIRE reports the similar entry first.
    await rejects(
      { id: 'web-1', spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1'] },
      'ERR_ENTRY_EXISTS',
      /^similar entry already exists$/,
    );
    await rejects(
      { id: 'web-9', spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1'] },
      'ERR_ENTRY_EXISTS',
      /^similar entry already exists$/,
    );
    await rejects(
      { id: 'no good', spiffeId: 'spiffe://example.org/other', selectors: ['unix:uid:2'] },
      'ERR_ENTRY_INVALID',
      /invalid characters/,
    );
    // Once the ID is free again, it can be used.
    await store.delete('web-1');
    assert.equal((await store.create({ id: 'web-1', spiffeId: 'spiffe://example.org/other', selectors: ['unix:uid:2'] }, ctx)).id, 'web-1');
    assert.deepEqual(
      (await EntryStore.open(path)).list().map((e) => e.id),
      [generated.id, 'web-1'],
    );
  });
});
