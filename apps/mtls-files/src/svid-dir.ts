/**
 * Finding the SVID files in a directory: the ones `spiffe api fetch x509 -write` (and
 * `spire-agent api fetch x509 -write`) write, or the ones spiffe-helper's examples name.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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

/** The trust domain a federated bundle file is for: the `spiffe://<td>` URI SAN of its CA. */
function trustDomainOf(file: string): string {
  const pem = readFileSync(file, 'utf8');
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (first === undefined) throw new Error(`${file} holds no certificate`);
  const uri = /URI:spiffe:\/\/([^/,\s]+)/.exec(new X509Certificate(first).subjectAltName ?? '')?.[1];
  if (uri === undefined) {
    throw new Error(`cannot tell which trust domain ${file} is for (its CA has no spiffe://<trust domain> URI SAN); give the files with --cert, --key and --bundle instead`);
  }
  return uri;
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
    for (const name of readdirSync(dir).filter((n) => /^federated_bundle\.0\.\d+\.pem$/.test(n)).sort()) {
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
