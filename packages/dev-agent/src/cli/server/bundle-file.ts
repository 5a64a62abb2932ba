/**
 * Reading a bundle file as `spire-server bundle set` and `federation create
 * -trustDomainBundlePath` do: PEM certificates, or a SPIFFE bundle document.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SpiffeBundle, X509Bundle } from '@spiffe-node/spiffe/bundle';
import { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { FlagError } from '../flags.js';

/**
 * Parses bundle data for `trustDomain` into a SPIFFE bundle document (parsed JSON) for the admin API.
 *
 * @throws {@link FlagError} with SPIRE's message when the data is not a bundle.
 * @example
 * ```ts
 * const doc = parseBundleData(readFileSync('partner.pem', 'utf8'), 'pem', 'partner.org');
 * ```
 */
export function parseBundleData(data: string, format: 'pem' | 'spiffe', trustDomain: string): unknown {
  let td: TrustDomain;
  try {
    td = TrustDomain.fromString(trustDomain);
  } catch (err) {
    throw new FlagError(`"${trustDomain}" is not a trust domain: ${(err as Error).message}`);
  }
  if (format === 'pem') {
    if (!data.includes('-----BEGIN')) throw new FlagError('unable to parse bundle data: no PEM blocks');
    let x509: X509Bundle;
    try {
      x509 = X509Bundle.parse(td, data);
    } catch (err) {
      throw new FlagError(`unable to parse bundle data: ${(err as Error).message}`);
    }
    return JSON.parse(SpiffeBundle.fromX509Bundle(x509).marshal()) as unknown;
  }
  try {
    return JSON.parse(SpiffeBundle.parse(td, data).marshal()) as unknown;
  } catch (err) {
    throw new FlagError(`unable to parse to spiffe bundle: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  }
}

/**
 * Reads a bundle file.
 *
 * @param what - SPIRE's words before the error, e.g. `unable to load bundle data`.
 * @throws {@link FlagError} when the file cannot be read.
 * @example
 * ```ts
 * const text = readBundleFile('partner.pem', 'unable to load bundle data');
 * ```
 */
export function readBundleFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FlagError(`${what}: open ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  }
}
