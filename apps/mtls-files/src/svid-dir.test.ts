// Which trust domain each federated bundle file of an SVID directory is for, read from the URI SAN
// of its CA, and the error for a CA whose SAN Node cannot print (Node 20 answers null, Node 22+
// throws ERR_CRYPTO_OPERATION_FAILED).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSvidFiles } from './svid-dir.js';
import { TestCa, run, tempDir, writeFiles } from './testing/fixtures.js';

const example = TestCa.create({ trustDomain: 'example.org' });
const partner = TestCa.create({ trustDomain: 'partner.org' });
const svid = example.svid('/server');
const dir = tempDir('mtls-files-svid-dir-');
after(() => dir.remove());

function svidDir(name: string, federated: string[]): string {
  const files: Record<string, string> = { 'svid.0.pem': svid.certPem, 'svid.0.key': svid.keyPem, 'bundle.0.pem': example.pem };
  federated.forEach((pem, i) => (files[`federated_bundle.0.${i}.pem`] = pem));
  return writeFiles(join(dir.path, name), files);
}

describe('findSvidFiles', () => {
  it("names each federated bundle file by its CA's trust domain", () => {
    const d = svidDir('federated', [partner.pem]);
    assert.deepEqual(findSvidFiles(d).federatedBundleFiles, { 'partner.org': join(d, 'federated_bundle.0.0.pem') });
  });

  it("says which file it cannot tell the trust domain of when Node cannot decode its CA's SAN", async () => {
    const d = writeFiles(join(dir.path, 'undecodable'), {});
    // A subjectAltName whose GeneralNames holds a NULL, which is no GeneralName: OpenSSL cannot print it.
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=undecodable SAN',
      '-addext',
      'subjectAltName=DER:30020500',
      '-keyout',
      join(d, 'ca.key'),
      '-out',
      join(d, 'ca.pem'),
    ]);
    assert.equal(made.code, 0, made.stderr);
    const bad = svidDir('bad', [readFileSync(join(d, 'ca.pem'), 'utf8')]);
    assert.throws(
      () => findSvidFiles(bad),
      (err: Error) => {
        assert.equal(err.constructor, Error);
        assert.match(
          err.message,
          /^cannot tell which trust domain .*federated_bundle\.0\.0\.pem is for \(its first CA has no spiffe:\/\/<trust domain> URI SAN that can be read\); give the files with --cert, --key and --bundle instead$/,
        );
        return true;
      },
    );
  });

  it('refuses a CA whose URI SAN is not a SPIFFE ID, with the rule it breaks', () => {
    const odd = TestCa.create({ trustDomain: 'partner.org', uris: ['spiffe://partner.org:8443'] });
    const d = svidDir('not-an-id', [odd.pem]);
    assert.throws(() => findSvidFiles(d), /the URI SAN of its first CA is not a SPIFFE ID \(spiffeid: .*port/);
  });
});
