import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type X509Certificate } from 'node:crypto';
import { KeyUsage, certInfo, certInfoFromDer, describe as describeCert, isIssuedBy, readCertInfo } from './cert-info.js';
import { BoundedCache } from './bounded-cache.js';
import { DerError } from '../../bundle/der.js';
import { TestCa, type LeafOptions } from '../../testing/ca.js';
import { nodeSubjectAltName } from '@spiffe-node/test-kit';
import * as der from '@spiffe-node/test-kit/der';

const ca = TestCa.create({ trustDomain: 'example.org' });
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

/** A leaf whose extensions are replaced by raw ones (so the bytes are independent of the writer). */
function withRawExtensions(exts: Array<{ oid: string; critical?: boolean; value: string }>, options: LeafOptions = {}): X509Certificate {
  return ca.leaf('/w', {
    keyUsage: null,
    basicConstraints: false,
    extKeyUsage: null,
    keyIdentifiers: false,
    uris: [],
    ...options,
    extraExtensions: exts.map((e) => ({ oid: e.oid, critical: e.critical ?? false, value: hex(e.value) })),
  }).certificate;
}

function info(cert: X509Certificate) {
  return readCertInfo(cert, cert.raw, 'k');
}

describe('readCertInfo: key usage from literal DER', () => {
  const table: Array<[string, string, number]> = [
    ['digitalSignature + keyEncipherment', '030205a0', KeyUsage.digitalSignature | (1 << 2)],
    ['keyCertSign + cRLSign', '03020106', KeyUsage.keyCertSign | KeyUsage.cRLSign],
    ['digitalSignature only', '03020780', KeyUsage.digitalSignature],
    ['decipherOnly (second byte)', '0303070080', 1 << 8],
    ['no bits', '030100', 0],
  ];
  for (const [name, value, mask] of table) {
    it(name, () => {
      assert.equal(info(withRawExtensions([{ oid: '2.5.29.15', critical: true, value }])).keyUsage, mask);
    });
  }
  it('reports an absent extension as undefined', () => {
    assert.equal(info(withRawExtensions([])).keyUsage, undefined);
  });
  it('rejects a key usage that is not a BIT STRING', () => {
    assert.throws(() => info(withRawExtensions([{ oid: '2.5.29.15', value: '040100' }])), DerError);
  });
});

describe('readCertInfo: basic constraints from literal DER (cross-checked with node:crypto)', () => {
  const table: Array<[string, string, boolean, number | undefined]> = [
    ['cA=true', '30030101ff', true, undefined],
    ['empty (cA=false)', '3000', false, undefined],
    ['cA=true, pathLen 0', '30060101ff020100', true, 0],
    ['cA=true, pathLen 300', '30070101ff0202012c', true, 300],
  ];
  for (const [name, value, isCa, pathLen] of table) {
    it(name, () => {
      const cert = withRawExtensions([{ oid: '2.5.29.19', critical: true, value }]);
      const got = info(cert);
      assert.equal(got.hasBasicConstraints, true);
      assert.equal(got.isCa, isCa);
      assert.equal(got.isCa, cert.ca);
      assert.equal(got.pathLen, pathLen);
    });
  }
  it('reports an absent extension', () => {
    const got = info(withRawExtensions([]));
    assert.equal(got.hasBasicConstraints, false);
    assert.equal(got.isCa, false);
  });
  it('rejects a negative path length', () => {
    assert.throws(() => info(withRawExtensions([{ oid: '2.5.29.19', value: '30060101ff0201ff' }])), DerError);
  });
});

describe('readCertInfo: URI SANs (cross-checked with node:crypto)', () => {
  const table: Array<[string, LeafOptions, string[]]> = [
    ['one URI', { uris: ['spiffe://example.org/w'] }, ['spiffe://example.org/w']],
    [
      'DNS names and two URIs',
      { dnsNames: ['a.example', 'b.example'], uris: ['spiffe://example.org/a', 'https://x.example/b'] },
      ['spiffe://example.org/a', 'https://x.example/b'],
    ],
    ['DNS names only', { dnsNames: ['a.example'], uris: [] }, []],
    ['no SAN extension', { uris: [] }, []],
  ];
  for (const [name, options, uris] of table) {
    it(name, () => {
      const cert = ca.leaf('/w', options).certificate;
      assert.deepEqual(info(cert).uris, uris);
      const fromNode = (cert.subjectAltName ?? '')
        .split(', ')
        .filter((s) => s.startsWith('URI:'))
        .map((s) => s.slice(4));
      assert.deepEqual(fromNode, uris);
    });
  }
  it('reads past other GeneralName forms (otherName, IP address)', () => {
    // SEQUENCE { [0] otherName { OID 1.2.3, [0] UTF8String "x" }, [7] 127.0.0.1, [6] "spiffe://example.org/o" }
    const uri = Buffer.from('spiffe://example.org/o').toString('hex');
    const names = `a00a06022a03a0040c027878` + `87047f000001` + `86${(22).toString(16)}${uri}`;
    const seq = `30${(names.length / 2).toString(16)}${names}`;
    const cert = withRawExtensions([{ oid: '2.5.29.17', value: seq }]);
    assert.deepEqual(info(cert).uris, ['spiffe://example.org/o']);
  });
});

describe('readCertInfo: a subjectAltName must decode as GeneralNames, as OpenSSL (Node) requires', () => {
  const uri = der.ia5String(0x86, 'spiffe://example.org/web');
  const name = der.sequence(der.set(der.sequence(der.oid('2.5.4.10'), der.utf8String('x'))));
  const otherName = der.tlv(0xa0, der.oid('1.2.3'), der.explicit(0, der.utf8String('x')));
  const hexOf = (...parts: Buffer[]): string => Buffer.concat(parts).toString('hex');
  // [name, SAN extension value, the URI SANs when valid (undefined: refused)]
  const table: Array<[string, string, string[] | undefined]> = [
    [
      'a URI, an otherName, a directoryName, a registeredID, an email and IPs',
      hexOf(
        der.sequence(
          otherName,
          der.tlv(0xa4, name),
          der.tlv(0x88, Buffer.from('2a0304', 'hex')),
          der.ia5String(0x81, 'a@example.org'),
          der.tlv(0x87, Buffer.from([127, 0, 0, 1])),
          der.tlv(0x87, Buffer.alloc(16, 1)),
          uri,
        ),
      ),
      ['spiffe://example.org/web'],
    ],
    ['an invalid tag (0xF9) before the URI (found by the fuzzer)', hexOf(der.sequence(der.tlv(0xf9, Buffer.alloc(0)), uri)), undefined],
    ['a universal tag (UTF8String) as a name', hexOf(der.sequence(der.utf8String('spiffe://example.org/x'), uri)), undefined],
    ['a context tag beyond [8]', hexOf(der.sequence(der.tlv(0x89, Buffer.from('x')), uri)), undefined],
    ['a constructed URI', hexOf(der.sequence(der.tlv(0xa6, der.ia5String(0x16, 'spiffe://example.org/x')))), undefined],
    ['a primitive directoryName', hexOf(der.sequence(der.tlv(0x84, Buffer.from('x')), uri)), undefined],
    ['an otherName without its value', hexOf(der.sequence(der.tlv(0xa0, der.oid('1.2.3')), uri)), undefined],
    ['an IP address of 5 bytes', hexOf(der.sequence(der.tlv(0x87, Buffer.alloc(5)), uri)), undefined],
    ['a URI with a byte outside IA5', hexOf(der.sequence(der.tlv(0x86, Buffer.from('spiffe://example.org/\xff', 'latin1')))), undefined],
    ['no name at all', '3000', undefined],
    ['bytes after the GeneralNames', hexOf(der.sequence(uri), Buffer.from([0])), undefined],
    ['a length that runs past the names', hexOf(Buffer.from([0x30, uri.length + 1]), uri), undefined],
    ['an x400Address', hexOf(der.sequence(der.tlv(0xa3, der.sequence()), uri)), undefined],
  ];
  for (const [title, value, uris] of table) {
    it(`${uris === undefined ? 'refuses' : 'reads'} ${title}`, () => {
      const cert = withRawExtensions([{ oid: '2.5.29.17', value }]);
      const node = nodeSubjectAltName(cert);
      if (uris === undefined) {
        assert.throws(() => info(cert), DerError);
        return;
      }
      assert.deepEqual(info(cert).uris, uris);
      assert.notEqual(node, null, 'Node decodes what the library accepts');
      assert.deepEqual(
        node!
          .split(', ')
          .filter((n) => n.startsWith('URI:'))
          .map((n) => n.slice(4)),
        uris,
      );
    });
  }
  it("refuses what Node cannot decode: the fuzzer's certificate shows no SAN in Node", () => {
    const cert = withRawExtensions([{ oid: '2.5.29.17', value: table[1]![1] }]);
    assert.equal(nodeSubjectAltName(cert), null);
    assert.throws(() => info(cert), { message: /subject alternative name entry 1 has tag 0xf9, which is no GeneralName alternative/ });
  });
});

describe('readCertInfo: validity (cross-checked with node:crypto)', () => {
  const table: Array<[string, Date, Date]> = [
    ['UTCTime', new Date('2024-02-29T12:34:56Z'), new Date('2049-12-31T23:59:59Z')],
    ['GeneralizedTime from 2050', new Date('2030-01-01T00:00:00Z'), new Date('2051-06-01T08:00:00Z')],
    ['UTCTime in the 1900s', new Date('1999-12-31T23:59:59Z'), new Date('2000-01-01T00:00:00Z')],
  ];
  for (const [name, notBefore, notAfter] of table) {
    it(name, () => {
      const cert = ca.leaf('/w', { notBefore, notAfter }).certificate;
      const got = info(cert);
      assert.equal(got.notBefore, notBefore.getTime());
      assert.equal(got.notAfter, notAfter.getTime());
      assert.equal(got.notBefore, Date.parse(cert.validFrom));
      assert.equal(got.notAfter, Date.parse(cert.validTo));
    });
  }
});

describe('readCertInfo: critical extensions and malformed input', () => {
  it('records the first critical extension it does not process', () => {
    const cert = withRawExtensions([
      { oid: '2.5.29.37', critical: true, value: '300a06082b06010505070302' },
      { oid: '1.2.840.113554.99', critical: true, value: '0500' },
    ]);
    assert.equal(info(cert).unhandledCritical, '1.2.840.113554.99');
  });
  it('ignores the same extension when it is not critical', () => {
    assert.equal(info(withRawExtensions([{ oid: '1.2.840.113554.99', value: '0500' }])).unhandledCritical, undefined);
  });
  it('rejects an extension that appears twice', () => {
    const ku = { oid: '2.5.29.15', value: '03020780' };
    assert.throws(() => info(withRawExtensions([ku, ku])), /appears more than once/);
    assert.equal(info(withRawExtensions([ku])).keyUsage, KeyUsage.digitalSignature);
  });
  it('rejects DER with trailing bytes', () => {
    const cert = ca.leaf('/w').certificate;
    assert.throws(() => readCertInfo(cert, Buffer.concat([cert.raw, Buffer.from([0])]), 'k'), DerError);
  });
});

describe('certificate caches', () => {
  it('parses DER once and returns the cached facts for equal bytes', () => {
    const cert = ca.leaf('/cached').certificate;
    const a = certInfoFromDer(Uint8Array.from(cert.raw));
    const b = certInfoFromDer(Uint8Array.from(cert.raw));
    assert.equal(a, b);
    assert.equal(certInfo(a.cert), a);
  });
  it('keeps facts apart for different certificates', () => {
    const x = certInfoFromDer(ca.leaf('/x').der);
    const y = certInfoFromDer(ca.leaf('/y').der);
    assert.notEqual(x.key, y.key);
    assert.deepEqual([x.uris, y.uris], [['spiffe://example.org/x'], ['spiffe://example.org/y']]);
  });
  it('caches issuance per pair, and a wrong parent stays wrong', () => {
    const other = TestCa.create({ trustDomain: 'example.org' });
    const leaf = certInfoFromDer(ca.leaf('/pair').der);
    const parent = certInfo(ca.certificate);
    const stranger = certInfo(other.certificate);
    assert.equal(isIssuedBy(leaf, parent), true);
    assert.equal(isIssuedBy(leaf, parent), true);
    assert.equal(isIssuedBy(leaf, stranger), false);
    assert.equal(isIssuedBy(leaf, stranger), false);
  });
  it('describes a certificate by subject, or as empty', () => {
    assert.equal(describeCert(certInfo(ca.certificate)), '"C=US, O=SPIFFE test, CN=example.org root CA"');
    assert.equal(describeCert(certInfoFromDer(ca.leaf('/e', { subject: {} }).der)), '(empty subject)');
  });
});

describe('BoundedCache', () => {
  it('drops the least recently used entry when full', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    assert.equal(cache.size, 2);
  });
  it('replaces a value without growing', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a'), 2);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
