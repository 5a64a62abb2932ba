/**
 * Finding the SVID files in a directory: the ones `spiffe api fetch x509 -write` (and
 * `spire-agent api fetch x509 -write`) write, or the ones spiffe-helper's examples name.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpiffeId } from '@spiffe-node/spiffe';

/**
 * The files of one SVID and its bundles.
 *
 * @example
 * ```ts
 * const files: SvidFiles = { certFile: 'svid.0.pem', keyFile: 'svid.0.key', bundleFile: 'bundle.0.pem', federatedBundleFiles: {} };
 * ```
 */
export interface SvidFiles {
  certFile: string;
  keyFile: string;
  bundleFile: string;
  /** Trust domain name → bundle file. */
  federatedBundleFiles: Record<string, string>;
}

/**
 * The `URI:` names of a certificate's subjectAltName, as Node prints them. Node cannot print every
 * SAN it is given: for one it cannot decode, Node 20 answers null and leaves the error in
 * OpenSSL's queue (where a later, unrelated call reports it), Node 22+ throws. Both mean "no name
 * Node can show"; the queue is cleared by parsing the certificate again.
 */
function uriNames(der: Buffer): string[] {
  let san: string | undefined;
  try {
    san = new X509Certificate(der).subjectAltName;
  } catch {
    san = undefined;
  } finally {
    void new X509Certificate(der);
  }
  return [...(san ?? '').matchAll(/(?:^|, )URI:([^,]*)/g)].map((m) => m[1]!);
}

/**
 * The trust domain a federated bundle file is for: that of the `spiffe://<td>` URI SAN of its first
 * CA (SPIRE writes one per trust domain), read with the library's SPIFFE ID rules.
 */
function trustDomainOf(file: string): string {
  const pem = readFileSync(file, 'utf8');
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (first === undefined) throw new Error(`${file} holds no certificate`);
  const der = new X509Certificate(first).raw;
  const uri = uriNames(der).find((u) => u.toLowerCase().startsWith('spiffe://'));
  if (uri === undefined) {
    throw new Error(
      `cannot tell which trust domain ${file} is for (its first CA has no spiffe://<trust domain> URI SAN that can be read); give the files with --cert, --key and --bundle instead`,
    );
  }
  try {
    return SpiffeId.fromString(uri).trustDomain.name;
  } catch (err) {
    throw new Error(
      `cannot tell which trust domain ${file} is for: the URI SAN of its first CA is not a SPIFFE ID (${(err as Error).message}); give the files with --cert, --key and --bundle instead`,
    );
  }
}

/**
 * Finds the SVID files in `dir`: `svid.0.pem`, `svid.0.key`, `bundle.0.pem` and
 * `federated_bundle.0.N.pem` (SPIRE's `-write` layout), or `svid.pem`, `svid_key.pem`,
 * `svid_bundle.pem` (spiffe-helper's names).
 *
 * @throws Error naming the files looked for when neither set is there.
 * @example
 * ```ts
 * const files = findSvidFiles('/tmp/server-svids');
 * ```
 */
export function findSvidFiles(dir: string): SvidFiles {
  const at = (name: string): string => join(dir, name);
  if (existsSync(at('svid.0.pem'))) {
    const federatedBundleFiles: Record<string, string> = {};
    for (const name of readdirSync(dir)
      .filter((n) => /^federated_bundle\.0\.\d+\.pem$/.test(n))
      .sort()) {
      federatedBundleFiles[trustDomainOf(at(name))] = at(name);
    }
    return { certFile: at('svid.0.pem'), keyFile: at('svid.0.key'), bundleFile: at('bundle.0.pem'), federatedBundleFiles };
  }
  if (existsSync(at('svid.pem'))) {
    return { certFile: at('svid.pem'), keyFile: at('svid_key.pem'), bundleFile: at('svid_bundle.pem'), federatedBundleFiles: {} };
  }
  throw new Error(
    `no SVID files in ${dir}: expected svid.0.pem, svid.0.key and bundle.0.pem (spiffe api fetch x509 -write ${dir}) or svid.pem, svid_key.pem and svid_bundle.pem (spiffe helper)`,
  );
}
