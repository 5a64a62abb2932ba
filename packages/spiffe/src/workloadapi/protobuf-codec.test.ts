/**
 * The hand-written Workload API codec against `@grpc/proto-loader` loading `proto/workload.proto`
 * (the documented source of truth): for every message type, what one side encodes the other
 * decodes identically, on hand-picked and on seeded random values, with unknown fields mixed
 * in; and malformed input is refused with a typed error, also over a real gRPC call.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { WorkloadApiError } from '../errors.js';
import { encodeMessage } from './protobuf-codec.js';
import { MESSAGES } from './schema.js';
import { WORKLOAD_PROTO_PATH, workloadServiceDefinition } from './proto.js';

const reference = protoLoader.loadSync(WORKLOAD_PROTO_PATH, {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
})['SpiffeWorkloadAPI'] as unknown as grpc.ServiceDefinition;
const ours = workloadServiceDefinition();

type Side = 'request' | 'response';
const METHODS = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID', 'FetchJWTBundles', 'ValidateJWTSVID'] as const;
type Method = (typeof METHODS)[number];

function serialize(def: grpc.ServiceDefinition, method: Method, side: Side, value: unknown): Buffer {
  const m = def[method]!;
  return side === 'request' ? m.requestSerialize(value) : m.responseSerialize(value);
}
function deserialize(def: grpc.ServiceDefinition, method: Method, side: Side, bytes: Buffer): unknown {
  const m = def[method]!;
  return side === 'request' ? m.requestDeserialize(bytes) : m.responseDeserialize(bytes);
}

/** Both directions: ours → proto-loader and proto-loader → ours decode the same; returns ours. */
function assertEquivalent(method: Method, side: Side, value: unknown): unknown {
  const oursBytes = serialize(ours, method, side, value);
  const referenceBytes = serialize(reference, method, side, value);
  const decoded = deserialize(ours, method, side, oursBytes);
  assert.deepStrictEqual(deserialize(reference, method, side, oursBytes), decoded, 'proto-loader reads what we write');
  assert.deepStrictEqual(
    deserialize(ours, method, side, referenceBytes),
    deserialize(reference, method, side, referenceBytes),
    'we read what proto-loader writes',
  );
  assert.deepStrictEqual(decoded, deserialize(reference, method, side, referenceBytes), 'same result either way');
  return decoded;
}

// ------------------------------------------------------------------------------ the definition

describe('workloadServiceDefinition', () => {
  it('has the five methods of SpiffeWorkloadAPI with the paths, flags and names proto-loader gives', () => {
    assert.deepStrictEqual(Object.keys(ours).sort(), Object.keys(reference).sort());
    for (const method of METHODS) {
      const a = ours[method]!;
      const b = reference[method]!;
      assert.equal(a.path, `/SpiffeWorkloadAPI/${method}`);
      assert.equal(a.path, b.path);
      assert.equal(a.requestStream, b.requestStream);
      assert.equal(a.responseStream, b.responseStream);
      assert.equal(a.originalName, b.originalName);
      for (const fn of ['requestSerialize', 'requestDeserialize', 'responseSerialize', 'responseDeserialize'] as const) {
        assert.equal(typeof a[fn], 'function', `${method}.${fn}`);
      }
    }
  });

  it('is built once', () => {
    assert.equal(workloadServiceDefinition(), ours);
  });
});

// ------------------------------------------------------------------------------ hand-picked

const cert = Buffer.from('3082010a0282010100c0ffee', 'hex');
const key = Buffer.from('308204be020100300d06092a864886f70d0101', 'hex');

const handPicked: { name: string; method: Method; side: Side; value: unknown; expected: unknown }[] = [
  { name: 'empty X509SVIDRequest', method: 'FetchX509SVID', side: 'request', value: {}, expected: {} },
  {
    name: 'empty X509SVIDResponse',
    method: 'FetchX509SVID',
    side: 'response',
    value: {},
    expected: { svids: [], crl: [], federated_bundles: {} },
  },
  {
    name: 'full X509SVIDResponse (Uint8Array bytes, repeated bytes, map)',
    method: 'FetchX509SVID',
    side: 'response',
    value: {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', x509_svid: new Uint8Array(cert), x509_svid_key: key, bundle: cert, hint: 'internal' },
        { spiffe_id: 'spiffe://example.org/db', x509_svid: cert, x509_svid_key: key, bundle: cert },
      ],
      crl: [Buffer.from([1, 2, 3]), Buffer.alloc(0)],
      federated_bundles: { 'spiffe://other.org': cert, 'spiffe://empty.org': new Uint8Array(0) },
    },
    expected: {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', x509_svid: cert, x509_svid_key: key, bundle: cert, hint: 'internal' },
        { spiffe_id: 'spiffe://example.org/db', x509_svid: cert, x509_svid_key: key, bundle: cert, hint: '' },
      ],
      crl: [Buffer.from([1, 2, 3]), Buffer.alloc(0)],
      federated_bundles: { 'spiffe://other.org': cert, 'spiffe://empty.org': Buffer.alloc(0) },
    },
  },
  {
    name: 'an SVID with every field missing',
    method: 'FetchX509SVID',
    side: 'response',
    value: { svids: [{}] },
    expected: {
      svids: [{ spiffe_id: '', x509_svid: Buffer.alloc(0), x509_svid_key: Buffer.alloc(0), bundle: Buffer.alloc(0), hint: '' }],
      crl: [],
      federated_bundles: {},
    },
  },
  { name: 'empty X509BundlesRequest', method: 'FetchX509Bundles', side: 'request', value: {}, expected: {} },
  {
    name: 'X509BundlesResponse',
    method: 'FetchX509Bundles',
    side: 'response',
    value: { crl: [cert], bundles: { 'spiffe://example.org': cert } },
    expected: { crl: [cert], bundles: { 'spiffe://example.org': cert } },
  },
  { name: 'empty X509BundlesResponse', method: 'FetchX509Bundles', side: 'response', value: {}, expected: { crl: [], bundles: {} } },
  {
    name: 'JWTSVIDRequest with two audiences (one empty) and a subject',
    method: 'FetchJWTSVID',
    side: 'request',
    value: { audience: ['spiffe://example.org/db', ''], spiffe_id: 'spiffe://example.org/web' },
    expected: { audience: ['spiffe://example.org/db', ''], spiffe_id: 'spiffe://example.org/web' },
  },
  {
    name: 'JWTSVIDRequest without subject',
    method: 'FetchJWTSVID',
    side: 'request',
    value: { audience: ['a'] },
    expected: { audience: ['a'], spiffe_id: '' },
  },
  {
    name: 'JWTSVIDResponse',
    method: 'FetchJWTSVID',
    side: 'response',
    value: {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', svid: 'a.b.c' },
        { spiffe_id: 'spiffe://example.org/x', svid: 'd.e.f', hint: 'h' },
      ],
    },
    expected: {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', svid: 'a.b.c', hint: '' },
        { spiffe_id: 'spiffe://example.org/x', svid: 'd.e.f', hint: 'h' },
      ],
    },
  },
  { name: 'empty JWTBundlesRequest', method: 'FetchJWTBundles', side: 'request', value: {}, expected: {} },
  {
    name: 'JWTBundlesResponse with non-ASCII keys',
    method: 'FetchJWTBundles',
    side: 'response',
    value: { bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}'), 'spiffe://ex\u00e4mple-\u{1F600}.org': Buffer.from('{}') } },
    expected: { bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}'), 'spiffe://ex\u00e4mple-\u{1F600}.org': Buffer.from('{}') } },
  },
  {
    name: 'ValidateJWTSVIDRequest',
    method: 'ValidateJWTSVID',
    side: 'request',
    value: { audience: 'spiffe://example.org/db', svid: 'a.b.c' },
    expected: { audience: 'spiffe://example.org/db', svid: 'a.b.c' },
  },
  {
    name: 'ValidateJWTSVIDResponse without claims',
    method: 'ValidateJWTSVID',
    side: 'response',
    value: {},
    expected: { spiffe_id: '', claims: null },
  },
  {
    name: 'ValidateJWTSVIDResponse with empty claims',
    method: 'ValidateJWTSVID',
    side: 'response',
    value: { spiffe_id: 'spiffe://example.org/web', claims: { fields: {} } },
    expected: { spiffe_id: 'spiffe://example.org/web', claims: { fields: {} } },
  },
  {
    name: 'ValidateJWTSVIDResponse with every kind of Value, nested, and default values inside the oneof',
    method: 'ValidateJWTSVID',
    side: 'response',
    value: {
      spiffe_id: 'spiffe://example.org/web',
      claims: {
        fields: {
          sub: { stringValue: 'spiffe://example.org/web' },
          empty: { stringValue: '' },
          exp: { numberValue: 1_700_000_000 },
          zero: { numberValue: 0 },
          negzero: { numberValue: -0 },
          inf: { numberValue: -Infinity },
          yes: { boolValue: true },
          no: { boolValue: false },
          nothing: { nullValue: 'NULL_VALUE' },
          nothing2: { nullValue: 0 },
          unset: {},
          aud: {
            listValue: {
              values: [
                { stringValue: 'a' },
                { numberValue: 1.5 },
                { listValue: {} },
                { structValue: { fields: { deep: { boolValue: true } } } },
              ],
            },
          },
          obj: { structValue: { fields: {} } },
        },
      },
    },
    expected: {
      spiffe_id: 'spiffe://example.org/web',
      claims: {
        fields: {
          sub: { stringValue: 'spiffe://example.org/web', kind: 'stringValue' },
          empty: { stringValue: '', kind: 'stringValue' },
          exp: { numberValue: 1_700_000_000, kind: 'numberValue' },
          zero: { numberValue: 0, kind: 'numberValue' },
          negzero: { numberValue: -0, kind: 'numberValue' },
          inf: { numberValue: -Infinity, kind: 'numberValue' },
          yes: { boolValue: true, kind: 'boolValue' },
          no: { boolValue: false, kind: 'boolValue' },
          nothing: { nullValue: 'NULL_VALUE', kind: 'nullValue' },
          nothing2: { nullValue: 'NULL_VALUE', kind: 'nullValue' },
          unset: {},
          aud: {
            listValue: {
              values: [
                { stringValue: 'a', kind: 'stringValue' },
                { numberValue: 1.5, kind: 'numberValue' },
                { listValue: { values: [] }, kind: 'listValue' },
                { structValue: { fields: { deep: { boolValue: true, kind: 'boolValue' } } }, kind: 'structValue' },
              ],
            },
            kind: 'listValue',
          },
          obj: { structValue: { fields: {} }, kind: 'structValue' },
        },
      },
    },
  },
  {
    name: 'an unknown null_value enum number survives as a number',
    method: 'ValidateJWTSVID',
    side: 'response',
    value: { claims: { fields: { odd: { nullValue: 7 }, negative: { nullValue: -3 } } } },
    expected: {
      spiffe_id: '',
      claims: { fields: { odd: { nullValue: 7, kind: 'nullValue' }, negative: { nullValue: -3, kind: 'nullValue' } } },
    },
  },
];

describe('codec: hand-picked messages match proto-loader', () => {
  for (const c of handPicked) {
    it(`${c.method} ${c.side}: ${c.name}`, () => {
      assert.deepStrictEqual(assertEquivalent(c.method, c.side, c.value), c.expected);
    });
  }

  it('decodes a bytes field as a Buffer', () => {
    const decoded = deserialize(
      ours,
      'FetchX509SVID',
      'response',
      serialize(ours, 'FetchX509SVID', 'response', { crl: [new Uint8Array([9])] }),
    ) as { crl: unknown[] };
    assert.ok(Buffer.isBuffer(decoded.crl[0]));
  });

  it('accepts bytes as base64 strings, as proto-loader does', () => {
    const value = { crl: [cert.toString('base64')], bundles: { 'spiffe://example.org': cert.toString('base64') } };
    assert.deepStrictEqual(assertEquivalent('FetchX509Bundles', 'response', value), {
      crl: [cert],
      bundles: { 'spiffe://example.org': cert },
    });
  });

  it("encodes the fake agent's snake_case Struct values (which proto-loader silently dropped)", () => {
    const value = {
      spiffe_id: 'x',
      claims: {
        fields: {
          s: { string_value: 'v' },
          n: { null_value: 0 },
          l: { list_value: { values: [{ number_value: 2 }, { bool_value: true }] } },
          o: { struct_value: { fields: {} } },
        },
      },
    };
    const decoded = deserialize(ours, 'ValidateJWTSVID', 'response', serialize(ours, 'ValidateJWTSVID', 'response', value));
    assert.deepStrictEqual(decoded, {
      spiffe_id: 'x',
      claims: {
        fields: {
          s: { stringValue: 'v', kind: 'stringValue' },
          n: { nullValue: 'NULL_VALUE', kind: 'nullValue' },
          l: {
            listValue: {
              values: [
                { numberValue: 2, kind: 'numberValue' },
                { boolValue: true, kind: 'boolValue' },
              ],
            },
            kind: 'listValue',
          },
          o: { structValue: { fields: {} }, kind: 'structValue' },
        },
      },
    });
  });

  it('keeps a map key named __proto__ as an ordinary entry', () => {
    const bytes = serialize(ours, 'FetchJWTBundles', 'response', { bundles: JSON.parse('{"__proto__": "AQI="}') });
    const decoded = deserialize(ours, 'FetchJWTBundles', 'response', bytes) as { bundles: Record<string, Buffer> };
    assert.equal(Object.getPrototypeOf(decoded.bundles), Object.prototype);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(decoded.bundles, '__proto__')?.value, Buffer.from([1, 2]));
  });

  it('reads a map entry whose key or value is missing as the default', () => {
    // federated_bundles entry with only a key, then one with only a value.
    const bytes = Buffer.from('1a030a0161' + '1a03120162', 'hex');
    assert.deepStrictEqual(deserialize(ours, 'FetchX509SVID', 'response', bytes), {
      svids: [],
      crl: [],
      federated_bundles: { a: Buffer.alloc(0), '': Buffer.from('b') },
    });
  });

  it('lets the last of duplicate map keys and of repeated singular fields win', () => {
    const bytes = Buffer.from('1a060a0161120162' + '1a060a0161120163' + '0a00', 'hex');
    const twice = Buffer.concat([
      encodeMessage(MESSAGES.ValidateJWTSVIDRequest, { audience: 'a' }),
      encodeMessage(MESSAGES.ValidateJWTSVIDRequest, { audience: 'b' }),
    ]);
    assert.deepStrictEqual(
      deserialize(ours, 'FetchX509SVID', 'response', bytes),
      deserialize(reference, 'FetchX509SVID', 'response', bytes),
    );
    assert.deepStrictEqual(deserialize(ours, 'ValidateJWTSVID', 'request', twice), { audience: 'b', svid: '' });
  });

  const badEncodings: { name: string; method: Method; side: Side; value: unknown; ok: unknown }[] = [
    { name: 'a repeated field that is not an array', method: 'FetchX509SVID', side: 'response', value: { svids: 5 }, ok: { svids: [] } },
    { name: 'a map that is not an object', method: 'FetchJWTBundles', side: 'response', value: { bundles: 'x' }, ok: { bundles: {} } },
    { name: 'bytes that are a number', method: 'FetchX509Bundles', side: 'response', value: { crl: [5] }, ok: { crl: [Buffer.from([5])] } },
    {
      name: 'a message that is a string',
      method: 'ValidateJWTSVID',
      side: 'response',
      value: { claims: 'x' },
      ok: { claims: { fields: {} } },
    },
    {
      name: 'an unknown enum name',
      method: 'ValidateJWTSVID',
      side: 'response',
      value: { claims: { fields: { k: { nullValue: 'NOPE' } } } },
      ok: { claims: { fields: { k: { nullValue: 'NULL_VALUE' } } } },
    },
  ];
  for (const c of badEncodings) {
    it(`refuses to encode ${c.name}, and encodes its valid counterpart`, () => {
      assert.throws(() => serialize(ours, c.method, c.side, c.value), TypeError);
      assert.doesNotThrow(() => serialize(ours, c.method, c.side, c.ok));
    });
  }
});

// ------------------------------------------------------------------------------ randomized

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly rand: () => number) {}
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  string(): string {
    const alphabet = ['a', 'Z', '0', '/', ':', '.', '-', '\u00e9', '\u4e2d', '\u{1F511}', ' ', '\0'];
    let s = '';
    for (let i = this.int(this.chance(0.1) ? 300 : 12); i > 0; i--) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  bytes(): Buffer {
    const b = Buffer.alloc(this.int(this.chance(0.1) ? 400 : 20));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    return this.chance(0.5) ? b : (new Uint8Array(b) as Buffer);
  }
  array<T>(make: () => T, max = 4): T[] {
    return Array.from({ length: this.int(max + 1) }, make);
  }
  bytesMap(): Record<string, Uint8Array> {
    const map: Record<string, Uint8Array> = {};
    for (let i = this.int(4); i > 0; i--) map[`spiffe://${this.string()}`] = this.bytes();
    return map;
  }
  /** Sets `name` to `value()` most of the time, and leaves it out otherwise. */
  maybe(target: Record<string, unknown>, name: string, value: () => unknown): void {
    if (this.chance(0.8)) target[name] = value();
  }
  double(): number {
    const specials = [0, -0, 1, -1, 0.5, 1e308, -5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity];
    return this.chance(0.3) ? specials[this.int(specials.length)]! : (this.rand() - 0.5) * 10 ** this.int(20);
  }
  value(depth: number): Record<string, unknown> {
    const kinds = depth > 2 ? 5 : 7;
    switch (this.int(kinds)) {
      case 0:
        return { nullValue: this.chance(0.5) ? 'NULL_VALUE' : 0 };
      case 1:
        return { numberValue: this.double() };
      case 2:
        return { stringValue: this.string() };
      case 3:
        return { boolValue: this.chance(0.5) };
      case 4:
        return {};
      case 5:
        return { structValue: this.struct(depth + 1) };
      default:
        return { listValue: { values: this.array(() => this.value(depth + 1)) } };
    }
  }
  struct(depth: number): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    for (let i = this.int(5); i > 0; i--) fields[this.string()] = this.value(depth);
    return { fields };
  }
}

function randomMessage(g: Gen, method: Method, side: Side): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (side === 'request') {
    if (method === 'FetchJWTSVID') {
      g.maybe(m, 'audience', () => g.array(() => g.string()));
      g.maybe(m, 'spiffe_id', () => g.string());
    } else if (method === 'ValidateJWTSVID') {
      g.maybe(m, 'audience', () => g.string());
      g.maybe(m, 'svid', () => g.string());
    }
    return m;
  }
  switch (method) {
    case 'FetchX509SVID':
      g.maybe(m, 'svids', () =>
        g.array(() => {
          const s: Record<string, unknown> = {};
          g.maybe(s, 'spiffe_id', () => g.string());
          for (const f of ['x509_svid', 'x509_svid_key', 'bundle']) g.maybe(s, f, () => g.bytes());
          g.maybe(s, 'hint', () => g.string());
          return s;
        }),
      );
      g.maybe(m, 'crl', () => g.array(() => g.bytes()));
      g.maybe(m, 'federated_bundles', () => g.bytesMap());
      break;
    case 'FetchX509Bundles':
      g.maybe(m, 'crl', () => g.array(() => g.bytes()));
      g.maybe(m, 'bundles', () => g.bytesMap());
      break;
    case 'FetchJWTSVID':
      g.maybe(m, 'svids', () =>
        g.array(() => {
          const s: Record<string, unknown> = {};
          for (const f of ['spiffe_id', 'svid', 'hint']) g.maybe(s, f, () => g.string());
          return s;
        }),
      );
      break;
    case 'FetchJWTBundles':
      g.maybe(m, 'bundles', () => g.bytesMap());
      break;
    case 'ValidateJWTSVID':
      g.maybe(m, 'spiffe_id', () => g.string());
      g.maybe(m, 'claims', () => g.struct(0));
      break;
  }
  return m;
}

/** Random unknown fields (numbers 16 to 2^29-1, every skippable wire type). */
function unknownFields(g: Gen): Buffer {
  const parts: Buffer[] = [];
  for (let i = g.int(4); i > 0; i--) {
    const no = g.chance(0.5) ? 16 + g.int(100) : 2 ** 29 - 1 - g.int(1000);
    const wireType = [0, 1, 2, 5][g.int(4)]!;
    parts.push(encodeVarint(no * 8 + wireType));
    if (wireType === 0) parts.push(g.chance(0.3) ? Buffer.from('ffffffffffffffffff01', 'hex') : encodeVarint(g.int(300)));
    if (wireType === 1) parts.push(Buffer.alloc(8, 7));
    if (wireType === 5) parts.push(Buffer.alloc(4, 9));
    if (wireType === 2) {
      const payload = g.bytes();
      parts.push(encodeVarint(payload.length), Buffer.from(payload));
    }
  }
  return Buffer.concat(parts);
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

describe('codec: seeded random messages match proto-loader', () => {
  for (const method of METHODS) {
    for (const side of ['request', 'response'] as const) {
      it(`${method} ${side}: 300 random values, both directions, with and without unknown fields`, () => {
        const g = new Gen(prng(0x5eed + METHODS.indexOf(method) * 2 + (side === 'request' ? 0 : 1)));
        for (let i = 0; i < 300; i++) {
          const value = randomMessage(g, method, side);
          const decoded = assertEquivalent(method, side, value);
          // Unknown fields before and after the known ones are skipped.
          const bytes = serialize(ours, method, side, value);
          const noisy = Buffer.concat([unknownFields(g), bytes, unknownFields(g)]);
          assert.deepStrictEqual(deserialize(ours, method, side, noisy), decoded, `unknown fields, seed case ${i}`);
          assert.deepStrictEqual(deserialize(reference, method, side, noisy), decoded, `proto-loader with unknown fields, case ${i}`);
        }
      });
    }
  }

  it('skips unknown fields inside nested messages and map entries', () => {
    const g = new Gen(prng(42));
    const svid = Buffer.concat([
      encodeMessage(MESSAGES.X509SVID, { spiffe_id: 'spiffe://example.org/web', bundle: cert }),
      unknownFields(g),
      Buffer.from('3a0178', 'hex'),
    ]);
    const entry = Buffer.from('0a0161' + '2001' + '120162', 'hex');
    const bytes = Buffer.concat([Buffer.from([0x0a, svid.length]), svid, Buffer.from([0x1a, entry.length]), entry]);
    const expected = {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', x509_svid: Buffer.alloc(0), x509_svid_key: Buffer.alloc(0), bundle: cert, hint: '' },
      ],
      crl: [],
      federated_bundles: { a: Buffer.from('b') },
    };
    assert.deepStrictEqual(deserialize(ours, 'FetchX509SVID', 'response', bytes), expected);
    assert.deepStrictEqual(deserialize(reference, 'FetchX509SVID', 'response', bytes), expected);
  });
});

// ------------------------------------------------------------------------------ malformed input

function nestedStructs(depth: number): Buffer {
  // Value{struct_value: Struct{fields: {"k": Value{...}}}} nested `depth` times, inside claims.
  let value = Buffer.from('2001', 'hex'); // Value{bool_value: true}
  for (let i = 0; i < depth; i++) {
    const entry = Buffer.concat([Buffer.from('0a016b', 'hex'), encodeVarint(0x12), encodeVarint(value.length), value]);
    const struct = Buffer.concat([encodeVarint(0x0a), encodeVarint(entry.length), entry]);
    value = Buffer.concat([encodeVarint(0x2a), encodeVarint(struct.length), struct]);
  }
  const entry = Buffer.concat([Buffer.from('0a016b', 'hex'), encodeVarint(0x12), encodeVarint(value.length), value]);
  const claims = Buffer.concat([encodeVarint(0x0a), encodeVarint(entry.length), entry]);
  return Buffer.concat([encodeVarint(0x12), encodeVarint(claims.length), claims]);
}

describe('codec: malformed input is refused with a WorkloadApiError', () => {
  // Each case: the bad bytes, and a valid counterpart that differs only in the defect.
  const cases: { name: string; method: Method; side: Side; bad: string | Buffer; good: string | Buffer }[] = [
    { name: 'a tag with no length after it', method: 'FetchX509SVID', side: 'response', bad: '0a', good: '0a00' },
    { name: 'a length past the end', method: 'FetchX509SVID', side: 'response', bad: '0a05', good: '0a00' },
    {
      name: 'a length past the end of the enclosing message',
      method: 'FetchX509SVID',
      side: 'response',
      bad: '0a020a05',
      good: '0a020a00',
    },
    { name: 'a truncated varint tag', method: 'FetchX509SVID', side: 'response', bad: '80', good: '800100' },
    {
      name: 'a varint of 11 bytes',
      method: 'FetchX509SVID',
      side: 'response',
      bad: 'a001' + 'ff'.repeat(10) + '01',
      good: 'a001' + 'ff'.repeat(9) + '01',
    },
    {
      name: 'a 10-byte varint overflowing 64 bits',
      method: 'FetchX509SVID',
      side: 'response',
      bad: 'a001' + 'ff'.repeat(9) + '02',
      good: 'a001' + 'ff'.repeat(9) + '01',
    },
    {
      name: 'a length varint overflowing 64 bits',
      method: 'FetchJWTBundles',
      side: 'response',
      bad: 'a201' + 'ff'.repeat(9) + '7f',
      good: 'a20100',
    },
    { name: 'a huge length', method: 'FetchJWTBundles', side: 'response', bad: 'a201ffffffff0f', good: 'a20100' },
    { name: 'field number 0', method: 'FetchX509SVID', side: 'response', bad: '0000', good: 'a00100' },
    { name: 'wire type 3 (group start)', method: 'FetchX509SVID', side: 'response', bad: 'a301', good: 'a00100' },
    { name: 'wire type 4 (group end)', method: 'FetchX509SVID', side: 'response', bad: 'a401', good: 'a501' + '00'.repeat(4) },
    { name: 'wire type 6', method: 'FetchX509SVID', side: 'response', bad: 'a601', good: 'a101' + '00'.repeat(8) },
    { name: 'wire type 7', method: 'FetchX509SVID', side: 'response', bad: 'a701', good: 'a20100' },
    {
      name: 'a truncated fixed64 unknown field',
      method: 'FetchX509SVID',
      side: 'response',
      bad: 'a101' + '00'.repeat(7),
      good: 'a101' + '00'.repeat(8),
    },
    {
      name: 'a truncated fixed32 unknown field',
      method: 'FetchX509SVID',
      side: 'response',
      bad: 'a501' + '00'.repeat(3),
      good: 'a501' + '00'.repeat(4),
    },
    { name: 'a known field with the wrong wire type', method: 'FetchX509SVID', side: 'response', bad: '0801', good: '0a00' },
    { name: 'a string field sent as fixed32', method: 'ValidateJWTSVID', side: 'request', bad: '0d00000000', good: '0a00' },
    { name: 'a map entry with a varint value', method: 'FetchJWTBundles', side: 'response', bad: '0a050a01611001', good: '0a050a01611200' },
    {
      name: 'a map entry value running past the entry',
      method: 'FetchJWTBundles',
      side: 'response',
      bad: '0a050a0161120362',
      good: '0a060a0161120162',
    },
    {
      name: 'a truncated double in a Value',
      method: 'ValidateJWTSVID',
      side: 'response',
      bad: '120f0a0d0a016b120811' + '00'.repeat(7),
      good: '12100a0e0a016b120911' + '000000000000f03f',
    },
    {
      name: 'a Value with a length-delimited bool',
      method: 'ValidateJWTSVID',
      side: 'response',
      bad: '12090a070a016b12022200',
      good: '12090a070a016b12022001',
    },
    {
      name: 'Structs nested past the limit',
      method: 'ValidateJWTSVID',
      side: 'response',
      bad: nestedStructs(120),
      good: nestedStructs(40),
    },
  ];
  for (const c of cases) {
    it(`${c.method} ${c.side}: ${c.name}`, () => {
      const bad = typeof c.bad === 'string' ? Buffer.from(c.bad, 'hex') : c.bad;
      const good = typeof c.good === 'string' ? Buffer.from(c.good, 'hex') : c.good;
      assert.throws(
        () => deserialize(ours, c.method, c.side, bad),
        (err: unknown) =>
          err instanceof WorkloadApiError && err.code === 'ERR_WORKLOADAPI_RESPONSE' && err.message.startsWith('workloadapi: malformed '),
      );
      assert.doesNotThrow(() => deserialize(ours, c.method, c.side, good));
    });
  }

  it('never throws anything but a WorkloadApiError on random bytes, nor on every prefix of a valid message', () => {
    const g = new Gen(prng(7));
    const tryAll = (bytes: Buffer): void => {
      for (const method of METHODS) {
        for (const side of ['request', 'response'] as const) {
          try {
            deserialize(ours, method, side, bytes);
          } catch (err) {
            assert.ok(err instanceof WorkloadApiError, `${method} ${side} ${bytes.toString('hex')}: ${String(err)}`);
          }
        }
      }
    };
    for (let i = 0; i < 2000; i++) tryAll(g.bytes());
    const valid = serialize(ours, 'ValidateJWTSVID', 'response', handPicked.at(-2)!.value);
    for (let n = 0; n < valid.length; n++) tryAll(valid.subarray(0, n));
  });
});

// ------------------------------------------------------------------------------ over gRPC

describe('codec over a real gRPC call', () => {
  let dir: string;
  let server: grpc.Server;
  let client: grpc.Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spiffe-codec-'));
    const socket = `unix://${join(dir, 'agent.sock')}`;
    server = new grpc.Server();
    // An agent whose FetchX509SVID sends a truncated message, and whose FetchJWTSVID answers
    // with what it was asked for: the decoded request, echoed back as SVIDs.
    const garbling = { ...ours, FetchX509SVID: { ...ours['FetchX509SVID']!, responseSerialize: () => Buffer.from('0a05', 'hex') } };
    server.addService(garbling, {
      FetchX509SVID: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({});
        call.end();
      },
      FetchJWTSVID: (
        call: grpc.ServerUnaryCall<{ audience: string[]; spiffe_id: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        callback(null, { svids: call.request.audience.map((aud) => ({ spiffe_id: call.request.spiffe_id, svid: aud })) });
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(socket, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    client = new grpc.Client(socket, grpc.credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('carries a unary request and response', async () => {
    const def = ours['FetchJWTSVID']!;
    const response = await new Promise<unknown>((resolve, reject) =>
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        { audience: ['spiffe://example.org/db', 'x'], spiffe_id: 'spiffe://example.org/web' },
        (err, value) => (err ? reject(err) : resolve(value)),
      ),
    );
    assert.deepStrictEqual(response, {
      svids: [
        { spiffe_id: 'spiffe://example.org/web', svid: 'spiffe://example.org/db', hint: '' },
        { spiffe_id: 'spiffe://example.org/web', svid: 'x', hint: '' },
      ],
    });
  });

  it('turns a malformed streamed response into an INTERNAL status', async () => {
    const def = ours['FetchX509SVID']!;
    const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, {});
    const outcome = await new Promise<{ data: unknown[]; error?: grpc.ServiceError }>((resolve) => {
      const data: unknown[] = [];
      call.on('data', (d) => data.push(d));
      call.on('error', (error: grpc.ServiceError) => resolve({ data, error }));
      call.on('end', () => resolve({ data }));
    });
    assert.deepStrictEqual(outcome.data, []);
    assert.equal(outcome.error?.code, grpc.status.INTERNAL);
    assert.match(outcome.error?.details ?? '', /malformed X509SVIDResponse/);
  });
});
