/**
 * A SPIFFE bundle whose `x5c` certificate has a public key that cannot be decoded, found by the
 * property-based tests (test/soak) and pinned here: it must be refused with a BundleError like
 * every other malformed document, never with an OpenSSL error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleError } from '../errors.js';
import { TestCa } from '../testing/ca.js';
import { SpiffeBundle } from './spiffe-bundle.js';

const root = TestCa.create({ trustDomain: 'example.org' });

function documentWith(certDer: Buffer): string {
  return JSON.stringify({ keys: [{ ...root.publicKey.export({ format: 'jwk' }), use: 'x509-svid', x5c: [certDer.toString('base64')] }] });
}

describe('SpiffeBundle.parse with an undecodable x5c public key (fault case)', () => {
  it('parses the intact document', () => {
    const bundle = SpiffeBundle.parse(root.trustDomain, documentWith(root.der));
    assert.equal(bundle.x509Bundle().authorities().length, 1);
  });

  it('refuses the certificate whose EC point cannot be decoded with a BundleError', () => {
    const der = Buffer.from(root.der);
    const at = der.indexOf(Buffer.from('034200', 'hex')) + 3;
    assert.equal(der[at], 0x04, 'an uncompressed EC point');
    der[at] = 0x05;
    assert.throws(
      () => SpiffeBundle.parse(root.trustDomain, documentWith(der)),
      (err: unknown) => {
        assert.ok(
          err instanceof BundleError,
          `SpiffeBundle.parse threw ${(err as Error)?.constructor?.name} ${(err as { code?: string }).code ?? ''} ` +
            `("${(err as Error)?.message}") instead of a BundleError`,
        );
        assert.equal(err.code, 'ERR_BUNDLE_INVALID');
        return true;
      },
    );
  });
});
