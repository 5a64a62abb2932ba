// The pure parts: XFCC, certificate headers, pinned certificates and routing, each refused input
// next to an accepted one.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { TestCa } from '@spiffe-node/test-kit';
import { parseApiDefinition } from '../src/api-definition.js';
import { PinnedCertificates, certificateHash, decodeCertificateHeader, pemCertificates } from '../src/certificates.js';
import { chainFromXfcc } from '../src/client-certificate.js';
import { RouteTable } from '../src/routes.js';
import { formatXfccElement, parseXfcc } from '../src/xfcc.js';

const ca = TestCa.create({ trustDomain: 'pinned.test' });
const leaf = ca.leaf('/x', { uris: [] });
const other = TestCa.create({ trustDomain: 'other.test' }).leaf('/x', { uris: [] });

describe('x-forwarded-client-cert', () => {
  it('round-trips an element with a quoted Subject and a URL-encoded Cert', () => {
    const element = {
      by: 'spiffe://example.org/gw',
      hash: 'ab',
      cert: leaf.pem,
      subject: 'CN=a, O="b;c"',
      uri: ['spiffe://example.org/c'],
      dns: ['x.test'],
    };
    const text = formatXfccElement(element);
    assert.ok(!text.includes('\n'));
    assert.deepEqual(parseXfcc(text), [{ ...element }]);
  });

  it('splits elements on commas outside quotes; the nearest proxy is last', () => {
    const parsed = parseXfcc('By=spiffe://a/x;Hash=01;Subject="CN=x, O=y",By=spiffe://b/y;Hash=02;URI=spiffe://b/c');
    assert.equal(parsed.length, 2);
    assert.equal(parsed[0]!.subject, 'CN=x, O=y');
    assert.deepEqual(parsed[1], { by: 'spiffe://b/y', hash: '02', uri: ['spiffe://b/c'], dns: [] });
  });

  const refused: Array<[string, string, RegExp]> = [
    ['an unterminated quote', 'By=x;Subject="CN=x', /unterminated quoted value/],
    ['a pair without a key', 'By=x;novalue', /a pair without "key="/],
    ['an empty element', 'By=x,,By=y', /an empty element/],
    ['bad URL-encoding in Cert', 'Cert="%E0%A4%A"', /Cert is not valid URL-encoding/],
  ];
  for (const [what, value, message] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => parseXfcc(value), message));
  }

  it('gives the client chain of the nearest element, checking Hash against Cert', () => {
    const good = `By=spiffe://f/p;Hash=${certificateHash(leaf.der)};Cert="${encodeURIComponent(leaf.pem)}"`;
    assert.deepEqual(
      chainFromXfcc(`By=spiffe://far/p;Hash=00,${good}`).map((d) => certificateHash(d)),
      [certificateHash(leaf.der)],
    );
    assert.throws(
      () => chainFromXfcc(`By=spiffe://f/p;Hash=${certificateHash(other.der)};Cert="${encodeURIComponent(leaf.pem)}"`),
      /Hash does not match/,
    );
    assert.throws(() => chainFromXfcc(`${good},By=spiffe://f/p;URI=spiffe://x/y`), /carries no Cert or Chain/);
    const chain = `Cert="${encodeURIComponent(other.pem)}";Chain="${encodeURIComponent(leaf.pem)}"`;
    assert.throws(() => chainFromXfcc(chain), /Cert is not the first certificate of Chain/);
  });
});

describe('certificate headers', () => {
  const accepted: Array<[string, string]> = [
    ['PEM with newlines (as a proxy may fold it)', leaf.pem],
    ['PEM on one line', leaf.pem.replace(/\n/g, ' ')],
    ['PEM without any whitespace', leaf.pem.replace(/\n/g, '')],
    ['URL-encoded PEM', encodeURIComponent(leaf.pem)],
    ['quoted URL-encoded PEM', `"${encodeURIComponent(leaf.pem)}"`],
  ];
  for (const [what, value] of accepted) {
    it(`reads ${what}`, () => {
      assert.deepEqual(
        decodeCertificateHeader(value).map((d) => certificateHash(d)),
        [certificateHash(leaf.der)],
      );
    });
  }
  const refused: Array<[string, string, RegExp]> = [
    ['text without a certificate', 'hello', /holds no PEM certificate/],
    ['a certificate block that is not base64', '-----BEGIN CERTIFICATE-----@@@-----END CERTIFICATE-----', /not base64/],
    ['broken URL-encoding', '%E0%A4%A', /neither PEM nor valid URL-encoded PEM/],
    ['a private key only', '-----BEGIN PRIVATE KEY-----AAAA-----END PRIVATE KEY-----', /holds no PEM certificate/],
  ];
  for (const [what, value, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => decodeCertificateHeader(value),
        (err: Error) => {
          assert.match(err.message, message);
          assert.ok(!err.message.includes(value) || value.length < 10, 'the value is not echoed');
          return true;
        },
      );
    });
  }

  it('reads every certificate of a file and skips other blocks', () => {
    const text = `${leaf.pem}-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n${other.pem}`;
    assert.deepEqual(
      pemCertificates(text).map((d) => certificateHash(d)),
      [certificateHash(leaf.der), certificateHash(other.der)],
    );
  });
});

describe('pinned certificates', () => {
  const issuing = TestCa.create({ trustDomain: 'partner.test' });
  const issued = issuing.leaf('/x', { uris: [] });
  const expired = ca.leaf('/x', {
    uris: [],
    notBefore: new Date(Date.now() - 2 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const pins = new PinnedCertificates([leaf.certificate, expired.certificate, issuing.certificate]);

  it('accept a pinned certificate, and one issued by a pinned CA', () => {
    assert.deepEqual(pins.check(leaf.certificate), { ok: true, how: 'pinned' });
    assert.deepEqual(pins.check(issued.certificate), { ok: true, how: 'issued' });
  });

  it('refuse another certificate, an expired pinned one, and one whose issuer is pinned as a leaf only', () => {
    assert.equal(pins.check(other.certificate).ok, false);
    assert.match((pins.check(expired.certificate) as { reason: string }).reason, /expired or not yet valid/);
    // Pinning a leaf does not make what it might have signed acceptable: only CA certificates issue.
    const leafPins = new PinnedCertificates([leaf.certificate]);
    const byLeaf = ca.leaf('/y', { uris: [], signingKey: leaf.privateKey });
    assert.equal(leafPins.check(byLeaf.certificate).ok, false);
  });

  it('refuse a certificate naming a pinned CA as issuer but signed by another key', () => {
    const forged = issuing.leaf('/x', { uris: [], signingKey: other.privateKey });
    assert.equal(pins.check(new X509Certificate(forged.der)).ok, false);
  });
});

describe('routes', () => {
  const api = (name: string, basePath: string, version: string, targets: string[], defaultVersion = false) =>
    parseApiDefinition(
      `name: ${name}\nbasePath: ${basePath}\nversion: "${version}"\ndefaultVersion: ${defaultVersion}\n` +
        `endpointConfigurations: { production: { endpoint: "http://up:8080/base" } }\n` +
        `operations: [${targets.map((t) => `{ target: "${t.split(' ')[1]}", verb: ${t.split(' ')[0]}, secured: false }`).join(', ')}]\n`,
      `${name}.apk-conf`,
    );
  const table = new RouteTable([
    api('Employees', '/employee', '3.14', ['GET /employee', 'POST /employee', 'GET /employee/{id}', 'GET /files/*'], true),
    api('Root', '/', '1', ['GET /']),
  ]);

  const cases: Array<[string, string, string]> = [
    ['GET', '/employee/3.14/employee', 'match Employees /employee'],
    ['POST', '/employee/3.14/employee', 'match Employees /employee'],
    ['GET', '/employee/3.14/employee/42', 'match Employees /employee/42'],
    ['GET', '/employee/3.14/files/a/b', 'match Employees /files/a/b'],
    ['GET', '/employee/employee', 'match Employees /employee'],
    ['GET', '/1', 'match Root /'],
    ['DELETE', '/employee/3.14/employee', 'method_not_allowed GET,POST'],
    ['GET', '/employee/3.14/employee/42/x', 'no_route'],
    ['GET', '/employee/3.15/employee', 'no_route'],
    ['GET', '/employeex/3.14/employee', 'no_route'],
    ['GET', '/', 'no_route'],
  ];
  for (const [method, path, expected] of cases) {
    it(`${method} ${path} -> ${expected}`, () => {
      const r = table.match(method, path);
      const got =
        r.kind === 'match'
          ? `match ${r.api.name} ${r.remainder}`
          : r.kind === 'method_not_allowed'
            ? `method_not_allowed ${r.allowed.join(',')}`
            : r.kind;
      assert.equal(got, expected);
    });
  }
});
