/**
 * A certificate that is not DER, found by the property-based tests (test/soak) and pinned here:
 * its signature BIT STRING declares one unused bit and sets it. OpenSSL reads it and normalizes
 * it (clears the bit), so `X509Certificate.raw` is not the input: the library keeps a certificate
 * whose bytes are not the ones it was given. DER is required (RFC 5280; Go's x509 refuses such a
 * certificate); it must be refused like other malformed input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleError, X509SvidError } from '../errors.js';
import { TestCa } from '../testing/ca.js';
import { X509Bundle } from './x509-bundle.js';
import { X509Svid } from '../svid/x509/x509-svid.js';

const ca = TestCa.create({ trustDomain: 'example.org' });

/** The DER with its last element, the signature BIT STRING, given 1 unused bit that is set. */
function withSetPaddingBit(der: Buffer): Buffer {
  const out = Buffer.from(der);
  let at = -1;
  for (let i = out.length - 80; i < out.length - 2; i++) {
    if (out[i] === 0x03 && i + 2 + out[i + 1]! === out.length && out[i + 2] === 0) at = i;
  }
  assert.ok(at > 0, 'found the signature BIT STRING');
  out[at + 2] = 1;
  out[out.length - 1] = out[out.length - 1]! | 1;
  return out;
}

describe('certificates that are not DER (fault cases)', () => {
  it('the intact certificates parse, and keep their bytes (the valid counterpart)', () => {
    const bundle = X509Bundle.parseRaw(ca.trustDomain, new Uint8Array(ca.der));
    assert.ok(Buffer.from(bundle.authorities()[0]!.raw).equals(ca.der));
    const svid = ca.svid('/web');
    assert.ok(Buffer.from(X509Svid.parseRaw(svid.chainDer, svid.keyDer).certificates[0]!.raw).equals(svid.leaf.raw));
  });

  it('X509Bundle.parseRaw refuses a certificate whose signature BIT STRING has a set padding bit', () => {
    const bad = withSetPaddingBit(ca.der);
    let kept: Buffer | undefined;
    try {
      kept = Buffer.from(X509Bundle.parseRaw(ca.trustDomain, new Uint8Array(bad)).authorities()[0]!.raw);
    } catch (err) {
      assert.ok(err instanceof BundleError, String(err));
      return;
    }
    assert.fail(
      `accepted a certificate that is not DER; the bundle keeps ${kept.equals(bad) ? 'the same' : 'different'} bytes than it was given`,
    );
  });

  it('X509Bundle.parse (PEM) refuses it too', () => {
    const pem = `-----BEGIN CERTIFICATE-----\n${withSetPaddingBit(ca.der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    assert.throws(() => X509Bundle.parse(ca.trustDomain, pem), BundleError, 'accepted a PEM certificate that is not DER');
  });

  it('X509Svid.parseRaw refuses a leaf that is not DER', () => {
    const svid = ca.svid('/web');
    assert.throws(
      () => X509Svid.parseRaw([new Uint8Array(withSetPaddingBit(svid.leaf.raw))], svid.keyDer),
      X509SvidError,
      'accepted a leaf that is not DER',
    );
  });
});
