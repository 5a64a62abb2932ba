/**
 * Corrupted key and certificate material found by the property-based tests (test/soak), pinned
 * as deterministic cases: each has an intact counterpart that must pass and a corrupted one that
 * must be refused with the library's typed error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import { X509SvidError } from '../../errors.js';
import { TestCa } from '../../testing/ca.js';
import { X509Bundle } from '../../bundle/x509-bundle.js';
import { X509Svid } from './x509-svid.js';
import { parseAndVerifyX509Svid } from './verify.js';

const root = TestCa.create({ trustDomain: 'example.org' });
const mid = root.intermediate();
const leaf = mid.svid('/web');

/** Flips one bit of the private scalar of a PKCS#8 P-256 key; the embedded public point stays. */
function corruptScalar(keyDer: Buffer): Buffer {
  const der = Buffer.from(keyDer);
  assert.equal(der.subarray(33, 36).toString('hex'), '010420', 'the layout of a PKCS#8 P-256 key');
  der[40] = (der[40] as number) ^ 0x01;
  return der;
}

/** Makes the EC point of a certificate's SubjectPublicKeyInfo undecodable (prefix 0x05). */
function corruptSpki(certDer: Buffer): Buffer {
  const der = Buffer.from(certDer);
  const at = der.indexOf(Buffer.from('034200', 'hex')) + 3;
  assert.equal(der[at], 0x04, 'an uncompressed EC point');
  der[at] = 0x05;
  return der;
}

function signsForLeaf(svid: X509Svid): boolean {
  const data = Buffer.from('probe');
  return verify(null, data, svid.certificates[0]!.publicKey, sign(null, data, svid.privateKey));
}

describe('X509Svid key checks (fault cases)', () => {
  it('accepts the intact key, which signs for the leaf', () => {
    const svid = X509Svid.parseRaw(leaf.chainDer, leaf.keyDer);
    assert.ok(signsForLeaf(svid), 'the intact key signs for the leaf');
  });

  it('refuses a key whose private scalar is corrupted though its embedded public point matches the leaf', () => {
    const bad = corruptScalar(leaf.keyDer);
    let accepted: X509Svid | undefined;
    try {
      accepted = X509Svid.parseRaw(leaf.chainDer, bad);
    } catch (err) {
      assert.ok(err instanceof X509SvidError, String(err));
      assert.equal(err.code, 'ERR_X509SVID_KEY_MISMATCH');
      return;
    }
    assert.fail(
      'X509Svid.parseRaw accepted a private key that does not sign for the leaf ' +
        `(a signature made with it verifies with the leaf key: ${signsForLeaf(accepted)}); ` +
        'checkPrivateKey compares only the public parts, so the key check must also prove possession (sign and verify)',
    );
  });

  it('the PEM form is refused the same way', () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${corruptScalar(leaf.keyDer).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    assert.ok(X509Svid.parse(leaf.certPem, leaf.keyPem), 'the intact PEM is accepted');
    assert.throws(
      () => X509Svid.parse(leaf.certPem, pem),
      (err: unknown) => {
        assert.ok(err instanceof X509SvidError, `expected X509SvidError, got ${String(err)}`);
        return true;
      },
      'X509Svid.parse accepted a PEM private key that does not sign for the leaf',
    );
  });
});

describe('parseAndVerifyX509Svid with an undecodable public key (fault cases)', () => {
  it('verifies the intact chain', () => {
    const { id } = parseAndVerifyX509Svid(leaf.chainDer, root.bundle());
    assert.equal(id.toString(), 'spiffe://example.org/web');
  });

  it('an intermediate whose public key cannot be decoded: X509SvidError, not an OpenSSL error', () => {
    const chain = [new Uint8Array(leaf.leaf.raw), new Uint8Array(corruptSpki(mid.der))];
    assert.throws(
      () => parseAndVerifyX509Svid(chain, root.bundle()),
      (err: unknown) => {
        assert.ok(
          err instanceof X509SvidError,
          `parseAndVerifyX509Svid threw ${(err as Error)?.constructor?.name} ${(err as { code?: string }).code ?? ''} ` +
            `("${(err as Error)?.message}") instead of an X509SvidError`,
        );
        return true;
      },
    );
  });

  it('a bundle authority whose public key cannot be decoded: X509SvidError, not an OpenSSL error', () => {
    const bundle = X509Bundle.parseRaw(root.trustDomain, new Uint8Array(corruptSpki(root.der)));
    const direct = root.svid('/direct');
    assert.throws(
      () => parseAndVerifyX509Svid(direct.chainDer, bundle),
      (err: unknown) => {
        assert.ok(
          err instanceof X509SvidError,
          `parseAndVerifyX509Svid threw ${(err as Error)?.constructor?.name} ${(err as { code?: string }).code ?? ''} ` +
            `("${(err as Error)?.message}") instead of an X509SvidError`,
        );
        return true;
      },
    );
  });
});
