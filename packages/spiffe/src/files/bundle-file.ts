/**
 * Reading a trust bundle file: PEM CA certificates, a SPIFFE bundle (a JWK Set with
 * `x509-svid` and/or `jwt-svid` keys) or a plain JWK Set of JWT signing keys.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { BundleError } from '../errors.js';
import type { TrustDomain } from '../spiffeid/index.js';
import { X509Bundle } from '../bundle/x509-bundle.js';
import { JwtBundle } from '../bundle/jwt-bundle.js';
import { SpiffeBundle } from '../bundle/spiffe-bundle.js';

/**
 * The formats a bundle file can have. `auto` reads a file that starts with `{` as a SPIFFE
 * bundle (JSON) and anything else as PEM.
 *
 * @example
 * ```ts
 * const format: BundleFileFormat = 'spiffe';
 * ```
 */
export type BundleFileFormat = 'auto' | 'pem' | 'spiffe' | 'jwks';

/** @internal What a bundle file held. */
export interface ParsedBundleFile {
  x509: X509Bundle | undefined;
  jwt: JwtBundle | undefined;
}

const FORMATS: readonly BundleFileFormat[] = ['auto', 'pem', 'spiffe', 'jwks'];

/** @internal Throws a TypeError for an unknown format name. */
export function checkBundleFormat(format: unknown, where: string): BundleFileFormat {
  if (format === undefined) return 'auto';
  if (typeof format !== 'string' || !FORMATS.includes(format as BundleFileFormat)) {
    throw new TypeError(`${where}: format must be one of ${FORMATS.join(', ')}`);
  }
  return format as BundleFileFormat;
}

/**
 * @internal Parses the contents of a bundle file for `trustDomain`.
 *
 * @throws {@link BundleError} `ERR_BUNDLE_INVALID` when the contents are not a bundle of the
 *   format (an empty PEM file included: a bundle file that trusts nothing is refused, since a
 *   half-written file looks the same).
 */
export function parseBundleFile(trustDomain: TrustDomain, contents: Buffer, format: BundleFileFormat): ParsedBundleFile {
  const text = contents.toString('utf8');
  const kind = format === 'auto' ? (text.trimStart().startsWith('{') ? 'spiffe' : 'pem') : format;
  switch (kind) {
    case 'pem': {
      if (!text.includes('-----BEGIN')) {
        throw new BundleError('ERR_BUNDLE_INVALID', 'x509bundle: the file holds no PEM block; expected one or more CERTIFICATE blocks');
      }
      return { x509: X509Bundle.parse(trustDomain, contents), jwt: undefined };
    }
    case 'jwks':
      return { x509: undefined, jwt: JwtBundle.parse(trustDomain, contents) };
    default: {
      const bundle = SpiffeBundle.parse(trustDomain, contents);
      return { x509: bundle.x509Bundle(), jwt: bundle.jwtBundle() };
    }
  }
}
