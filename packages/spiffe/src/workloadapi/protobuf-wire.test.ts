/**
 * The protobuf wire reader and writer on their own, with no message type: varints across their
 * whole range (known encodings from the protobuf encoding guide), sign-extended int32s, skipping
 * each wire type, and bounds that are the reader's range, not the buffer's. The message-level
 * cases (malformed input, proto-loader agreement) are in `protobuf-codec.test.ts`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkloadApiError } from '../errors.js';
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, WireWriter } from './protobuf-wire.js';

function written(write: (w: WireWriter) => void): Buffer {
  const writer = new WireWriter();
  write(writer);
  return writer.finish();
}

function reader(bytes: Buffer | string, start = 0, end?: number): WireReader {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes;
  return new WireReader(buf, start, end ?? buf.length, 'Test');
}

function assertMalformed(run: () => unknown, what: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof WorkloadApiError, String(err));
    assert.equal(err.code, 'ERR_WORKLOADAPI_RESPONSE');
    assert.match(err.message, /^workloadapi: malformed Test message: /);
    assert.match(err.message, what);
    return true;
  });
}

describe('protobuf wire: varints', () => {
  const known: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [150, '9601'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 31 - 1, 'ffffffff07'],
    [2 ** 32, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ];
  for (const [value, hex] of known) {
    it(`writes ${value} as ${hex} and reads it back`, () => {
      assert.equal(written((w) => w.varint(value)).toString('hex'), hex);
      const r = reader(hex);
      assert.equal(r.varint(), value);
      assert.equal(r.pos, hex.length / 2);
    });
  }

  it('writes a negative int32 as 10 bytes, sign-extended, and reads it back as int32', () => {
    for (const value of [-1, -2, -150, -(2 ** 31)]) {
      const bytes = written((w) => w.negativeVarint(value));
      assert.equal(bytes.length, 10, String(value));
      assert.equal(reader(bytes).int32(), value);
    }
    assert.equal(written((w) => w.negativeVarint(-1)).toString('hex'), 'ffffffffffffffffff01');
  });

  it('reads a positive int32 from its varint', () => {
    assert.equal(reader('ac02').int32(), 300);
    assert.equal(reader('ffffffff07').int32(), 2 ** 31 - 1);
  });

  it('refuses a truncated varint, one longer than 10 bytes and one overflowing 64 bits, naming the byte', () => {
    assertMalformed(() => reader('ff').varint(), /truncated varint at byte 1;/);
    assertMalformed(() => reader('ff'.repeat(10) + '01').varint(), /varint overflows 64 bits at byte 10;/);
    assertMalformed(() => reader('ff'.repeat(9) + '02').varint(), /varint overflows 64 bits at byte 10;/);
    assert.doesNotThrow(() => reader('ff'.repeat(9) + '01').varint());
  });
});

describe('protobuf wire: tags, lengths and skipping', () => {
  it('writes a length-delimited field and reads its tag and payload', () => {
    const bytes = written((w) => w.lengthDelimited(3, Buffer.from('hi')));
    assert.equal(bytes.toString('hex'), '1a026869');
    const r = reader(bytes);
    assert.deepEqual(r.tag(), [3, WIRE_LEN]);
    assert.equal(r.bytes().toString(), 'hi');
    assert.equal(r.pos, r.end);
  });

  it('skips a field of each wire type to the byte after it', () => {
    const cases: [number, string][] = [
      [WIRE_VARINT, 'ac02'],
      [WIRE_FIXED64, '0102030405060708'],
      [WIRE_LEN, '03616263'],
      [5, '01020304'],
    ];
    for (const [wireType, hex] of cases) {
      const r = reader(hex + 'ee');
      r.skipField(wireType);
      assert.equal(r.pos, hex.length / 2, `wire type ${wireType}`);
    }
  });

  it('refuses groups and unknown wire types, and field numbers 0 and past 2^29 - 1', () => {
    for (const wireType of [3, 4, 6, 7]) {
      assertMalformed(() => reader('00').skipField(wireType), new RegExp(`unsupported wire type ${wireType}`));
    }
    assertMalformed(() => reader('00').tag(), /invalid field number 0/);
    const pastMax = written((w) => w.tag(2 ** 29, WIRE_VARINT));
    assertMalformed(() => reader(pastMax).tag(), /invalid field number 536870912/);
    assert.deepEqual(reader(written((w) => w.tag(2 ** 29 - 1, WIRE_VARINT))).tag(), [2 ** 29 - 1, WIRE_VARINT]);
  });

  it('bounds lengths by the end of its range, not by the end of the buffer', () => {
    const buf = Buffer.from('0361626364', 'hex');
    assertMalformed(() => reader(buf, 0, 3).bytes(), /length 3 runs past the end at byte 1;/);
    assert.equal(reader(buf, 0, 4).bytes().toString(), 'abc');
    assertMalformed(() => reader('0102030405060708', 0, 7).skipField(WIRE_FIXED64), /truncated fixed64/);
    assertMalformed(() => reader('0102030405060708', 0, 7).double(), /truncated double/);
  });
});
