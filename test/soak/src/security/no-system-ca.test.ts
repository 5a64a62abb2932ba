/**
 * No SPIFFE mode falls back to the system CAs or to a host name check:
 *
 * - In a process where Node trusts an extra CA (NODE_EXTRA_CA_CERTS, as a system CA would be), a
 *   server certified by that CA, with the right DNS name and even the right SPIFFE ID, is refused
 *   by every client helper (dial in tls and mtls modes, the https agent, the undici dispatcher),
 *   while a plain Node client accepts it (the control). A SPIFFE mTLS server refuses a client
 *   certified by that CA.
 * - A server whose certificate chains to the SPIFFE bundle and has the DNS name asked for, but
 *   another SPIFFE ID, is refused; the same with the right ID is accepted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { SpiffeId, TlsPeerError, TrustDomain, X509Bundle, X509Svid, authorizeId } from '@spiffe-node/spiffe';
import { dial, listen } from '@spiffe-node/spiffe/tls';
import { TestCa } from '@spiffe-node/test-kit';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spiffe-systemca-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('SPIFFE modes never trust the system CAs', () => {
  it('a server certified by a CA that Node trusts (NODE_EXTRA_CA_CERTS) is refused by every SPIFFE client; a plain client accepts it', () => {
    const web = TestCa.create({ trustDomain: 'web.test' });
    const spiffe = TestCa.create({ trustDomain: 'example.org' });
    const webServer = web.leaf('spiffe://example.org/server', { dnsNames: ['localhost'] });
    const webClient = web.leaf('spiffe://example.org/client', { dnsNames: ['client.local'] });
    const spiffeServer = spiffe.svid('/server', { dnsNames: ['localhost'] });
    const spiffeClient = spiffe.svid('/client');
    const material = {
      webServerCert: webServer.pem,
      webServerKey: webServer.keyPem,
      webClientCert: webClient.pem,
      webClientKey: webClient.keyPem,
      spiffeCa: spiffe.pem,
      spiffeServerCert: spiffeServer.certPem,
      spiffeServerKey: spiffeServer.keyPem,
      spiffeClientCert: spiffeClient.certPem,
      spiffeClientKey: spiffeClient.keyPem,
    };
    const materialFile = join(dir, 'material.json');
    writeFileSync(materialFile, JSON.stringify(material), { mode: 0o600 });
    const caFile = join(dir, 'system-ca.pem');
    writeFileSync(caFile, web.pem);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'system-ca-child.ts'), materialFile], {
      encoding: 'utf8',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      cwd: join(here, '..', '..'),
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `the child failed:\n${r.stdout}${r.stderr}`);
    const results = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
    const report = JSON.stringify(results, null, 2);
    assert.equal(results['control: plain https.get with the default trust'], 'accepted', `Node trusts the extra CA:\n${report}`);
    assert.equal(results['control: SPIFFE server, SPIFFE client certificate'], 'accepted', report);
    for (const name of [
      'dial tls',
      'dial mtls',
      'createSpiffeHttpsAgent',
      'createSpiffeDispatcher',
      'SPIFFE server, client certified by the system CA',
    ]) {
      assert.match(results[name] ?? 'missing', /^refused: /, `${name} must refuse:\n${report}`);
    }
    assert.match(results['dial tls']!, /x509svid|tls: /, 'refused by SPIFFE verification, with its message');
  });

  it('a server with the DNS name asked for but another SPIFFE ID is refused; with the right ID it is accepted', async () => {
    const ca = TestCa.create({ trustDomain: 'example.org' });
    const bundle = X509Bundle.parse(TrustDomain.fromString('example.org'), ca.pem);
    const expected = authorizeId(SpiffeId.fromString('spiffe://example.org/server'));
    const cases: Array<[string, ReturnType<TestCa['svid']>, boolean]> = [
      ['right ID, DNS localhost', ca.svid('/server', { dnsNames: ['localhost'] }), true],
      ['other ID, DNS localhost', ca.svid('/not-server', { dnsNames: ['localhost'] }), false],
      ['no URI SAN, DNS localhost', ca.svid('/server', { uris: [], dnsNames: ['localhost'] }), false],
    ];
    for (const [name, svid, accept] of cases) {
      // The server presents the certificate as is (a plain TLS server: the SVID rules are the client's to check).
      const server = tls.createServer({ cert: svid.certPem, key: svid.keyPem }, (s) => s.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      try {
        const attempt = dial({ mode: 'tls', host: 'localhost', port, bundleSource: bundle, authorizer: expected, timeoutMs: 3000 });
        if (accept) (await attempt).destroy();
        else {
          await assert.rejects(
            attempt,
            (err: unknown) => {
              assert.ok(err instanceof TlsPeerError, `${name}: ${String(err)}`);
              return true;
            },
            name,
          );
        }
      } finally {
        server.close();
      }
    }
    // The library's own server presenting an SVID of another ID with the matching DNS name: the
    // client's message names the ID it refused.
    const other = ca.svid('/not-server', { dnsNames: ['localhost'] });
    const server = listen({ mode: 'tls', host: '127.0.0.1', port: 0, svidSource: X509Svid.parse(other.certPem, other.keyPem) }, (s) =>
      s.end(),
    );
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      await assert.rejects(
        dial({
          mode: 'tls',
          host: 'localhost',
          port: (server.address() as AddressInfo).port,
          bundleSource: bundle,
          authorizer: expected,
          timeoutMs: 3000,
        }),
        (err: unknown) => err instanceof TlsPeerError && /unexpected ID "spiffe:\/\/example\.org\/not-server"/.test(err.message),
      );
    } finally {
      server.close();
    }
  });
});
