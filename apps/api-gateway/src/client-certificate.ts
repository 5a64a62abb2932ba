/**
 * Where a request's client certificate comes from: the gateway's own TLS handshake, or, when TLS
 * ends in front of the gateway, a header set by a front proxy that the gateway authenticated by
 * mTLS as one of `trustedProxies`. From anyone else such a header is ignored (and never
 * forwarded).
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parseAndVerifyX509Svid, type SpiffeId, type X509BundleSource } from '@spiffe-node/spiffe';
import { peerChainFromSocket } from '@spiffe-node/spiffe/tls';
import type { PresentedCertificate } from './authenticate.js';
import { certificateHash, decodeCertificateHeader, pemCertificates } from './certificates.js';
import { CLIENT_IDENTITY_HEADERS, XFCC_HEADER, type GatewayConfig } from './gateway-config.js';
import { parseXfcc } from './xfcc.js';

/**
 * The client certificate of a request, and the identity headers that were not believed.
 *
 * @example
 * ```ts
 * const found = findClientCertificate(req, config, x509Source);
 * for (const header of found.ignored) console.log(`Ignored ${header} from ${found.peer}: ${found.ignoredWhy}`);
 * ```
 */
export interface FoundClientCertificate {
  certificate: PresentedCertificate | undefined;
  /** Identity headers present in the request that were not used (lower-case names). */
  ignored: string[];
  /** Why they were not used. */
  ignoredWhy: string;
  /** The TLS peer: `address:port`, with its SPIFFE ID when it was verified. */
  peer: string;
}

/**
 * Reads the client certificate from an XFCC value: the element of the nearest proxy (the last
 * one), its `Chain` or else its `Cert`; a `Hash` there must match the certificate.
 *
 * @param value - The `x-forwarded-client-cert` value.
 * @throws `Error` saying what is missing or inconsistent.
 * @example
 * ```ts
 * const chain = chainFromXfcc(req.headers['x-forwarded-client-cert']);
 * ```
 */
export function chainFromXfcc(value: string): Uint8Array[] {
  const nearest = parseXfcc(value).at(-1);
  const pem = nearest?.chain ?? nearest?.cert;
  if (nearest === undefined || pem === undefined) {
    throw new Error(
      "x-forwarded-client-cert carries no Cert or Chain (configure the proxy to forward the certificate, e.g. Envoy's set_current_client_cert_details { cert: true })",
    );
  }
  const chain = pemCertificates(pem);
  const leaf = chain[0];
  if (leaf === undefined) throw new Error('x-forwarded-client-cert: Cert holds no PEM certificate');
  if (nearest.chain !== undefined && nearest.cert !== undefined) {
    const cert = pemCertificates(nearest.cert)[0];
    if (cert === undefined || certificateHash(cert) !== certificateHash(leaf)) {
      throw new Error('x-forwarded-client-cert: Cert is not the first certificate of Chain');
    }
  }
  if (nearest.hash !== undefined && nearest.hash !== certificateHash(leaf)) {
    throw new Error('x-forwarded-client-cert: Hash does not match the certificate');
  }
  return chain;
}

function decodeHeader(name: string, value: string): PresentedCertificate {
  try {
    const chain = name === XFCC_HEADER ? chainFromXfcc(value) : decodeCertificateHeader(value);
    return { via: 'header', chain };
  } catch (err) {
    return { via: 'header', error: `${name}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function occurrences(req: IncomingMessage, name: string): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) n++;
  return n;
}

function address(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket;
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort ?? ''}` : `${remoteAddress}:${remotePort ?? ''}`;
}

/**
 * Finds the client certificate of a request (see the module description). Never throws: a
 * header from a trusted proxy that cannot be decoded is returned as a presented certificate
 * with an `error`, which authentication refuses.
 *
 * @param req - The request (its socket is the gateway's TLS socket).
 * @param config - The configuration in force.
 * @param bundles - Trust bundles for the peer's X509-SVID.
 * @example
 * ```ts
 * const { certificate } = findClientCertificate(req, config, x509Source);
 * ```
 */
export function findClientCertificate(req: IncomingMessage, config: GatewayConfig, bundles: X509BundleSource): FoundClientCertificate {
  const tlsChain = peerChainFromSocket(req.socket as TLSSocket);
  const headerName = config.clientCertificateHeader;
  const present = [...new Set([headerName, ...CLIENT_IDENTITY_HEADERS])].filter((h) => req.headers[h] !== undefined);

  let peerId: SpiffeId | undefined;
  if (tlsChain !== undefined && config.trustedProxies.length > 0) {
    try {
      peerId = parseAndVerifyX509Svid(tlsChain, bundles).id;
    } catch {
      peerId = undefined;
    }
  }
  const trusted = peerId !== undefined && config.trustedProxies.some((p) => p.equals(peerId));
  const peer = peerId === undefined ? address(req) : `${address(req)} (${peerId.toString()})`;

  if (!trusted) {
    return {
      certificate: tlsChain === undefined ? undefined : { via: 'tls', chain: tlsChain },
      ignored: present,
      ignoredWhy: 'the peer is not a trusted proxy',
      peer,
    };
  }
  // A trusted proxy: its own SVID is not the client's; the client's is in the configured header.
  const ignored = present.filter((h) => h !== headerName);
  const count = occurrences(req, headerName);
  let certificate: PresentedCertificate | undefined;
  if (count > 1) {
    certificate = { via: 'header', error: `${headerName}: the header was sent more than once` };
  } else if (count === 1) {
    const value = req.headers[headerName];
    certificate = decodeHeader(headerName, Array.isArray(value) ? value.join(',') : (value ?? ''));
  }
  return { certificate, ignored, ignoredWhy: `only ${headerName} is read from trusted proxies`, peer };
}
