import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError, FileSourceError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { JwtBundle } from '../bundle/jwt-bundle.js';
import { SpiffeBundle } from '../bundle/spiffe-bundle.js';
import { parseAndValidateJwtSvid } from '../svid/jwt/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { TestCa, replaceFileAtomic } from '../testing/ca.js';
import { signJwt } from '../workloadapi/testing/fake-agent.js';
import { recordingLogger, until } from '../workloadapi/testing/fixtures.js';
import { FileChangeWatcher } from './watch.js';
import { type FileBundleSource, fileBundleSource } from './file-bundle-source.js';

const EXAMPLE = TrustDomain.fromString('example.org');
const OTHER = TrustDomain.fromString('other.org');
const ca = TestCa.create({ trustDomain: EXAMPLE });
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let dir: string;
const sources: FileBundleSource[] = [];

const replace = replaceFileAtomic;

function open(options: Partial<Parameters<typeof fileBundleSource>[0]> & { file: string }): FileBundleSource {
  const source = fileBundleSource({ trustDomain: 'example.org', ...options });
  sources.push(source);
  return source;
}

function spiffeBundleJson(): string {
  const bundle = SpiffeBundle.fromX509Bundle(ca.bundle());
  bundle.addJwtAuthority('k1', jwtKey.publicKey);
  return bundle.marshal();
}

function token(aud: string): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: 'spiffe://example.org/client', aud: [aud], exp: now + 300, iat: now }, jwtKey.privateKey, 'k1');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-bundle-source-'));
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fileBundleSource', () => {
  it('reads PEM CA certificates: an X.509 bundle for its trust domain only', () => {
    const file = join(dir, 'bundle.pem');
    replace(file, ca.pem);
    const source = open({ file });
    assert.equal(source.trustDomain.name, 'example.org');
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 1);
    // It verifies an SVID of its trust domain, as any bundle source.
    assert.equal(parseAndVerifyX509Svid(ca.svid('/web').chainDer, source).id.toString(), 'spiffe://example.org/web');
    assert.throws(
      () => source.getX509BundleForTrustDomain(OTHER),
      (e: unknown) => e instanceof BundleError && e.code === 'ERR_BUNDLE_NOT_FOUND' && /only the bundle of "example\.org"/.test(e.message),
    );
    assert.throws(
      () => source.getJwtBundleForTrustDomain(EXAMPLE),
      (e: unknown) => e instanceof BundleError && /holds no JWT authorities/.test(e.message),
    );
    assert.deepEqual(
      source.x509Bundles().map((b) => b.trustDomain.name),
      ['example.org'],
    );
  });

  it('reads a SPIFFE bundle (auto-detected JSON): X.509 and JWT authorities', async () => {
    const file = join(dir, 'bundle.json');
    replace(file, spiffeBundleJson());
    const source = open({ file });
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 1);
    assert.ok(source.getJwtBundleForTrustDomain(EXAMPLE).findJwtAuthority('k1'));
    const svid = await parseAndValidateJwtSvid(token('spiffe://example.org/api'), source, ['spiffe://example.org/api']);
    assert.equal(svid.id.toString(), 'spiffe://example.org/client');
  });

  it('reads a JWK Set of JWT keys with format jwks', () => {
    const file = join(dir, 'jwks.json');
    replace(file, JwtBundle.fromJwtAuthorities(EXAMPLE, new Map([['k1', jwtKey.publicKey]])).marshal());
    const source = open({ file, format: 'jwks', trustDomain: EXAMPLE });
    assert.ok(source.getJwtBundleForTrustDomain(EXAMPLE).findJwtAuthority('k1'));
    assert.throws(() => source.getX509BundleForTrustDomain(EXAMPLE), /holds no X\.509 authorities/);
    assert.deepEqual(source.x509Bundles(), []);
  });

  const bad: Array<{ name: string; contents: string | undefined; format?: 'pem' | 'spiffe'; error: RegExp }> = [
    { name: 'a missing file', contents: undefined, error: /does not exist/ },
    { name: 'a file with no PEM block', contents: 'hello\n', format: 'pem', error: /holds no PEM block/ },
    { name: 'a truncated PEM block', contents: ca.pem.slice(0, 100), error: /cannot be read/ },
    { name: 'truncated JSON', contents: spiffeBundleJson().slice(0, 40), error: /not valid JSON/ },
    { name: 'JSON read as PEM', contents: spiffeBundleJson(), format: 'pem', error: /holds no PEM block/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const file = join(dir, 'bundle');
      if (c.contents !== undefined) replace(file, c.contents);
      assert.throws(
        () => open({ file, format: c.format }),
        (e: unknown) => e instanceof FileSourceError && e.code === 'ERR_FILE_SOURCE' && c.error.test(e.message),
      );
    });
  }
  it('accepts the valid counterparts (PEM as pem, JSON as spiffe)', () => {
    replace(join(dir, 'a'), ca.pem);
    replace(join(dir, 'b'), spiffeBundleJson());
    assert.equal(open({ file: join(dir, 'a'), format: 'pem' }).x509Bundles().length, 1);
    assert.equal(open({ file: join(dir, 'b'), format: 'spiffe' }).x509Bundles().length, 1);
  });

  it('rejects malformed options with TypeError', () => {
    assert.throws(() => fileBundleSource({ trustDomain: 42 as never, file: 'x' }), TypeError);
    assert.throws(() => fileBundleSource({ trustDomain: 'example.org', file: 'x', format: 'der' as never }), TypeError);
  });

  it('follows the file: a new bundle is taken, a torn one ignored once', async () => {
    const file = join(dir, 'bundle.pem');
    replace(file, ca.pem);
    const log = recordingLogger();
    const source = open({ file, watch: true, pollIntervalMs: 50, logger: log.logger });
    const ignored: unknown[] = [];
    source.on('ignored', (e) => ignored.push(e));
    writeFileSync(file, ca.pem.slice(0, ca.pem.length - 40));
    await until(() => ignored.length === 1, 5000, 'the torn bundle to be ignored');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ignored.length, 1);
    assert.equal(log.matching('warn', /kept the previous bundle of "example\.org"/).length, 1);
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 1);
    const updated = once(source, 'update');
    replace(file, ca.pem + TestCa.create({ trustDomain: EXAMPLE }).pem);
    await updated;
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 2);
  });
});

describe('FileChangeWatcher', () => {
  it('notices a change by polling alone (no fs.watch)', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'one');
    let calls = 0;
    const watcher = new FileChangeWatcher([file], () => calls++, { fsWatch: false, pollIntervalMs: 20, debounceMs: 5 });
    try {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(calls, 0, 'no change, no call');
      replace(file, 'two');
      await until(() => calls === 1, 2000, 'the poll to notice the change');
    } finally {
      watcher.close();
    }
  });

  it('debounces a burst of directory events into one call', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'one');
    let calls = 0;
    const watcher = new FileChangeWatcher([file], () => calls++, { pollIntervalMs: 60_000, debounceMs: 80 });
    try {
      for (let i = 0; i < 5; i++) replace(file, `v${i}`);
      await until(() => calls >= 1, 2000, 'the watcher to fire');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(calls, 1);
    } finally {
      watcher.close();
    }
  });
});
