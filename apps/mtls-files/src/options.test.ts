import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatVerdict } from './diagnose.js';
import { UsageError, parseRequestArgs, parseServerArgs } from './options.js';

describe('parseServerArgs', () => {
  it('reads the plain mode and the SPIFFE modes', () => {
    assert.deepEqual(parseServerArgs(['--cert', 'c.pem', '--key', 'k.pem', '--root-ca', 'a.pem', '--root-ca', 'b.pem'], {}), {
      mode: 'root-ca',
      cert: 'c.pem',
      key: 'k.pem',
      rootCas: ['a.pem', 'b.pem'],
      svidDir: undefined,
      bundle: undefined,
      authorizeIds: [],
      authorizeTds: [],
      port: 9443,
      host: undefined,
    });
    const spiffe = parseServerArgs(['--svid-dir', '/svids', '--authorize-id', 'spiffe://example.org/client', '--port', '8443'], {});
    assert.equal(spiffe.mode, 'spiffe');
    assert.equal(spiffe.port, 8443);
    assert.equal(parseServerArgs(['--cert', 'c', '--key', 'k', '--bundle', 'b'], {}).mode, 'spiffe');
    assert.equal(parseServerArgs(['--svid-dir', 'd'], { PORT: '7000' }).port, 7000);
  });

  const bad: Array<[string[], RegExp]> = [
    [[], /give --svid-dir, or both --cert and --key/],
    [['--cert', 'c'], /give --svid-dir, or both --cert and --key/],
    [['--svid-dir', 'd', '--cert', 'c'], /either --svid-dir or --cert/],
    [['--svid-dir', 'd', '--root-ca', 'r'], /--root-ca is for the plain mode/],
    [['--cert', 'c', '--key', 'k', '--authorize-id', 'spiffe://x/y'], /need SPIFFE mode/],
    [['--svid-dir', 'd', '--authorize-id', 'spiffe://x/y', '--authorize-td', 'x'], /not both/],
    [['--svid-dir', 'd', '--port', 'http'], /is not a port number/],
    [['--svid-dir', 'd', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [argv, error] of bad) {
    it(`refuses ${argv.join(' ') || 'nothing'}`, () =>
      assert.throws(
        () => parseServerArgs(argv, {}),
        (e: unknown) => e instanceof UsageError && error.test(e.message),
      ));
  }
});

describe('parseRequestArgs', () => {
  it('reads the file mode and the --spiffe mode', () => {
    assert.equal(parseRequestArgs([]).url, 'https://localhost:9443');
    assert.deepEqual(parseRequestArgs(['--key', 'k', '--cert', 'c', '--root-ca', 'r']).rootCas, ['r']);
    const s = parseRequestArgs(['--spiffe', '--server-id', 'spiffe://example.org/server', '--url', 'https://localhost:1/']);
    assert.equal(s.spiffe, true);
    assert.deepEqual(s.serverIds, ['spiffe://example.org/server']);
  });
  const bad: Array<[string[], RegExp]> = [
    [['--key', 'k'], /together/],
    [['--spiffe', '--root-ca', 'r'], /leave out --key, --cert and --root-ca/],
    [['--server-id', 'spiffe://x/y'], /go with --spiffe/],
  ];
  for (const [argv, error] of bad) {
    it(`refuses ${argv.join(' ')}`, () =>
      assert.throws(
        () => parseRequestArgs(argv),
        (e: unknown) => e instanceof UsageError && error.test(e.message),
      ));
  }
});

describe('formatVerdict', () => {
  it("writes the tutorial's JSON shape", () => {
    assert.equal(formatVerdict({ mTLSValid: true }), '{"mTLSValid": true}');
    assert.equal(
      formatVerdict({ mTLSValid: false, reason: 'UNEXPECTED_ID', detail: 'unexpected ID "spiffe://example.org/x"' }),
      '{"mTLSValid": false, "reason": "UNEXPECTED_ID", "detail": "unexpected ID \\"spiffe://example.org/x\\""}',
    );
  });
});
