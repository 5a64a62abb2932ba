/**
 * What the helper writes, in spiffe-helper's formats: the X.509 files (chain, PKCS#8 key,
 * bundle), a JWT-SVID file (the token) and the JWT bundle file (a JSON object mapping each
 * trust domain name to its base64-encoded JWK Set).
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { JwtBundleSet, X509Svid } from '@spiffe-node/spiffe';
import type { X509Context } from '@spiffe-node/spiffe/workloadapi';
import { certificatesPem, splitBundles } from '../files/svid-files.js';
import type { CertDirFile } from './cert-dir.js';
import type { HelperConfig } from './config.js';

/**
 * The SVID the helper writes: the one with the configured `hint`, else the default (first).
 *
 * @throws Error when a hint is configured and no SVID carries it.
 * @example
 * ```ts
 * const svid = pickSvid(ctx, config.hint);
 * ```
 */
function pickSvid(ctx: X509Context, hint: string): X509Svid {
  if (hint === '') return ctx.svids[0] as X509Svid;
  const svid = ctx.svids.find((s) => s.hint === hint);
  if (svid === undefined) {
    throw new Error(
      `no SVID carries the hint "${hint}" (the agent sent: ${ctx.svids.map((s) => `${s.id}${s.hint ? ` hint "${s.hint}"` : ''}`).join(', ')})`,
    );
  }
  return svid;
}

function unexpired(certs: X509Certificate[], now: number): X509Certificate[] {
  return certs.filter((c) => new Date(c.validTo).getTime() > now);
}

/**
 * The three X.509 files of a context, as spiffe-helper writes them: the chain (or only the leaf,
 * with `add_intermediates_to_bundle`), the key, and the bundle of the SVID's trust domain (plus
 * intermediates with `add_intermediates_to_bundle`, federated bundles with
 * `include_federated_domains`, expired CAs left out with `omit_expired`).
 *
 * @example
 * ```ts
 * const files = x509Files(ctx, config); // [svid, key, bundle]
 * ```
 */
export function x509Files(ctx: X509Context, config: HelperConfig, now = Date.now()): CertDirFile[] {
  const svid = pickSvid(ctx, config.hint);
  const { own, federated } = splitBundles(ctx, svid);
  const [leaf, ...intermediates] = svid.certificates as X509Certificate[];
  let chain: X509Certificate[] = [leaf as X509Certificate, ...intermediates];
  let bundle: X509Certificate[] = own?.authorities() ?? [];
  if (config.addIntermediatesToBundle) {
    chain = [leaf as X509Certificate];
    bundle = [...bundle, ...intermediates];
  }
  if (config.includeFederatedDomains) for (const b of federated) bundle = [...bundle, ...b.authorities()];
  if (config.omitExpired) bundle = unexpired(bundle, now);
  return [
    { name: config.svidFileName, data: certificatesPem(chain), mode: config.certFileMode },
    { name: config.svidKeyFileName, data: svid.marshal().privateKey, mode: config.keyFileMode },
    { name: config.svidBundleFileName, data: certificatesPem(bundle), mode: config.certFileMode },
  ];
}

/**
 * The JWT bundle file: `{"example.org": "<base64 of the JWK Set>", ...}`.
 *
 * @example
 * ```ts
 * const file = jwtBundleFile(set, config);
 * ```
 */
export function jwtBundleFile(set: JwtBundleSet, config: HelperConfig): CertDirFile {
  const out: Record<string, string> = {};
  for (const bundle of [...set.bundles()].sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : 1))) {
    out[bundle.trustDomain.name] = Buffer.from(bundle.marshal(), 'utf8').toString('base64');
  }
  return { name: config.jwtBundleFileName, data: JSON.stringify(out), mode: config.jwtBundleFileMode };
}
