/**
 * The files `spire-agent api fetch x509 -write DIR` writes, per SVID number N: `svid.N.pem` (the
 * chain, leaf first), `svid.N.key` (PKCS#8, mode 0600), `bundle.N.pem` (the bundle of the SVID's
 * trust domain) and `federated_bundle.N.M.pem` for each federated trust domain, in name order.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { X509Bundle, X509Svid } from '@spiffe-node/spiffe';
import type { X509Context } from '@spiffe-node/spiffe/workloadapi';
import { writeFileAtomic } from './atomic.js';

/** Mode of certificate and bundle files (SPIRE's "publicly readable"). */
const CERT_FILE_MODE = 0o644;
/** Mode of private key files. */
const KEY_FILE_MODE = 0o600;

/**
 * PEM of certificates, one block each, in order.
 *
 * @example
 * ```ts
 * const pem = certificatesPem(svid.certificates);
 * ```
 */
export function certificatesPem(certs: readonly { toString(): string }[]): string {
  // node:crypto's X509Certificate#toString() is the PEM of the certificate.
  return certs.map((c) => c.toString()).join('');
}

/**
 * The bundle of the SVID's own trust domain and the others (federated, sorted by name).
 *
 * @example
 * ```ts
 * const { own, federated } = splitBundles(ctx, svid);
 * ```
 */
export function splitBundles(ctx: X509Context, svid: X509Svid): { own: X509Bundle | undefined; federated: X509Bundle[] } {
  const td = svid.id.trustDomain;
  const all = ctx.bundles.bundles();
  return {
    own: all.find((b) => b.trustDomain.equals(td)),
    federated: all
      .filter((b) => !b.trustDomain.equals(td))
      .sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : a.trustDomain.name > b.trustDomain.name ? 1 : 0)),
  };
}

/**
 * Writes every SVID of `ctx` to `dir` in SPIRE's layout, each file atomically, creating `dir`
 * (mode 0700) if needed. `report` receives SPIRE's progress lines (`Writing SVID #0 to file
 * DIR/svid.0.pem.`). Returns the paths written.
 *
 * @example
 * ```ts
 * await writeSvidFiles('/run/svids', await client.fetchX509Context(), (line) => io.stdout(line));
 * ```
 */
export async function writeSvidFiles(dir: string, ctx: X509Context, report: (line: string) => void = () => {}): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [i, svid] of ctx.svids.entries()) {
    const svidPath = join(dir, `svid.${i}.pem`);
    const keyPath = join(dir, `svid.${i}.key`);
    const bundlePath = join(dir, `bundle.${i}.pem`);
    const { own, federated } = splitBundles(ctx, svid);
    const { certificates, privateKey } = svid.marshal();

    report(`Writing SVID #${i} to file ${svidPath}.\n`);
    await writeFileAtomic(svidPath, certificates, CERT_FILE_MODE);
    report(`Writing key #${i} to file ${keyPath}.\n`);
    await writeFileAtomic(keyPath, privateKey, KEY_FILE_MODE);
    report(`Writing bundle #${i} to file ${bundlePath}.\n`);
    await writeFileAtomic(bundlePath, own === undefined ? '' : own.marshal(), CERT_FILE_MODE);
    written.push(svidPath, keyPath, bundlePath);
    for (const [j, bundle] of federated.entries()) {
      const path = join(dir, `federated_bundle.${i}.${j}.pem`);
      report(`Writing federated bundle #${j} for trust domain ${bundle.trustDomain.idString()} to file ${path}.\n`);
      await writeFileAtomic(path, bundle.marshal(), CERT_FILE_MODE);
      written.push(path);
    }
  }
  return written;
}
