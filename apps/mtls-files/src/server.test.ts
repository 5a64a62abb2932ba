// The diagnostics server as a real process, and every reason it gives produced by a real client
// (curl): no certificate, a certificate from another CA, an expired one, one that is not an SVID, a
// CA certificate, a leaf without digitalSignature, a wrong ID, a wrong trust domain, a leaf outside
// its intermediate's name constraints, a leaf signed with SHA-1. Then the tutorial's own mode
// (plain mode, --root-ca) and the axios client, with files and with the Workload API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  FakeAgent,
  TestCa,
  run,
  startApp,
  startServer,
  tempDir,
  writeFiles,
  x509SvidMessage,
  type Running,
  type TestSvid,
} from './testing/fixtures.js';

const HOUR = 3600_000;
const example = TestCa.create({ trustDomain: 'example.org' });
const mid = example.intermediate();
const partner = TestCa.create({ trustDomain: 'partner.org' });
// Another CA for the same trust domain name, in no bundle of the server: one under its own name,
// one that copies the subject of the real root (a forgery).
const stranger = TestCa.create({ trustDomain: 'example.org', subject: { organization: 'Elsewhere', commonName: 'Stranger CA' } });
const forger = TestCa.create({ trustDomain: 'example.org' });
// An intermediate of the real root whose (non-critical) name constraints permit only partner.org.
const constrained = example.intermediate({ nameConstraints: { critical: false, permitted: { uris: ['partner.org'] } } });

let dir: ReturnType<typeof tempDir>;

/** Writes an SVID as `spiffe api fetch x509 -write` does (svid.0.pem, svid.0.key, bundle.0.pem, ...). */
function svidDir(name: string, svid: TestSvid, federated: TestCa[] = []): string {
  const files: Record<string, string> = { 'svid.0.pem': svid.certPem, 'svid.0.key': svid.keyPem, 'bundle.0.pem': example.pem };
  federated.forEach((ca, i) => (files[`federated_bundle.0.${i}.pem`] = ca.pem));
  return writeFiles(join(dir.path, name), files);
}

/** A client's certificate and key files, for curl. */
function clientFiles(name: string, chainPem: string, keyPem: string): { cert: string; key: string } {
  const d = writeFiles(join(dir.path, name), { 'cert.pem': chainPem, 'key.key': keyPem });
  return { cert: join(d, 'cert.pem'), key: join(d, 'key.key') };
}

/**
 * An environment whose OpenSSL configuration lowers the security level to 0, so that curl
 * presents a SHA-1 signed certificate (at its default level OpenSSL refuses to load it: "ca md
 * too weak"; `--ciphers` comes too late, after the certificate is loaded).
 */
function securityLevelZero(): NodeJS.ProcessEnv {
  const conf = writeFiles(join(dir.path, 'openssl-seclevel0'), {
    'openssl.cnf': 'openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = tls\n[tls]\nCipherString = DEFAULT:@SECLEVEL=0\n',
  });
  return { ...process.env, OPENSSL_CONF: join(conf, 'openssl.cnf') };
}

async function curl(url: string, cacert: string, client?: { cert: string; key: string }, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(
    'curl',
    ['-sS', '--cacert', cacert, ...(client ? ['--cert', client.cert, '--key', client.key] : []), url],
    env ? { env } : {},
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trimEnd();
}

function verdict(body: string): { mTLSValid: boolean; reason?: string; detail?: string; spiffeId?: string } {
  return JSON.parse(body) as { mTLSValid: boolean; reason?: string; detail?: string; spiffeId?: string };
}

before(() => {
  dir = tempDir('mtls-files-');
});
after(() => dir.remove());

describe('server --svid-dir (SPIFFE mode): every reason from a real client', () => {
  let server: Running;
  let url: string;
  let serverDir: string;
  before(async () => {
    // The server's SVID has a DNS SAN for localhost, since curl checks the host name.
    serverDir = svidDir('server', mid.svid('/server', { dnsNames: ['localhost'] }), [partner]);
    ({ server, url } = await startServer(['--svid-dir', serverDir, '--authorize-id', 'spiffe://example.org/client']));
  });
  after(async () => {
    await server.stop();
  });

  const cases: Array<{
    name: string;
    client: () => { cert: string; key: string } | undefined;
    reason?: string;
    detail?: RegExp;
    valid?: string;
    /** curl's OpenSSL at security level 0 (a client presenting a SHA-1 chain). */
    weakClient?: boolean;
  }> = [
    {
      name: 'the expected client SVID (with its intermediate)',
      client: () => {
        const s = mid.svid('/client');
        return clientFiles('ok', s.certPem, s.keyPem);
      },
      valid: 'spiffe://example.org/client',
    },
    { name: 'no client certificate', client: () => undefined, reason: 'NO_CLIENT_CERTIFICATE', detail: /the client sent no certificate/ },
    {
      name: 'a certificate (with its intermediate) from another CA',
      client: () => {
        const s = stranger.intermediate().svid('/client');
        return clientFiles('stranger', s.certPem, s.keyPem);
      },
      reason: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      detail: /^unable to get local issuer certificate$/,
    },
    {
      name: "a leaf signed by a CA that copies the real root's name",
      client: () => {
        const s = forger.svid('/client');
        return clientFiles('forger', s.certPem, s.keyPem);
      },
      reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      detail: /^unable to verify the first certificate$/,
    },
    {
      name: 'an expired SVID',
      client: () => {
        const s = example.svid('/client', { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) });
        return clientFiles('expired', s.certPem, s.keyPem);
      },
      reason: 'CERT_HAS_EXPIRED',
      detail: /^certificate has expired$/,
    },
    {
      name: 'a certificate that is not an SVID (no URI SAN)',
      client: () => {
        const s = example.svid('/client', { uris: [], dnsNames: ['client.example.org'] });
        return clientFiles('not-svid', s.certPem, s.keyPem);
      },
      reason: 'NOT_AN_SVID',
      detail: /leaf certificate has no URI SAN/,
    },
    {
      name: 'a CA certificate as client certificate',
      client: () => {
        const s = example.svid('/client', { isCa: true, keyUsage: ['digitalSignature', 'keyCertSign'] });
        return clientFiles('ca-leaf', s.certPem, s.keyPem);
      },
      reason: 'NOT_A_LEAF',
      detail: /leaf certificate must not be a CA/,
    },
    {
      name: 'a leaf without the digitalSignature key usage',
      client: () => {
        const s = example.svid('/client', { keyUsage: ['keyAgreement'] });
        return clientFiles('no-ds', s.certPem, s.keyPem);
      },
      reason: 'INVALID_SVID',
      detail: /digitalSignature/,
    },
    {
      name: 'another ID',
      client: () => {
        const s = example.svid('/other');
        return clientFiles('other', s.certPem, s.keyPem);
      },
      reason: 'UNEXPECTED_ID',
      detail: /^unexpected ID "spiffe:\/\/example\.org\/other"$/,
    },
    {
      name: "an SVID of partner.org signed by example.org's CA (a trust domain mismatch Node cannot see)",
      client: () => {
        const s = example.svid('spiffe://partner.org/client');
        return clientFiles('cross', s.certPem, s.keyPem);
      },
      reason: 'WRONG_TRUST_DOMAIN',
      detail: /could not verify leaf certificate/,
    },
    // Node refuses these two chains with its code UNSPECIFIED (OpenSSL's error has no name in
    // Node): the reason and the detail are the verifier's.
    {
      name: "a leaf outside its intermediate's name constraints",
      client: () => {
        const s = constrained.svid('/client');
        return clientFiles('constrained', s.certPem, s.keyPem);
      },
      reason: 'NAME_CONSTRAINT_VIOLATION',
      detail: /name constraints/,
    },
    {
      name: 'a leaf signed with ecdsa-with-SHA1',
      client: () => {
        const s = mid.svid('/client', { weakDigest: 'sha1' });
        return clientFiles('sha1', s.certPem, s.keyPem);
      },
      weakClient: true,
      reason: 'WEAK_SIGNATURE',
      detail: /SHA-?1/i,
    },
  ];
  for (const c of cases) {
    it(`${c.valid ? 'accepts' : 'explains'} ${c.name}`, async () => {
      const body = await curl(url, join(serverDir, 'bundle.0.pem'), c.client(), c.weakClient ? securityLevelZero() : undefined);
      const v = verdict(body);
      if (c.valid !== undefined) {
        assert.equal(body, `{"mTLSValid": true, "spiffeId": "${c.valid}"}`);
      } else {
        assert.equal(v.mTLSValid, false, body);
        assert.equal(v.reason, c.reason, body);
        assert.match(v.detail ?? '', c.detail as RegExp);
        assert.match(body, /^\{"mTLSValid": false, "reason": "[A-Z_]+", "detail": ".*"\}$/);
      }
    });
  }
});

describe('server --authorize-td', () => {
  it('accepts a federated client of the named trust domain and explains WRONG_TRUST_DOMAIN for the others', async () => {
    const serverDir = svidDir('server-td', example.svid('/server', { dnsNames: ['localhost'] }), [partner]);
    const { server, url } = await startServer(['--svid-dir', serverDir, '--authorize-td', 'partner.org']);
    try {
      const fromPartner = partner.svid('/client');
      const ok = verdict(await curl(url, join(serverDir, 'bundle.0.pem'), clientFiles('partner', fromPartner.certPem, fromPartner.keyPem)));
      assert.deepEqual(ok, { mTLSValid: true, spiffeId: 'spiffe://partner.org/client' });
      const local = example.svid('/client');
      const refused = verdict(await curl(url, join(serverDir, 'bundle.0.pem'), clientFiles('local', local.certPem, local.keyPem)));
      assert.equal(refused.reason, 'WRONG_TRUST_DOMAIN');
      assert.match(refused.detail ?? '', /spiffe:\/\/example\.org\/client/);
    } finally {
      await server.stop();
    }
  });

  it('refuses combinations that make no sense', async () => {
    const result = await startApp('server', ['--svid-dir', dir.path, '--root-ca', 'x.pem']).exited;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--root-ca is for the plain mode/);
  });
});

describe("server --cert --key [--root-ca] (plain mode, the tutorial's)", () => {
  // The tutorial's two CAs: the server's certificates from one, the client's from the other.
  const serverCa = TestCa.create({ trustDomain: 'server.test' });
  const clientCa = TestCa.create({ trustDomain: 'client.test' });
  const web = serverCa.leaf('/unused', { uris: [], dnsNames: ['localhost'] });
  // The tutorial's client presents a chain: its certificate and the client CA's intermediate.
  const clientMid = clientCa.intermediate();
  const client = clientMid.leaf('/unused', { uris: [], dnsNames: ['localhost'] });
  let files: { serverCert: string; serverKey: string; serverCa: string; clientCa: string; client: { cert: string; key: string } };
  before(() => {
    const d = writeFiles(join(dir.path, 'seed'), {
      'localhost-server-cert.pem': web.pem,
      'localhost-server-key.key': web.keyPem,
      'root-ca-cert.pem': serverCa.pem,
      'alternate-root-ca-cert.pem': clientCa.pem,
      'localhost-client-chain.pem': client.pem + clientMid.pem,
      'localhost-client-key.key': client.keyPem,
    });
    files = {
      serverCert: join(d, 'localhost-server-cert.pem'),
      serverKey: join(d, 'localhost-server-key.key'),
      serverCa: join(d, 'root-ca-cert.pem'),
      clientCa: join(d, 'alternate-root-ca-cert.pem'),
      client: { cert: join(d, 'localhost-client-chain.pem'), key: join(d, 'localhost-client-key.key') },
    };
  });

  it('without the client CA: NO_CLIENT_CERTIFICATE, then UNABLE_TO_GET_ISSUER_CERT_LOCALLY', async () => {
    const { server, url } = await startServer(['--cert', files.serverCert, '--key', files.serverKey]);
    try {
      const none = verdict(await curl(url, files.serverCa));
      assert.equal(none.reason, 'NO_CLIENT_CERTIFICATE');
      assert.match(none.detail ?? '', /Node reports UNABLE_TO_GET_ISSUER_CERT/);
      assert.equal(
        await curl(url, files.serverCa, files.client),
        '{"mTLSValid": false, "reason": "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "detail": "unable to get local issuer certificate"}',
      );
    } finally {
      await server.stop();
    }
  });

  it('with --root-ca of the client CA: {"mTLSValid": true}, and the axios client prints the same', async () => {
    const { server, url } = await startServer(['--cert', files.serverCert, '--key', files.serverKey, '--root-ca', files.clientCa]);
    try {
      assert.equal(await curl(url, files.serverCa, files.client), '{"mTLSValid": true}');
      const request = await startApp('request', [
        '--key',
        files.client.key,
        '--cert',
        files.client.cert,
        '--root-ca',
        files.serverCa,
        '--url',
        url,
      ]).exited;
      assert.equal(request.code, 0, request.stderr);
      assert.equal(request.stdout, '{"mTLSValid": true}\n');
      const oneWay = await startApp('request', ['--root-ca', files.serverCa, '--url', url]).exited;
      assert.equal(oneWay.code, 0, oneWay.stderr);
      assert.match(oneWay.stdout, /^\{"mTLSValid": false, "reason": "NO_CLIENT_CERTIFICATE", /);
    } finally {
      await server.stop();
    }
  });
});

describe('request --spiffe', () => {
  it("presents the Workload API's SVID and checks the server's", async () => {
    const serverDir = svidDir('server-wl', example.svid('/server', { dnsNames: ['localhost'] }));
    const { server, url } = await startServer(['--svid-dir', serverDir, '--authorize-id', 'spiffe://example.org/client']);
    const agent = await FakeAgent.start();
    try {
      agent.setX509SvidResponse({ svids: [x509SvidMessage(mid.svid('/client'), [example.certificate])] });
      const ok = await startApp('request', [
        '--spiffe',
        '--socket',
        agent.address,
        '--server-id',
        'spiffe://example.org/server',
        '--url',
        url,
      ]).exited;
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, '{"mTLSValid": true, "spiffeId": "spiffe://example.org/client"}\n');
      // The client refuses a server with another ID before sending anything.
      const refused = await startApp('request', [
        '--spiffe',
        '--socket',
        agent.address,
        '--server-id',
        'spiffe://example.org/api',
        '--url',
        url,
      ]).exited;
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^Request failed: .*unexpected ID "spiffe:\/\/example\.org\/server"/);
    } finally {
      await agent.close();
      await server.stop();
    }
  });
});
