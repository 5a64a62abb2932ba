// Configuration errors: each refused input with its message (file, field, what is allowed) next
// to a valid counterpart, and the gateway process refusing to start on one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TestCa } from '@spiffe-node/test-kit';
import { parseApiDefinition } from '../src/api-definition.js';
import { GatewayConfigError } from '../src/config-error.js';
import { loadGatewayConfig } from '../src/gateway-config.js';
import { APP_DIR, writeFile } from './helpers.js';

const VALID = `name: "EmployeeServiceAPI"
basePath: "/employee"
version: "3.14"
type: "REST"
defaultVersion: false
id: "mtls-api"
endpointConfigurations:
  production:
    endpoint: "http://employee-service:8080"
operations:
  - target: "/employee"
    verb: "GET"
    secured: true
    scopes: []
  - target: "/employee/{id}"
    verb: "POST"
authentication:
  - authType: mTLS
    required: mandatory
    certificates:
      - name: mtls-configmap
        key: tls.crt
    spiffeIds: [spiffe://example.org/client]
  - authType: JWT
    required: optional
    audience: spiffe://example.org/api-gateway
`;

/** Applies a textual edit to the valid definition. */
function edit(from: string, to: string): string {
  assert.ok(VALID.includes(from), `the valid definition holds ${JSON.stringify(from)}`);
  return VALID.replace(from, to);
}

const FILE = 'EmployeeServiceAPI.apk-conf';

describe('API definitions', () => {
  it("accept the seed's definition, with SPIFFE IDs and a JWT entry", () => {
    const api = parseApiDefinition(VALID, FILE);
    assert.equal(api.name, 'EmployeeServiceAPI');
    assert.equal(api.basePath, '/employee');
    assert.equal(api.version, '3.14');
    assert.equal(api.endpoint.href, 'http://employee-service:8080/');
    assert.deepEqual(api.operations, [
      { target: '/employee', verb: 'GET', secured: true },
      { target: '/employee/{id}', verb: 'POST', secured: true },
    ]);
    assert.equal(api.mtls?.required, 'mandatory');
    assert.deepEqual(api.mtls?.certificates, [{ name: 'mtls-configmap', key: 'tls.crt' }]);
    assert.deepEqual(api.mtls?.spiffeIds.map(String), ['spiffe://example.org/client']);
    assert.deepEqual(api.jwt, { authType: 'JWT', required: 'optional', audience: ['spiffe://example.org/api-gateway'] });
  });

  it('default required to mandatory and secured to true', () => {
    const api = parseApiDefinition(edit('    required: mandatory\n', ''), FILE);
    assert.equal(api.mtls?.required, 'mandatory');
    assert.equal(api.operations[1]?.secured, true);
  });

  it('take an https:// endpoint with its upstream SPIFFE ID', () => {
    const api = parseApiDefinition(
      edit(
        'endpoint: "http://employee-service:8080"',
        'endpoint: "https://employee-service:8080"\n    spiffeId: spiffe://example.org/employee-service',
      ),
      FILE,
    );
    assert.equal(api.upstreamId?.toString(), 'spiffe://example.org/employee-service');
  });

  const refused: Array<[string, string, RegExp]> = [
    ['a missing name', edit('name: "EmployeeServiceAPI"\n', ''), /^EmployeeServiceAPI\.apk-conf: name: is required$/],
    [
      'an unquoted version YAML reads as a number',
      edit('version: "3.14"', 'version: 3.10'),
      /: version: must be a string: write it in quotes \(version: "\.\.\."\); unquoted, YAML read it as the number 3\.1$/,
    ],
    ['a version with a slash', edit('version: "3.14"', 'version: "3/14"'), /: version: "3\/14" must be one path segment/],
    [
      'a basePath without a leading slash',
      edit('basePath: "/employee"', 'basePath: "employee"'),
      /: basePath: must start with "\/", got "employee"$/,
    ],
    ['a basePath with ".."', edit('basePath: "/employee"', 'basePath: "/a/../b"'), /: basePath: "\/a\/\.\.\/b" is not a valid base path/],
    ['a type other than REST', edit('type: "REST"', 'type: "GraphQL"'), /: type: must be "REST", got "GraphQL"$/],
    [
      'no endpoint',
      edit('    endpoint: "http://employee-service:8080"\n', ''),
      /: endpointConfigurations\.production: is required \(production\.endpoint\)$/,
    ],
    [
      'an endpoint entry without its URL',
      edit('    endpoint: "http://employee-service:8080"\n', '    spiffeId: spiffe://example.org/x\n'),
      /: endpointConfigurations\.production\.endpoint: is required$/,
    ],
    [
      'an endpoint that is not a URL',
      edit('"http://employee-service:8080"', '"employee-service"'),
      /production\.endpoint: "employee-service" is not a URL/,
    ],
    [
      'an ftp endpoint',
      edit('"http://employee-service:8080"', '"ftp://employee-service"'),
      /production\.endpoint: must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      'an https endpoint without a SPIFFE ID',
      edit('"http://employee-service:8080"', '"https://employee-service:8080"'),
      /production\.spiffeId: is required for an https:\/\/ endpoint: .*no system CAs/,
    ],
    [
      'a SPIFFE ID on an http endpoint',
      edit('"http://employee-service:8080"', '"http://employee-service:8080"\n    spiffeId: spiffe://example.org/x'),
      /production\.spiffeId: applies to https:\/\/ endpoints only/,
    ],
    [
      'a sandbox endpoint',
      edit('  production:', '  sandbox:\n    endpoint: "http://x"\n  production:'),
      /: endpointConfigurations\.sandbox: is not supported by this gateway \(allowed here: production\)/,
    ],
    [
      'an unknown top-level field',
      `${VALID}rateLimit: { requestsPerUnit: 5 }\n`,
      /: rateLimit: is not supported by this gateway \(allowed here: name, basePath, .*\); remove it rather than have it silently ignored$/,
    ],
    ['no operations', VALID.replace(/operations:[\s\S]*?authentication:/, 'operations: []\nauthentication:'), /: operations: is required/],
    [
      'a verb that is not HTTP',
      edit('verb: "GET"', 'verb: "FETCH"'),
      /: operations\[0\]\.verb: must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, got "FETCH"$/,
    ],
    [
      'a target with an empty segment',
      edit('target: "/employee"\n', 'target: "/employee//x"\n'),
      /: operations\[0\]\.target: "\/employee\/\/x" is not a valid target/,
    ],
    ['secured as a string', edit('secured: true', 'secured: "yes"'), /: operations\[0\]\.secured: must be true or false, got "yes"$/],
    ['OAuth2 scopes', edit('scopes: []', 'scopes: [admin]'), /: operations\[0\]\.scopes: OAuth2 scopes are not supported/],
    [
      'a repeated operation',
      edit('target: "/employee/{id}"\n    verb: "POST"', 'target: "/employee"\n    verb: "GET"'),
      /: operations\[1\]: repeats operations\[0\] \(GET \/employee\)$/,
    ],
    [
      'authType OAuth2',
      edit('authType: JWT', 'authType: OAuth2'),
      /: authentication\[1\]\.authType: must be "mTLS" or "JWT", got "OAuth2" \(this gateway has no OAuth2 or API keys\)$/,
    ],
    [
      'required: sometimes',
      edit('required: mandatory', 'required: sometimes'),
      /: authentication\[0\]\.required: must be "mandatory" or "optional", got "sometimes"$/,
    ],
    [
      'an mTLS entry that accepts nobody',
      edit('    certificates:\n      - name: mtls-configmap\n        key: tls.crt\n    spiffeIds: [spiffe://example.org/client]\n', ''),
      /: authentication\[0\]: an mTLS entry accepts nobody/,
    ],
    [
      'a certificate name with a slash',
      edit('name: mtls-configmap', 'name: ../etc'),
      /: authentication\[0\]\.certificates\[0\]\.name: "\.\.\/etc" must be the plain name of a ConfigMap or Secret/,
    ],
    [
      'an inline certificate that is not PEM',
      edit('    spiffeIds:', '    certificatesInline: ["hello"]\n    spiffeIds:'),
      /: authentication\[0\]\.certificatesInline\[0\]: must be a PEM certificate/,
    ],
    [
      'a SPIFFE ID that is not one',
      edit('spiffeIds: [spiffe://example.org/client]', 'spiffeIds: [https://example.org/client]'),
      /: authentication\[0\]\.spiffeIds\[0\]: "https:\/\/example\.org\/client" is not a SPIFFE ID/,
    ],
    [
      'a trust domain that is not one',
      edit('spiffeIds: [spiffe://example.org/client]', 'trustDomains: ["Example Org"]'),
      /: authentication\[0\]\.trustDomains\[0\]: "Example Org" is not a trust domain/,
    ],
    [
      'a JWT entry without audience',
      edit('    audience: spiffe://example.org/api-gateway\n', ''),
      /: authentication\[1\]\.audience: is required/,
    ],
    [
      'a field of the other entry type',
      edit('    audience: spiffe://example.org/api-gateway', '    spiffeIds: [spiffe://example.org/client]'),
      /: authentication\[1\]\.spiffeIds: is not supported by this gateway \(allowed here: authType, required, enabled, audience\)/,
    ],
    [
      'two mTLS entries',
      edit(
        '  - authType: JWT\n    required: optional\n    audience: spiffe://example.org/api-gateway\n',
        '  - authType: mTLS\n    spiffeIds: [spiffe://example.org/x]\n',
      ),
      /: authentication\[1\]: a second mTLS entry/,
    ],
    [
      'secured operations without authentication',
      VALID.slice(0, VALID.indexOf('authentication:')),
      /: authentication: secured operations need an mTLS or JWT entry \(deny by default\)/,
    ],
    [
      'a duplicate key',
      edit('name: "EmployeeServiceAPI"', 'name: "EmployeeServiceAPI"\nname: "Other"'),
      /^EmployeeServiceAPI\.apk-conf: is not valid YAML: Map keys must be unique at line 2/,
    ],
    ['two YAML documents', `${VALID}---\nname: x\n`, /: holds more than one YAML document/],
    ['an empty file', '', /^EmployeeServiceAPI\.apk-conf: is empty$/],
    ['a list instead of a mapping', '- a\n- b\n', /: must be a YAML mapping \(key: value lines\), got a list$/],
  ];
  for (const [what, text, message] of refused) {
    it(`refuse ${what}`, () => {
      assert.throws(
        () => parseApiDefinition(text, FILE),
        (err: unknown) => {
          assert.ok(err instanceof GatewayConfigError, `a GatewayConfigError, got ${String(err)}`);
          assert.match(err.message, message);
          assert.equal(err.file, FILE);
          return true;
        },
      );
    });
  }

  it('accept every secured operation unsecured without authentication entries', () => {
    const text = VALID.slice(0, VALID.indexOf('authentication:'))
      .replace('secured: true', 'secured: false')
      .replace('verb: "POST"', 'verb: "POST"\n    secured: false');
    const api = parseApiDefinition(text, FILE);
    assert.equal(api.mtls, undefined);
    assert.deepEqual(
      api.operations.map((o) => o.secured),
      [false, false],
    );
  });
});

describe('the gateway configuration', () => {
  const root = mkdtempSync(join(tmpdir(), 'api-gateway-config-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const ca = TestCa.create({ trustDomain: 'pinned.test' });
  const leaf = ca.leaf('/x', { uris: [] });
  let n = 0;

  /** A fresh folder with a gateway.yaml, the seed API, and a mounted-ConfigMap-like certificate. */
  function setup(gatewayYaml: string, api = VALID, cert: string | null = leaf.pem): string {
    const dir = join(root, String(n++));
    writeFile(join(dir, 'gateway.yaml'), gatewayYaml);
    writeFile(join(dir, 'apis', FILE), api);
    if (cert !== null) {
      // As Kubernetes mounts a ConfigMap: the key is a symlink into a ..data folder.
      writeFile(join(dir, 'certs', 'mtls-configmap', '..2026_01_01', 'tls.crt'), cert);
      symlinkSync('..2026_01_01', join(dir, 'certs', 'mtls-configmap', '..data'));
      symlinkSync('..data/tls.crt', join(dir, 'certs', 'mtls-configmap', 'tls.crt'));
    }
    return join(dir, 'gateway.yaml');
  }

  it('loads the APIs of a folder and the certificates of a mounted ConfigMap', async () => {
    const config = await loadGatewayConfig(setup('apis: [apis/]\ntrustedProxies: [spiffe://example.org/front-proxy]\n'));
    assert.equal(config.apis.length, 1);
    assert.equal(config.apis[0]!.pinned.size, 1);
    assert.equal(config.clientCertificateHeader, 'x-wso2-client-certificate');
    assert.deepEqual(config.trustedProxies.map(String), ['spiffe://example.org/front-proxy']);
    assert.equal(config.forwardCert, false);
    const route = config.routes.match('GET', '/employee/3.14/employee');
    assert.equal(route.kind, 'match');
  });

  const refused: Array<[string, () => string, RegExp]> = [
    [
      'a missing certificate file',
      () => setup('apis: [apis/]\n', VALID, null),
      /EmployeeServiceAPI\.apk-conf: authentication\[0\]\.certificates\[0\]: cannot read key "tls\.crt" of ConfigMap or Secret "mtls-configmap" at .*certs\/mtls-configmap\/tls\.crt: ENOENT$/,
    ],
    [
      'a certificate file without a certificate',
      () => setup('apis: [apis/]\n', VALID, 'hello\n'),
      /authentication\[0\]\.certificates\[0\]: .*tls\.crt holds no PEM certificate/,
    ],
    [
      'a certificate that cannot be parsed',
      () => setup('apis: [apis/]\n', VALID, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      /authentication\[0\]\.certificates\[0\]: .*tls\.crt holds a certificate that cannot be parsed/,
    ],
    ['a folder without API definitions', () => setup('apis: [certs/]\n'), /gateway\.yaml: apis\[0\]: .*certs holds no API definition/],
    ['no apis', () => setup('certificatesDir: certs\n'), /gateway\.yaml: apis: is required/],
    [
      'an unknown field',
      () => setup('apis: [apis/]\nlisten: 9095\n'),
      /gateway\.yaml: listen: is not supported by this gateway \(allowed here: apis, certificatesDir, clientCertificateHeader, trustedProxies, forwardClientCert\)/,
    ],
    [
      'a header name with a space',
      () => setup('apis: [apis/]\nclientCertificateHeader: "X Client Cert"\n'),
      /gateway\.yaml: clientCertificateHeader: "X Client Cert" is not an HTTP header name$/,
    ],
    [
      'a trusted proxy that is not a SPIFFE ID',
      () => setup('apis: [apis/]\ntrustedProxies: [front-proxy]\n'),
      /gateway\.yaml: trustedProxies\[0\]: "front-proxy" is not a SPIFFE ID/,
    ],
    [
      'forwardClientCert.cert that is not a boolean',
      () => setup('apis: [apis/]\nforwardClientCert: { cert: "yes" }\n'),
      /gateway\.yaml: forwardClientCert\.cert: must be true or false/,
    ],
    [
      'two APIs on one path',
      () => setup(`apis: [apis/, apis/${FILE}]\n`),
      /EmployeeServiceAPI\.apk-conf: basePath: "\/employee\/3\.14" is already served by API "EmployeeServiceAPI"/,
    ],
  ];
  for (const [what, make, message] of refused) {
    it(`refuses ${what}`, async () => {
      const file = make();
      await assert.rejects(loadGatewayConfig(file), (err: unknown) => {
        assert.ok(err instanceof GatewayConfigError, `a GatewayConfigError, got ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('the gateway refuses to start on an invalid configuration, and --check accepts a valid one', () => {
    const run = (file: string): { status: number | null; out: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(APP_DIR, 'src', 'gateway.ts'), '--check', '--config', file], {
        cwd: APP_DIR,
        encoding: 'utf8',
      });
      return { status: r.status, out: r.stdout + r.stderr };
    };
    const bad = run(setup('apis: [apis/]\n', edit('required: mandatory', 'required: sometimes')));
    assert.equal(bad.status, 1);
    assert.match(
      bad.out,
      /^Invalid configuration: .*EmployeeServiceAPI\.apk-conf: authentication\[0\]\.required: must be "mandatory" or "optional", got "sometimes"\n$/,
    );
    const good = run(setup('apis: [apis/]\n'));
    assert.equal(good.status, 0, good.out);
    assert.match(
      good.out,
      /^API EmployeeServiceAPI 3\.14 at \/employee\/3\.14 -> http:\/\/employee-service:8080\/; mTLS mandatory: 1 pinned certificate, SPIFFE IDs spiffe:\/\/example\.org\/client; JWT optional: audience spiffe:\/\/example\.org\/api-gateway$/m,
    );
    assert.match(good.out, /Configuration OK: /);
  });
});
