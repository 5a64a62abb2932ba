/**
 * A foreign trust domain's bundle in the shapes `spire-server bundle list` prints: PEM, a SPIFFE
 * bundle document (SPIRE's member order, four-space indent, `spiffe_sequence` and
 * `spiffe_refresh_hint` only when not zero), and the JSON of `-output json`.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import type { SpiffeBundle } from '@spiffe-node/spiffe/bundle';

const JWK_MEMBERS = ['crv', 'x', 'y', 'n', 'e'];

function jwkMembers(key: KeyObject): Record<string, unknown> {
  const jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
  const out: Record<string, unknown> = { kty: jwk.kty };
  for (const name of JWK_MEMBERS) if (jwk[name] !== undefined) out[name] = jwk[name];
  return out;
}

/**
 * The X.509 authorities as PEM, one certificate after the other.
 *
 * @example
 * ```ts
 * process.stdout.write(bundlePem(bundle));
 * ```
 */
export function bundlePem(bundle: SpiffeBundle): string {
  return bundle
    .x509Authorities()
    .map((c) => c.toString())
    .join('');
}

/**
 * The bundle as SPIRE prints a SPIFFE bundle document (`-format spiffe`).
 *
 * @example
 * ```ts
 * process.stdout.write(`${bundleDocument(bundle)}\n`);
 * ```
 */
export function bundleDocument(bundle: SpiffeBundle): string {
  const keys: Record<string, unknown>[] = [];
  for (const cert of bundle.x509Authorities()) {
    keys.push({ use: 'x509-svid', ...jwkMembers(cert.publicKey), x5c: [cert.raw.toString('base64')] });
  }
  for (const [kid, key] of bundle.jwtAuthorities()) {
    const { kty, ...rest } = jwkMembers(key);
    keys.push({ use: 'jwt-svid', kty, kid, ...rest });
  }
  const doc: Record<string, unknown> = { keys };
  if (bundle.sequenceNumber) doc.spiffe_sequence = bundle.sequenceNumber;
  if (bundle.refreshHint) doc.spiffe_refresh_hint = bundle.refreshHint;
  return JSON.stringify(doc, null, 4);
}

/**
 * The bundle in the JSON shape of SPIRE's `-output json` (members in SPIRE's order).
 *
 * @example
 * ```ts
 * JSON.stringify({ bundles: [bundleJson(bundle)] });
 * ```
 */
export function bundleJson(bundle: SpiffeBundle): Record<string, unknown> {
  return {
    jwt_authorities: [...bundle.jwtAuthorities()].map(([kid, key]) => ({
      expires_at: '0',
      key_id: kid,
      public_key: key.export({ format: 'der', type: 'spki' }).toString('base64'),
      tainted: false,
    })),
    refresh_hint: String(bundle.refreshHint ?? 0),
    sequence_number: String(bundle.sequenceNumber ?? 0),
    trust_domain: bundle.trustDomain.name,
    x509_authorities: bundle.x509Authorities().map((c) => ({ asn1: c.raw.toString('base64'), tainted: false })),
  };
}
