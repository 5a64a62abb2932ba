// The gateway, the employee service and the dev agent as real processes on real sockets: every
// authentication rule, the forwarded client identity, and the upstream's trust in it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { JwtSource, X509Source } from '@spiffe-node/spiffe';
import { TestCa } from '@spiffe-node/test-kit';
import { parseXfcc } from '../src/xfcc.js';
import {
  AppProcess,
  CLIENT_ID,
  FRONT_PROXY_ID,
  GATEWAY_ID,
  STRANGER_ID,
  TestAgent,
  UPSTREAM_ID,
  call,
  writeFile,
  type CallOptions,
  type Reply,
  type Who,
} from './helpers.js';

const sha256 = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const oneLine = (pem: string): string => pem.replace(/\n/g, ' ').trim();

// Non-SPIFFE certificates for pinning (no URI SAN).
const pinCa = TestCa.create({ trustDomain: 'pinned.test' });
const pinnedLeaf = pinCa.leaf('/x', { uris: [], subject: { commonName: 'employee-client' } });
const expiredLeaf = pinCa.leaf('/x', {
  uris: [],
  subject: { commonName: 'expired-client' },
  notBefore: new Date(Date.now() - 2 * 86_400_000),
  notAfter: new Date(Date.now() - 86_400_000),
});
const partnerCa = TestCa.create({ trustDomain: 'partner.test', subject: { commonName: 'Partner CA' } });
const partnerLeaf = partnerCa.leaf('/x', { uris: [], subject: { commonName: 'partner-client' } });
const wrongLeaf = TestCa.create({ trustDomain: 'wrong.test' }).leaf('/x', { uris: [], subject: { commonName: 'employee-client' } });

const agent = new TestAgent();
const sources = new Map<Who, X509Source>();
let jwtSource: JwtSource;
let bundle: string;
let upstream: AppProcess;
let gateway: AppProcess;
let xfccGateway: AppProcess;
let gatewayPort: number;
let xfccGatewayPort: number;
let upstreamPort: number;
let echo: http.Server;
let echoPort: number;
const dir = join(agent.dir, 'gateway');

/** Presents the X509-SVID of `who` (chain and key, PEM). */
function svid(who: Who): { cert: string; key: string; leafHash: string; chainPem: string } {
  const s = sources.get(who)!.getX509Svid();
  const { certificates, privateKey } = s.marshal();
  return { cert: certificates, key: privateKey, leafHash: sha256(s.certificates[0]!.raw), chainPem: certificates };
}

function gw(path: string, options: CallOptions = {}): Promise<Reply> {
  return call(bundle, gatewayPort, path, options);
}

/** Waits for a gateway line printed at or after `from`. */
function logged(process: AppProcess, from: number, pattern: RegExp): Promise<string> {
  return process.waitForLine(pattern, from, 5_000);
}

function assertRejected(reply: Reply, rule: string, api: string): void {
  assert.equal(reply.status, 401, reply.text);
  assert.deepEqual(reply.json, { error: 'unauthorized', rule, api, message: reply.json.message });
  assert.equal(typeof reply.json.message, 'string');
}

/** The XFCC the echo upstream received, parsed (asserting there is exactly one element). */
function forwardedXfcc(reply: Reply): ReturnType<typeof parseXfcc>[number] {
  assert.equal(reply.status, 200, reply.text);
  const header = reply.json.headers['x-forwarded-client-cert'];
  assert.equal(typeof header, 'string', 'the upstream received no x-forwarded-client-cert');
  const elements = parseXfcc(header);
  assert.equal(elements.length, 1, `one element expected: ${header}`);
  return elements[0]!;
}

function writeConfig(): void {
  const mandatory = `
name: EchoMandatory
basePath: /mandatory
version: "1.0"
endpointConfigurations: { production: { endpoint: "http://127.0.0.1:${echoPort}" } }
operations:
  - { target: /headers, verb: GET, secured: true }
  - { target: /public, verb: GET, secured: false }
authentication:
  - authType: mTLS
    required: mandatory
    certificates:
      - { name: mtls-configmap, key: tls.crt }
      - { name: mtls-secret, key: tls.crt }
    spiffeIds: [${CLIENT_ID}]
`;
  writeFile(join(dir, 'apis', 'echo-mandatory.apk-conf'), mandatory);
  writeFile(join(dir, 'apis-xfcc', 'echo-mandatory.apk-conf'), mandatory);
  writeFile(
    join(dir, 'apis', 'echo-optional.apk-conf'),
    `
name: EchoOptional
basePath: /optional
version: "1.0"
endpointConfigurations: { production: { endpoint: "http://127.0.0.1:${echoPort}" } }
operations:
  - { target: /headers, verb: GET }
authentication:
  - authType: mTLS
    required: optional
    spiffeIds: [${CLIENT_ID}]
  - authType: JWT
    audience: ${GATEWAY_ID}
`,
  );
  writeFile(
    join(dir, 'apis', 'EmployeeServiceAPI.apk-conf'),
    `
name: "EmployeeServiceAPI"
basePath: "/employee"
version: "3.14"
type: "REST"
defaultVersion: false
id: "mtls-api"
endpointConfigurations:
  production:
    endpoint: "https://127.0.0.1:${upstreamPort}"
    spiffeId: "${UPSTREAM_ID}"
operations:
  - { target: "/employee", verb: "GET", secured: true, scopes: [] }
  - { target: "/employee", verb: "POST", secured: true, scopes: [] }
authentication:
  - authType: mTLS
    required: mandatory
    certificates: [{ name: mtls-configmap, key: tls.crt }]
    spiffeIds: [${CLIENT_ID}]
`,
  );
  // A ConfigMap key with two pinned certificates, and a Secret key with a CA and (skipped) a key block.
  writeFile(join(dir, 'certs', 'mtls-configmap', 'tls.crt'), pinnedLeaf.pem + expiredLeaf.pem);
  writeFile(join(dir, 'certs', 'mtls-secret', 'tls.crt'), `${partnerCa.pem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`);
  writeFile(
    join(dir, 'gateway.yaml'),
    `apis: [apis/]\ncertificatesDir: certs\ntrustedProxies: [${FRONT_PROXY_ID}]\nforwardClientCert: { cert: true }\n`,
  );
  writeFile(
    join(dir, 'gateway-xfcc.yaml'),
    `apis: [apis-xfcc]\ncertificatesDir: certs\nclientCertificateHeader: x-forwarded-client-cert\ntrustedProxies: [${FRONT_PROXY_ID}]\n`,
  );
}

before(async () => {
  await agent.start();
  bundle = agent.bundlePem();
  for (const who of ['client', 'stranger', 'front-proxy', 'gateway'] as const) {
    sources.set(who, await X509Source.create({ address: agent.socket(who), timeoutMs: 20_000 }));
  }
  jwtSource = await JwtSource.create({ address: agent.socket('client'), timeoutMs: 20_000 });
  echo = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  upstream = new AppProcess('upstream', { SPIFFE_ENDPOINT_SOCKET: agent.socket('upstream') }, ['--port', '0', '--host', '127.0.0.1']);
  upstreamPort = await upstream.port();
  writeConfig();
  gateway = new AppProcess('gateway', { SPIFFE_ENDPOINT_SOCKET: agent.socket('gateway') }, [
    '--config',
    join(dir, 'gateway.yaml'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
  ]);
  xfccGateway = new AppProcess('gateway', { SPIFFE_ENDPOINT_SOCKET: agent.socket('gateway') }, [
    '--config',
    join(dir, 'gateway-xfcc.yaml'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
  ]);
  [gatewayPort, xfccGatewayPort] = await Promise.all([gateway.port(), xfccGateway.port()]);
});

after(async () => {
  await Promise.all([gateway?.stop(), xfccGateway?.stop(), upstream?.stop()]);
  for (const source of sources.values()) await source.close();
  await jwtSource?.close();
  echo?.close();
  await agent.stop();
});

describe('mandatory mTLS', () => {
  it('rejects a request without a certificate: 401 mtls_required, one log line naming API, rule and peer', async () => {
    const from = gateway.lines.length;
    assertRejected(await gw('/mandatory/1.0/headers'), 'mtls_required', 'EchoMandatory');
    const line = await logged(gateway, from, /^Rejected /);
    assert.match(
      line,
      /^Rejected GET \/mandatory\/1\.0\/headers: api=EchoMandatory rule=mtls_required peer=127\.0\.0\.1:\d+ reason="no client certificate"$/,
    );
  });

  it('accepts a pinned certificate and forwards its hash (and Cert, as configured) in XFCC, without a URI', async () => {
    const reply = await gw('/mandatory/1.0/headers', { cert: pinnedLeaf.pem, key: pinnedLeaf.keyPem });
    const xfcc = forwardedXfcc(reply);
    assert.equal(xfcc.by, GATEWAY_ID);
    assert.equal(xfcc.hash, sha256(pinnedLeaf.der));
    assert.deepEqual(xfcc.uri, []);
    assert.equal(xfcc.cert?.replace(/\s/g, ''), pinnedLeaf.pem.replace(/\s/g, ''));
    assert.equal(reply.json.url, '/headers');
  });

  it('accepts a certificate issued by a pinned CA (from the Secret)', async () => {
    const xfcc = forwardedXfcc(await gw('/mandatory/1.0/headers', { cert: partnerLeaf.pem, key: partnerLeaf.keyPem }));
    assert.equal(xfcc.hash, sha256(partnerLeaf.der));
  });

  it('rejects a certificate that is neither pinned nor issued by a pinned CA: certificate_not_accepted', async () => {
    const from = gateway.lines.length;
    assertRejected(
      await gw('/mandatory/1.0/headers', { cert: wrongLeaf.pem, key: wrongLeaf.keyPem }),
      'certificate_not_accepted',
      'EchoMandatory',
    );
    assert.match(await logged(gateway, from, /^Rejected /), /rule=certificate_not_accepted .*not one of the pinned certificates/);
  });

  it('rejects a pinned certificate that has expired', async () => {
    const reply = await gw('/mandatory/1.0/headers', { cert: expiredLeaf.pem, key: expiredLeaf.keyPem });
    assertRejected(reply, 'certificate_not_accepted', 'EchoMandatory');
  });

  it('accepts the X509-SVID of a listed SPIFFE ID and forwards the ID as URI', async () => {
    const client = svid('client');
    const xfcc = forwardedXfcc(await gw('/mandatory/1.0/headers', { cert: client.cert, key: client.key }));
    assert.equal(xfcc.by, GATEWAY_ID);
    assert.equal(xfcc.hash, client.leafHash);
    assert.deepEqual(xfcc.uri, [CLIENT_ID]);
  });

  it('rejects the X509-SVID of an ID that is not listed', async () => {
    const from = gateway.lines.length;
    const stranger = svid('stranger');
    assertRejected(
      await gw('/mandatory/1.0/headers', { cert: stranger.cert, key: stranger.key }),
      'certificate_not_accepted',
      'EchoMandatory',
    );
    assert.match(
      await logged(gateway, from, /^Rejected /),
      new RegExp(`rule=certificate_not_accepted .*unexpected ID \\\\"${STRANGER_ID}\\\\"`),
    );
  });

  it("logs a hostile certificate's URI SAN (a newline, a forged log line, terminal escapes) escaped, on its one line", async () => {
    const from = gateway.lines.length;
    const forged = 'GET /mandatory/1.0/headers -> EchoMandatory: spiffe://example.org/admin';
    const hostile = TestCa.create({ trustDomain: 'example.org' }).leaf('/x', { uris: [`spiffe://example.org/x\n${forged}\u001b[2K\r`] });
    assertRejected(
      await gw('/mandatory/1.0/headers', { cert: hostile.pem, key: hostile.keyPem }),
      'certificate_not_accepted',
      'EchoMandatory',
    );
    const line = await logged(gateway, from, /^Rejected /);
    assert.match(line, /rule=certificate_not_accepted .*not a valid SPIFFE ID/);
    const since = gateway.lines.slice(from);
    assert.ok(!since.some((l) => l.startsWith(forged)), `a log line was forged:\n${since.join('\n')}`);
    assert.ok(
      !since.some((l) => /[\u0000-\u0008\u000b-\u001f\u007f]/.test(l)),
      `a control character reached the log:\n${JSON.stringify(since)}`,
    );
  });

  it('forwards to an https:// endpoint over SPIFFE mTLS, and the employee service sees the client through the gateway', async () => {
    const client = svid('client');
    const reply = await gw('/employee/3.14/employee', { cert: client.cert, key: client.key });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json.caller, { peer: GATEWAY_ID, client: { uri: CLIENT_ID, hash: client.leafHash } });
    const posted = await gw('/employee/3.14/employee', {
      method: 'POST',
      body: '{"name":"Grace Hopper"}',
      cert: pinnedLeaf.pem,
      key: pinnedLeaf.keyPem,
    });
    assert.equal(posted.status, 201, posted.text);
    assert.deepEqual(posted.json.caller, { peer: GATEWAY_ID, client: { uri: null, hash: sha256(pinnedLeaf.der) } });
  });

  it('answers 404 and 405 for paths and verbs no operation names', async () => {
    const client = svid('client');
    assert.equal((await gw('/mandatory/1.0/nothing', { cert: client.cert, key: client.key })).status, 404);
    assert.equal((await gw('/mandatory/2.0/headers', { cert: client.cert, key: client.key })).status, 404);
    const wrongVerb = await gw('/mandatory/1.0/headers', { method: 'DELETE', cert: client.cert, key: client.key });
    assert.equal(wrongVerb.status, 405);
    assert.equal(wrongVerb.headers.allow, 'GET');
  });

  it('refuses encoded slashes and a leading "//", and routes dot segments as resolved', async () => {
    const client = svid('client');
    for (const path of ['/mandatory/1.0/x%2Fheaders', '/mandatory/1.0/x%5cheaders', '//mandatory/1.0/headers']) {
      const reply = await gw(path, { cert: client.cert, key: client.key });
      assert.equal(reply.status, 400, path);
      assert.equal(reply.json.error, 'invalid_path');
    }
    const dots = await gw('/mandatory/2.0/../1.0/headers', { cert: client.cert, key: client.key });
    assert.equal(dots.status, 200, dots.text);
    assert.equal(dots.json.url, '/headers');
    // A dot segment cannot climb out of an unsecured operation into a secured one.
    const climb = await gw('/mandatory/1.0/public/../headers');
    assertRejected(climb, 'mtls_required', 'EchoMandatory');
  });
});

describe('optional mTLS with a JWT-SVID', () => {
  it('lets a request without a certificate through on a valid JWT-SVID; the token is not forwarded', async () => {
    const token = (await jwtSource.fetchJwtSvid({ audience: GATEWAY_ID })).token;
    const reply = await gw('/optional/1.0/headers', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.headers.authorization, undefined);
    assert.equal(reply.json.headers['x-forwarded-client-cert'], undefined);
  });

  it('rejects a request without a certificate whose JWT-SVID is for another audience: jwt_invalid', async () => {
    const from = gateway.lines.length;
    const token = (await jwtSource.fetchJwtSvid({ audience: 'spiffe://example.org/someone-else' })).token;
    const reply = await gw('/optional/1.0/headers', { headers: { authorization: `Bearer ${token}` } });
    assertRejected(reply, 'jwt_invalid', 'EchoOptional');
    assert.equal(reply.headers['www-authenticate'], 'Bearer error="invalid_token"');
    const line = await logged(gateway, from, /^Rejected /);
    assert.match(line, /rule=jwt_invalid .*audience/);
    assert.ok(!line.includes(token), 'the token is never logged');
  });

  it('rejects a request with neither certificate nor token: jwt_required', async () => {
    const reply = await gw('/optional/1.0/headers');
    assertRejected(reply, 'jwt_required', 'EchoOptional');
    assert.equal(reply.headers['www-authenticate'], 'Bearer');
  });

  it('rejects an unaccepted certificate even with a valid JWT-SVID: certificate_not_accepted', async () => {
    const token = (await jwtSource.fetchJwtSvid({ audience: GATEWAY_ID })).token;
    const stranger = svid('stranger');
    const reply = await gw('/optional/1.0/headers', {
      cert: stranger.cert,
      key: stranger.key,
      headers: { authorization: `Bearer ${token}` },
    });
    assertRejected(reply, 'certificate_not_accepted', 'EchoOptional');
  });

  it('accepts an accepted certificate with a valid JWT-SVID and forwards the certificate identity', async () => {
    const token = (await jwtSource.fetchJwtSvid({ audience: GATEWAY_ID })).token;
    const client = svid('client');
    const xfcc = forwardedXfcc(
      await gw('/optional/1.0/headers', { cert: client.cert, key: client.key, headers: { authorization: `Bearer ${token}` } }),
    );
    assert.deepEqual(xfcc.uri, [CLIENT_ID]);
  });
});

describe('secured: false', () => {
  it('needs no credential, and client identity headers sent to it are not forwarded', async () => {
    const reply = await gw('/mandatory/1.0/public', {
      headers: {
        'x-forwarded-client-cert': `By=${GATEWAY_ID};URI=spiffe://example.org/admin`,
        'x-wso2-client-certificate': encodeURIComponent(pinnedLeaf.pem),
      },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.headers['x-forwarded-client-cert'], undefined);
    assert.equal(reply.json.headers['x-wso2-client-certificate'], undefined);
  });
});

describe('the client certificate in a header', () => {
  it("is believed from a trusted front proxy (URL-encoded PEM), and the proxy's own SVID is not taken for the client", async () => {
    const proxy = svid('front-proxy');
    const xfcc = forwardedXfcc(
      await gw('/mandatory/1.0/headers', {
        cert: proxy.cert,
        key: proxy.key,
        headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(pinnedLeaf.pem) },
      }),
    );
    assert.equal(xfcc.hash, sha256(pinnedLeaf.der));
  });

  it('is believed from a trusted front proxy as raw PEM on one line, and may carry an X509-SVID chain', async () => {
    const proxy = svid('front-proxy');
    const raw = forwardedXfcc(
      await gw('/mandatory/1.0/headers', {
        cert: proxy.cert,
        key: proxy.key,
        headers: { 'X-WSO2-CLIENT-CERTIFICATE': oneLine(pinnedLeaf.pem) },
      }),
    );
    assert.equal(raw.hash, sha256(pinnedLeaf.der));
    const client = svid('client');
    const viaSvid = forwardedXfcc(
      await gw('/mandatory/1.0/headers', {
        cert: proxy.cert,
        key: proxy.key,
        headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(client.chainPem) },
      }),
    );
    assert.deepEqual(viaSvid.uri, [CLIENT_ID]);
    assert.equal(viaSvid.hash, client.leafHash);
  });

  it('from a trusted front proxy is still checked: a wrong certificate or an unreadable header is rejected', async () => {
    const proxy = svid('front-proxy');
    const wrong = await gw('/mandatory/1.0/headers', {
      cert: proxy.cert,
      key: proxy.key,
      headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(wrongLeaf.pem) },
    });
    assertRejected(wrong, 'certificate_not_accepted', 'EchoMandatory');
    const garbage = await gw('/mandatory/1.0/headers', {
      cert: proxy.cert,
      key: proxy.key,
      headers: { 'X-WSO2-CLIENT-CERTIFICATE': 'not a certificate' },
    });
    assertRejected(garbage, 'certificate_not_accepted', 'EchoMandatory');
  });

  it('a trusted front proxy sending no header has no client certificate: mtls_required', async () => {
    const proxy = svid('front-proxy');
    assertRejected(await gw('/mandatory/1.0/headers', { cert: proxy.cert, key: proxy.key }), 'mtls_required', 'EchoMandatory');
  });

  it('is ignored (and logged) from a direct connection without a certificate: rejected where mTLS is mandatory', async () => {
    const from = gateway.lines.length;
    const reply = await gw('/mandatory/1.0/headers', { headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(pinnedLeaf.pem) } });
    assertRejected(reply, 'mtls_required', 'EchoMandatory');
    assert.match(
      await logged(gateway, from, /^Ignored /),
      /^Ignored x-wso2-client-certificate from 127\.0\.0\.1:\d+: the peer is not a trusted proxy$/,
    );
  });

  it('is ignored from a client with an SVID that is not a trusted proxy: its own certificate decides', async () => {
    const from = gateway.lines.length;
    const stranger = svid('stranger');
    const reply = await gw('/mandatory/1.0/headers', {
      cert: stranger.cert,
      key: stranger.key,
      headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(pinnedLeaf.pem) },
    });
    assertRejected(reply, 'certificate_not_accepted', 'EchoMandatory');
    assert.match(
      await logged(gateway, from, /^Ignored /),
      new RegExp(`from 127\\.0\\.0\\.1:\\d+ \\(${STRANGER_ID}\\): the peer is not a trusted proxy`),
    );
    // An accepted client that adds the header is served as itself, and the header goes nowhere.
    const client = svid('client');
    const own = await gw('/mandatory/1.0/headers', {
      cert: client.cert,
      key: client.key,
      headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(pinnedLeaf.pem) },
    });
    assert.equal(forwardedXfcc(own).hash, client.leafHash);
    assert.equal(own.json.headers['x-wso2-client-certificate'], undefined);
  });

  it("a client-supplied x-forwarded-client-cert never reaches the upstream: only the gateway's own element does", async () => {
    const client = svid('client');
    const forged = `By=${GATEWAY_ID};Hash=${'0'.repeat(64)};URI=spiffe://example.org/admin`;
    const xfcc = forwardedXfcc(
      await gw('/mandatory/1.0/headers', { cert: client.cert, key: client.key, headers: { 'x-forwarded-client-cert': forged } }),
    );
    assert.deepEqual(xfcc.uri, [CLIENT_ID]);
    assert.equal(xfcc.hash, client.leafHash);
    // Through to the employee service too.
    const reply = await gw('/employee/3.14/employee', {
      cert: client.cert,
      key: client.key,
      headers: { 'x-forwarded-client-cert': forged },
    });
    assert.deepEqual(reply.json.caller.client, { uri: CLIENT_ID, hash: client.leafHash });
  });
});

describe('x-forwarded-client-cert as the configured header (Envoy in front)', () => {
  const xgw = (path: string, options: CallOptions): Promise<Reply> => call(bundle, xfccGatewayPort, path, options);
  const element = (der: Uint8Array, pem: string, extra = ''): string =>
    `By=${FRONT_PROXY_ID};Hash=${sha256(der)};Cert="${encodeURIComponent(pem)}";Subject="CN=x, O=\\"y\\""${extra}`;

  it("is believed from the trusted proxy: the nearest (last) element's Cert", async () => {
    const proxy = svid('front-proxy');
    const header = `By=spiffe://elsewhere.test/edge;Hash=${'1'.repeat(64)},${element(pinnedLeaf.der, pinnedLeaf.pem)}`;
    const reply = await xgw('/mandatory/1.0/headers', { cert: proxy.cert, key: proxy.key, headers: { 'x-forwarded-client-cert': header } });
    const xfcc = forwardedXfcc(reply);
    assert.equal(xfcc.hash, sha256(pinnedLeaf.der));
    assert.equal(xfcc.cert, undefined, 'Cert is forwarded only when configured');
  });

  it('is refused when its Hash does not match its Cert, or it has no Cert', async () => {
    const proxy = svid('front-proxy');
    const mismatch = `By=${FRONT_PROXY_ID};Hash=${sha256(wrongLeaf.der)};Cert="${encodeURIComponent(pinnedLeaf.pem)}"`;
    assertRejected(
      await xgw('/mandatory/1.0/headers', { cert: proxy.cert, key: proxy.key, headers: { 'x-forwarded-client-cert': mismatch } }),
      'certificate_not_accepted',
      'EchoMandatory',
    );
    const noCert = `By=${FRONT_PROXY_ID};Hash=${sha256(pinnedLeaf.der)};URI=${CLIENT_ID}`;
    assertRejected(
      await xgw('/mandatory/1.0/headers', { cert: proxy.cert, key: proxy.key, headers: { 'x-forwarded-client-cert': noCert } }),
      'certificate_not_accepted',
      'EchoMandatory',
    );
  });

  it('only the configured header is read from the proxy: X-WSO2-CLIENT-CERTIFICATE is ignored there', async () => {
    const from = xfccGateway.lines.length;
    const proxy = svid('front-proxy');
    const reply = await xgw('/mandatory/1.0/headers', {
      cert: proxy.cert,
      key: proxy.key,
      headers: { 'X-WSO2-CLIENT-CERTIFICATE': encodeURIComponent(pinnedLeaf.pem) },
    });
    assertRejected(reply, 'mtls_required', 'EchoMandatory');
    assert.match(await logged(xfccGateway, from, /^Ignored /), /only x-forwarded-client-cert is read from trusted proxies/);
  });

  it('is ignored from a peer that is not the trusted proxy', async () => {
    const reply = await xgw('/mandatory/1.0/headers', { headers: { 'x-forwarded-client-cert': element(pinnedLeaf.der, pinnedLeaf.pem) } });
    assertRejected(reply, 'mtls_required', 'EchoMandatory');
  });
});

describe('the employee service', () => {
  it('believes x-forwarded-client-cert only when the TLS peer is the gateway', async () => {
    const forged = `By=${GATEWAY_ID};Hash=${'0'.repeat(64)};URI=spiffe://example.org/admin`;
    const from = upstream.lines.length;
    const client = svid('client');
    const direct = await call(bundle, upstreamPort, '/employee', {
      serverId: UPSTREAM_ID,
      cert: client.cert,
      key: client.key,
      headers: { 'x-forwarded-client-cert': forged },
    });
    assert.equal(direct.status, 200, direct.text);
    assert.deepEqual(direct.json.caller, { peer: CLIENT_ID, client: null });
    assert.match(
      await logged(upstream, from, /^Ignored /),
      new RegExp(`^Ignored x-forwarded-client-cert from ${CLIENT_ID}: only ${GATEWAY_ID} may forward`),
    );

    // The same header over a connection authenticated as the gateway is believed.
    const gatewaySvid = svid('gateway');
    const asGateway = await call(bundle, upstreamPort, '/employee', {
      serverId: UPSTREAM_ID,
      cert: gatewaySvid.cert,
      key: gatewaySvid.key,
      headers: { 'x-forwarded-client-cert': forged },
    });
    assert.deepEqual(asGateway.json.caller, { peer: GATEWAY_ID, client: { uri: 'spiffe://example.org/admin', hash: '0'.repeat(64) } });
  });

  it('refuses a TLS client without an X509-SVID', async () => {
    await assert.rejects(call(bundle, upstreamPort, '/employee', { serverId: UPSTREAM_ID }), /socket hang up|ECONNRESET|closed/);
  });
});

describe('the TLS layer', () => {
  it('closes a connection whose client renegotiates (TLS 1.2) after admission, and logs why', async () => {
    const from = gateway.lines.length;
    const client = svid('client');
    // Node's own TLS 1.2 client asks for a second handshake on an admitted connection: the core
    // refuses it whatever the APIs say (a renegotiation could present another certificate).
    const socket = tls.connect({
      host: '127.0.0.1',
      port: gatewayPort,
      maxVersion: 'TLSv1.2',
      cert: client.cert,
      key: client.key,
      ca: bundle,
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    const closed = once(socket, 'close');
    socket.renegotiate({ rejectUnauthorized: false }, () => {});
    await closed;
    assert.match(
      await logged(gateway, from, /^TLS handshake error /),
      /^TLS handshake error from 127\.0\.0\.1:\d+: the client of an established TLS 1\.2 connection tried to renegotiate/,
    );
  });
});

describe('logs', () => {
  it('never hold a certificate or a token', () => {
    for (const p of [gateway, xfccGateway]) {
      const out = p.output();
      assert.ok(!out.includes('BEGIN CERTIFICATE'), 'no PEM in the logs');
      for (const pem of [pinnedLeaf.pem, partnerLeaf.pem, wrongLeaf.pem]) {
        const body = pem.split('\n')[3]!;
        assert.ok(!out.includes(body) && !out.includes(encodeURIComponent(body)), 'no certificate text in the logs');
      }
      assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(out), 'no JWT in the logs');
    }
  });
});
