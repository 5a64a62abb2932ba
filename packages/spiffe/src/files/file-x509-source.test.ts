import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BundleError, FileSourceError, SourceClosedError, type SpiffeError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { authorizeId } from '../authorize/index.js';
import { TestCa, replaceFileAtomic, type TestSvid } from '../testing/ca.js';
import { recordingLogger, until } from '../workloadapi/testing/fixtures.js';
import { dial, listen, peerIdFromSocket } from '../tls/index.js';
import { type FileX509Source, fileX509Source } from './file-x509-source.js';

const example = TestCa.create({ trustDomain: 'example.org' });
const partner = TestCa.create({ trustDomain: 'partner.org' });
const EXAMPLE = TrustDomain.fromString('example.org');
const PARTNER = TrustDomain.fromString('partner.org');

let dir: string;
const sources: FileX509Source[] = [];

function paths(): { certFile: string; keyFile: string; bundleFile: string; fedFile: string } {
  return {
    certFile: join(dir, 'svid.0.pem'),
    keyFile: join(dir, 'svid.0.key'),
    bundleFile: join(dir, 'bundle.0.pem'),
    fedFile: join(dir, 'federated_bundle.0.0.pem'),
  };
}

const replace = replaceFileAtomic;

function writeSvid(svid: TestSvid): void {
  const p = paths();
  replace(p.certFile, svid.certPem);
  replace(p.keyFile, svid.keyPem);
}

function writeAll(svid: TestSvid): void {
  const p = paths();
  writeSvid(svid);
  replace(p.bundleFile, example.pem);
  replace(p.fedFile, partner.pem);
}

function open(options: Partial<Parameters<typeof fileX509Source>[0]> = {}): FileX509Source {
  const p = paths();
  const source = fileX509Source({ certFile: p.certFile, keyFile: p.keyFile, bundleFile: p.bundleFile, ...options });
  sources.push(source);
  return source;
}

function fileSourceError(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof FileSourceError, String(err));
    assert.equal(err.code, 'ERR_FILE_SOURCE');
    assert.match(err.message, pattern);
    return true;
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-x509-source-'));
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fileX509Source: reading', () => {
  it('serves the SVID, its own bundle and federated bundles from PEM files', () => {
    const svid = example.svid('/web');
    writeAll(svid);
    const source = open({ federatedBundleFiles: { 'partner.org': paths().fedFile } });
    assert.equal(source.getX509Svid().id.toString(), 'spiffe://example.org/web');
    assert.equal(source.trustDomain.name, 'example.org');
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, svid.leaf.fingerprint256);
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities()[0]?.fingerprint256, example.certificate.fingerprint256);
    assert.equal(source.getX509BundleForTrustDomain(PARTNER).authorities()[0]?.fingerprint256, partner.certificate.fingerprint256);
    assert.deepEqual(
      source
        .x509Bundles()
        .map((b) => b.trustDomain.name)
        .sort(),
      ['example.org', 'partner.org'],
    );
    assert.throws(
      () => source.getX509BundleForTrustDomain(TrustDomain.fromString('other.org')),
      (err: unknown) => err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND' && /other\.org/.test(err.message),
    );
  });

  it('reads a chain with an intermediate and a SPIFFE bundle (JSON) as bundle file', async () => {
    const mid = example.intermediate();
    const svid = mid.svid('/db');
    writeSvid(svid);
    const { SpiffeBundle } = await import('../bundle/spiffe-bundle.js');
    const json = SpiffeBundle.fromX509Bundle(example.bundle()).marshal();
    replace(paths().bundleFile, json);
    const source = open();
    assert.equal(source.getX509Svid().certificates.length, 2);
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 1);
  });

  it('holds no bundle when no bundle file is given', () => {
    writeSvid(example.svid('/web'));
    const p = paths();
    const source = fileX509Source({ certFile: p.certFile, keyFile: p.keyFile });
    sources.push(source);
    assert.equal(source.getX509Svid().id.path, '/web');
    assert.throws(() => source.getX509BundleForTrustDomain(EXAMPLE), /no bundle file was given/);
  });

  const bad: Array<{ name: string; setup: () => void; options?: Parameters<typeof open>[0]; error: RegExp }> = [
    {
      name: 'a missing certificate file',
      setup: () => replace(paths().keyFile, example.svid('/a').keyPem),
      error: /svid\.0\.pem: it does not exist/,
    },
    {
      name: 'a key that belongs to another certificate',
      setup: () => {
        replace(paths().certFile, example.svid('/a').certPem);
        replace(paths().keyFile, example.svid('/a').keyPem);
        replace(paths().bundleFile, example.pem);
      },
      error: /private key does not match/,
    },
    {
      name: 'a half-written key',
      setup: () => {
        const svid = example.svid('/a');
        replace(paths().certFile, svid.certPem);
        replace(paths().keyFile, svid.keyPem.slice(0, 60));
        replace(paths().bundleFile, example.pem);
      },
      error: /do not hold a usable X509-SVID/,
    },
    {
      name: 'an expired certificate',
      setup: () => {
        writeSvid(example.svid('/a', { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 60_000) }));
        replace(paths().bundleFile, example.pem);
      },
      error: /expired at/,
    },
    {
      name: 'a certificate that is not an SVID',
      setup: () => {
        writeSvid(example.svid('/a', { uris: [] }));
        replace(paths().bundleFile, example.pem);
      },
      error: /no URI SAN/,
    },
    {
      name: 'a bundle file without certificates',
      setup: () => {
        writeSvid(example.svid('/a'));
        replace(paths().bundleFile, 'not a bundle\n');
      },
      error: /bundle file .*bundle\.0\.pem of "example\.org" cannot be read/,
    },
    {
      name: "a federated bundle file for the SVID's own trust domain",
      setup: () => writeAll(example.svid('/a')),
      options: { federatedBundleFiles: { 'example.org': join(tmpdir(), 'unused.pem') } },
      error: /own trust domain/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} at creation`, () => {
      c.setup();
      assert.throws(() => open(c.options), fileSourceError(c.error));
    });
  }
  it('accepts the valid counterpart of every refused case', () => {
    writeAll(example.svid('/a'));
    assert.equal(open({ federatedBundleFiles: { 'partner.org': paths().fedFile } }).getX509Svid().id.path, '/a');
  });

  it('rejects malformed options with TypeError', () => {
    assert.throws(() => fileX509Source({ certFile: '', keyFile: 'k' }), TypeError);
    assert.throws(() => fileX509Source({ certFile: 'c', keyFile: 'k', pollIntervalMs: 0 }), TypeError);
    assert.throws(() => fileX509Source(null as never), TypeError);
  });

  it('throws ERR_SOURCE_CLOSED after close', async () => {
    writeAll(example.svid('/a'));
    const source = open();
    await source.close();
    assert.throws(
      () => source.getX509Svid(),
      (err: unknown) => err instanceof SourceClosedError && err.code === 'ERR_SOURCE_CLOSED',
    );
    assert.equal(source.reload(), false);
  });
});

describe('fileX509Source: watching', () => {
  it('picks up an atomic replacement and emits update', async () => {
    writeAll(example.svid('/web'));
    const source = open({ watch: true, pollIntervalMs: 5000 });
    const next = example.svid('/web');
    const updated = once(source, 'update');
    writeSvid(next);
    const [svid] = await updated;
    assert.equal(svid.certificates[0].fingerprint256, next.leaf.fingerprint256);
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, next.leaf.fingerprint256);
  });

  it('follows a symlink swap of the whole directory (the helper layout)', async () => {
    // cert_dir/svid.pem -> ..data/svid.pem, ..data -> ..gen1; a rotation swaps ..data.
    const gen = (name: string, svid: TestSvid): void => {
      const d = join(dir, name);
      mkdirSync(d);
      writeFileSync(join(d, 'svid.pem'), svid.certPem);
      writeFileSync(join(d, 'svid_key.pem'), svid.keyPem, { mode: 0o600 });
      writeFileSync(join(d, 'bundle.pem'), example.pem);
    };
    const first = example.svid('/web');
    gen('..gen1', first);
    symlinkSync('..gen1', join(dir, '..data'));
    for (const f of ['svid.pem', 'svid_key.pem', 'bundle.pem']) symlinkSync(join('..data', f), join(dir, f));
    const source = fileX509Source({
      certFile: join(dir, 'svid.pem'),
      keyFile: join(dir, 'svid_key.pem'),
      bundleFile: join(dir, 'bundle.pem'),
      watch: true,
      pollIntervalMs: 5000,
    });
    sources.push(source);
    const second = example.svid('/web');
    gen('..gen2', second);
    const updated = once(source, 'update');
    symlinkSync('..gen2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await updated;
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, second.leaf.fingerprint256);
  });

  it('ignores a torn write and an inconsistent pair with one logged reason, then takes the consistent pair', async () => {
    const first = example.svid('/web');
    writeAll(first);
    const log = recordingLogger();
    const source = open({ watch: true, pollIntervalMs: 50, logger: log.logger });
    const ignored: SpiffeError[] = [];
    const updates: unknown[] = [];
    source.on('ignored', (err: SpiffeError) => ignored.push(err));
    source.on('update', (svid) => updates.push(svid));

    // 1. A torn write: the key file cut in half, written in place (not atomically).
    const second = example.svid('/web');
    writeFileSync(paths().keyFile, second.keyPem.slice(0, second.keyPem.length / 2));
    await until(() => ignored.length === 1, 5000, 'the torn key to be ignored');
    // Polling keeps seeing the same broken state: still one reason, and the old SVID serves.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(source.reload(), false);
    assert.equal(ignored.length, 1);
    assert.equal(log.matching('warn', /ignored the new contents/).length, 1);
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, first.leaf.fingerprint256);
    assert.equal(updates.length, 0);

    // 2. The new certificate next to a key of another one: ignored with its own reason.
    replace(paths().certFile, second.certPem);
    replace(paths().keyFile, first.keyPem);
    await until(() => ignored.length === 2, 5000, 'the mismatched pair to be ignored');
    assert.match(ignored[1]!.message, /private key does not match/);
    assert.match(log.matching('warn', /ignored/)[1]!.message, /kept the SVID spiffe:\/\/example\.org\/web/);
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, first.leaf.fingerprint256);

    // 3. The matching key arrives: the new SVID is taken.
    replace(paths().keyFile, second.keyPem);
    await until(() => updates.length === 1, 5000, 'the consistent pair to be taken');
    assert.equal(source.getX509Svid().certificates[0]?.fingerprint256, second.leaf.fingerprint256);
    assert.equal(ignored.length, 2);
  });

  it('picks up a new bundle (CA rotation) with the same SVID', async () => {
    writeAll(example.svid('/web'));
    const source = open({ watch: true, pollIntervalMs: 5000 });
    const updated = once(source, 'update');
    const nextRoot = TestCa.create({ trustDomain: 'example.org' });
    replace(paths().bundleFile, example.pem + nextRoot.pem);
    await updated;
    assert.equal(source.getX509BundleForTrustDomain(EXAMPLE).authorities().length, 2);
  });

  it('does not emit update when the files are rewritten with the same contents', async () => {
    const svid = example.svid('/web');
    writeAll(svid);
    const source = open({ watch: true, pollIntervalMs: 30 });
    let updates = 0;
    source.on('update', () => updates++);
    writeAll(svid);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates, 0);
    assert.equal(source.reload(), false);
  });

  it('serves a TLS server and client that rotate with the files', async () => {
    // Server and client SVIDs each from their own directory, followed by file sources.
    const serverDir = mkdtempSync(join(tmpdir(), 'srv-'));
    const clientDir = mkdtempSync(join(tmpdir(), 'cli-'));
    const write = (d: string, svid: TestSvid): void => {
      replace(join(d, 'svid.pem'), svid.certPem);
      replace(join(d, 'key.pem'), svid.keyPem);
      replace(join(d, 'bundle.pem'), example.pem);
    };
    write(serverDir, example.svid('/server'));
    write(clientDir, example.svid('/client'));
    const from = (d: string): FileX509Source => {
      const s = fileX509Source({
        certFile: join(d, 'svid.pem'),
        keyFile: join(d, 'key.pem'),
        bundleFile: join(d, 'bundle.pem'),
        watch: true,
        pollIntervalMs: 5000,
      });
      sources.push(s);
      return s;
    };
    const serverSource = from(serverDir);
    const clientSource = from(clientDir);
    const seen: string[] = [];
    const server = listen(
      {
        port: 0,
        host: '127.0.0.1',
        svidSource: serverSource,
        bundleSource: serverSource,
        authorizer: authorizeId(SpiffeId.fromString('spiffe://example.org/client')),
      },
      (socket) => {
        seen.push(String(peerIdFromSocket(socket)));
        socket.end('ok\n');
      },
    );
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const connect = async (): Promise<string> => {
        const socket = await dial({
          host: '127.0.0.1',
          port,
          svidSource: clientSource,
          bundleSource: clientSource,
          authorizer: authorizeId(SpiffeId.fromString('spiffe://example.org/server')),
          timeoutMs: 5000,
        });
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
        const [reply] = await once(socket, 'data');
        assert.equal(String(reply), 'ok\n');
        socket.destroy();
        return fingerprint;
      };
      const firstFingerprint = await connect();
      const rotated = example.svid('/server');
      const updated = once(serverSource, 'update');
      write(serverDir, rotated);
      await updated;
      const secondFingerprint = await connect();
      assert.notEqual(firstFingerprint, secondFingerprint);
      assert.equal(secondFingerprint, rotated.leaf.fingerprint256);
      assert.deepEqual(seen, ['spiffe://example.org/client', 'spiffe://example.org/client']);
    } finally {
      server.close();
      rmSync(serverDir, { recursive: true, force: true });
      rmSync(clientDir, { recursive: true, force: true });
    }
  });
});
