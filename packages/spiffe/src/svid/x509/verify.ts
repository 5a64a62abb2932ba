import type { X509Certificate } from 'node:crypto';
import { BundleError, X509SvidError, type X509SvidErrorCode } from '../../errors.js';
import type { SpiffeId } from '../../spiffeid/index.js';
import type { X509BundleSource } from '../../bundle/source.js';
import { certInfo, describe, isIssuedBy, type CertInfo } from './cert-info.js';
import { nameConstraintsProblem } from './name-constraints.js';
import {
  checkCriticalExtensions,
  checkLeaf,
  checkSignatureAlgorithm,
  checkSigning,
  checkValidity,
  infoFromDer,
  leafSpiffeId,
  signingProblem,
  validityProblem,
} from './rules.js';

/**
 * Options of {@link parseAndVerifyX509Svid}.
 *
 * @example
 * ```ts
 * parseAndVerifyX509Svid(chain, bundles, { time: new Date('2030-01-01T00:00:00Z') });
 * ```
 */
export interface VerifyX509SvidOptions {
  /** The time at which every certificate must be valid (default: now). */
  time?: Date;
}

/**
 * The result of {@link parseAndVerifyX509Svid}.
 *
 * @example
 * ```ts
 * const { id, verifiedChains }: VerifiedX509Svid = parseAndVerifyX509Svid(chain, bundles);
 * ```
 */
export interface VerifiedX509Svid {
  /** The SPIFFE ID of the leaf. */
  id: SpiffeId;
  /** Each chain found, leaf first and a bundle authority last. */
  verifiedChains: X509Certificate[][];
}

/** The longest chain searched (leaf, intermediates and the authority). */
const MAX_CHAIN_LENGTH = 10;
/** At most this many chains are returned. */
const MAX_CHAINS = 8;
/**
 * At most this many issuer candidates (whose name matches) are tried while building chains. Certificates that share
 * a name and key can otherwise make the search explode; real chains need a handful.
 */
const MAX_CANDIDATE_CHECKS = 100;

function anchorInfo(cert: X509Certificate, index: number, td: string): CertInfo {
  try {
    return certInfo(cert);
  } catch (err) {
    throw new X509SvidError(
      'ERR_X509SVID_UNTRUSTED',
      `x509svid: could not verify leaf certificate: bundle authority ${index + 1} of "${td}" cannot be read: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Thrown (and caught) to abandon the search when the budget of issuer checks runs out. */
const budgetExceeded = Symbol('budget exceeded');

interface Failure {
  code: X509SvidErrorCode;
  text: string;
  rule?: string;
}

/**
 * Why a complete chain (leaf first, bundle authority last) breaks the name constraints of one
 * of its CAs, or undefined. As Go's verifier does: the constraints of each CA apply to the
 * names of every certificate below it.
 */
function chainNameConstraintsProblem(chain: readonly CertInfo[]): string | undefined {
  for (let i = 1; i < chain.length; i++) {
    const ca = chain[i] as CertInfo;
    if (ca.nameConstraints === undefined) continue;
    for (let j = 0; j < i; j++) {
      const below = chain[j] as CertInfo;
      const problem = nameConstraintsProblem(ca.nameConstraints, below);
      if (problem !== undefined) {
        const who = i === chain.length - 1 ? 'bundle authority' : 'signing certificate';
        const whom = j === 0 ? 'leaf certificate' : `signing certificate ${describe(below)}`;
        return `the name constraints of ${who} ${describe(ca)} refuse the ${whom}: ${problem}`;
      }
    }
  }
  return undefined;
}

/**
 * Parses and verifies a peer's X509-SVID: the certificates it presented (DER, leaf first,
 * intermediates in any order) against the X.509 bundle of the leaf's own trust domain taken
 * from `bundleSource`.
 *
 * Checks: the leaf has exactly one URI SAN, a SPIFFE ID with a path; the leaf is not a CA, has
 * `digitalSignature` and neither `keyCertSign` nor `cRLSign`; every other presented
 * certificate is a CA with `keyCertSign`; no presented certificate has a critical extension
 * this library does not process; a subjectAltName extension decodes as valid GeneralNames
 * (otherwise the certificate is refused, as OpenSSL refuses the extension); no certificate of
 * the chain, the bundle authority included, is signed with SHA-1, MD5 or an algorithm Go's
 * verifier does not accept; every certificate of the chain is valid at `options.time`; a
 * chain of signatures, verified natively, leads from the leaf to an authority of the bundle of
 * the leaf's trust domain (any certificate in that bundle is a trust anchor; it too must be a
 * CA with `keyCertSign`, and path length constraints are honoured); the name constraints of
 * every CA of that chain (intermediates and the bundle authority, critical or not, as Go
 * enforces them) permit the names of each certificate below it: URI constraints the host of
 * each URI SAN (for the SPIFFE ID, its trust domain), DNS, email and IP constraints the SANs
 * of those kinds. A constraint of a form that cannot be checked (such as directoryName) fails
 * closed. Bundles of other trust domains are never consulted. Parsing and signature checks are
 * cached per certificate, so repeated handshakes with the same peer cost little.
 *
 * @throws {@link X509SvidError} whose message names the rule that broke, with code
 *   `ERR_X509SVID_INVALID` (a rule of the specification, a weak signature on a presented
 *   certificate), `ERR_X509SVID_UNTRUSTED` (no chain to the bundle, no bundle for the trust
 *   domain, a chain refused by name constraints or by a weak signature on the bundle
 *   authority), `ERR_X509SVID_EXPIRED` or `ERR_X509SVID_NOT_YET_VALID`; its `rule` is
 *   `name-constraints` or `signature-algorithm` for those two checks.
 * @throws `TypeError` for arguments of the wrong type.
 * @example
 * ```ts
 * import { parseAndVerifyX509Svid, authorizeId, SpiffeId } from '@spiffe-node/spiffe';
 * const peer = socket.getPeerX509Certificate(); // or the raw DER chain from the handshake
 * const { id, verifiedChains } = parseAndVerifyX509Svid([peer.raw], bundleSet);
 * authorizeId(SpiffeId.fromString('spiffe://example.org/server'))(id, verifiedChains);
 * ```
 */
export function parseAndVerifyX509Svid(
  rawCerts: readonly Uint8Array[],
  bundleSource: X509BundleSource,
  options: VerifyX509SvidOptions = {},
): VerifiedX509Svid {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- as `unknown`, so that Array.isArray does not narrow the declared array type to any[]
  if (!Array.isArray(rawCerts as unknown)) {
    throw new TypeError('parseAndVerifyX509Svid: expected the certificates as an array of DER Uint8Arrays');
  }
  if (bundleSource === null || typeof bundleSource !== 'object' || typeof bundleSource.getX509BundleForTrustDomain !== 'function') {
    throw new TypeError('parseAndVerifyX509Svid: expected an X509BundleSource (an object with getX509BundleForTrustDomain)');
  }
  const time = options.time ?? new Date();
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new TypeError('parseAndVerifyX509Svid: options.time must be a valid Date');
  }
  if (rawCerts.length === 0) {
    throw new X509SvidError(
      'ERR_X509SVID_INVALID',
      'x509svid: no certificates were presented; an X509-SVID needs at least its leaf certificate',
    );
  }
  const t = time.getTime();
  const infos = rawCerts.map((der, i) => infoFromDer(der, i));
  const leaf = infos[0] as CertInfo;

  const id = leafSpiffeId(leaf);
  checkLeaf(leaf);
  for (let i = 1; i < infos.length; i++) checkSigning(infos[i] as CertInfo, i);
  for (let i = 0; i < infos.length; i++) checkCriticalExtensions(infos[i] as CertInfo, i);
  for (let i = 0; i < infos.length; i++) checkSignatureAlgorithm(infos[i] as CertInfo, i);
  for (let i = 0; i < infos.length; i++) checkValidity(infos[i] as CertInfo, i, t);

  const td = id.trustDomain;
  let anchors: CertInfo[];
  try {
    const bundle = bundleSource.getX509BundleForTrustDomain(td);
    if (!bundle.trustDomain.equals(td)) {
      throw new X509SvidError(
        'ERR_X509SVID_UNTRUSTED',
        `x509svid: could not verify leaf certificate: the bundle source returned the bundle of "${bundle.trustDomain.name}" for "${td.name}"`,
      );
    }
    anchors = bundle.authorities().map((cert, i) => anchorInfo(cert, i, td.name));
  } catch (err) {
    if (err instanceof BundleError) {
      throw new X509SvidError(
        'ERR_X509SVID_UNTRUSTED',
        `x509svid: could not verify leaf certificate: no X.509 bundle for trust domain "${td.name}" (${err.message})`,
        { cause: err },
      );
    }
    throw err;
  }

  // Presented certificates other than the leaf, once each, excluding those that are anchors
  // (the anchor path covers them).
  const anchorKeys = new Set(anchors.map((a) => a.key));
  const pool: CertInfo[] = [];
  const poolKeys = new Set<string>([leaf.key]);
  for (let i = 1; i < infos.length; i++) {
    const info = infos[i] as CertInfo;
    if (poolKeys.has(info.key) || anchorKeys.has(info.key)) continue;
    poolKeys.add(info.key);
    pool.push(info);
  }

  const chains: CertInfo[][] = [];
  let failure: Failure | undefined;
  const chain: CertInfo[] = [leaf];
  const used = new Set<CertInfo>();
  let checks = 0;
  const issued = (child: CertInfo, parent: CertInfo): boolean => {
    // Only candidates whose name matches count against the budget.
    if (child.cert.issuer !== parent.cert.subject) return false;
    if (++checks > MAX_CANDIDATE_CHECKS) {
      failure = {
        code: 'ERR_X509SVID_UNTRUSTED',
        text: `building the chain took more than ${MAX_CANDIDATE_CHECKS} issuer checks; present only the leaf and its intermediates`,
      };
      // A private sentinel, caught below to stop the search; it never leaves this function.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw budgetExceeded;
    }
    return isIssuedBy(child, parent);
  };

  const pathLenProblem = (ca: CertInfo): string | undefined => {
    const below = chain.length - 1;
    return ca.pathLen !== undefined && below > ca.pathLen
      ? `allows ${ca.pathLen} intermediate certificate(s) below it (pathLenConstraint) but the chain has ${below}`
      : undefined;
  };

  const extend = (): void => {
    const current = chain[chain.length - 1] as CertInfo;
    for (const anchor of anchors) {
      if (!issued(current, anchor)) continue;
      const signing = signingProblem(anchor);
      const validity = validityProblem(anchor, t);
      const pathLen = pathLenProblem(anchor);
      const algorithm = anchor.signatureAlgorithm.problem;
      if (signing !== undefined || validity !== undefined || pathLen !== undefined || algorithm !== undefined) {
        failure ??= {
          code: validity?.code ?? 'ERR_X509SVID_UNTRUSTED',
          text: `bundle authority ${describe(anchor)} of "${td.name}" ${signing ?? validity?.text ?? pathLen ?? algorithm}`,
          ...(signing === undefined && validity === undefined && pathLen === undefined ? { rule: 'signature-algorithm' } : {}),
        };
        continue;
      }
      const complete = [...chain, anchor];
      const constraints = chainNameConstraintsProblem(complete);
      if (constraints !== undefined) {
        failure ??= { code: 'ERR_X509SVID_UNTRUSTED', text: constraints, rule: 'name-constraints' };
        continue;
      }
      chains.push(complete);
      if (chains.length >= MAX_CHAINS) return;
    }
    if (chain.length + 1 >= MAX_CHAIN_LENGTH) return;
    for (const candidate of pool) {
      if (used.has(candidate) || !issued(current, candidate)) continue;
      const pathLen = pathLenProblem(candidate);
      if (pathLen !== undefined) {
        failure ??= { code: 'ERR_X509SVID_UNTRUSTED', text: `signing certificate ${describe(candidate)} ${pathLen}` };
        continue;
      }
      used.add(candidate);
      chain.push(candidate);
      extend();
      chain.pop();
      used.delete(candidate);
      if (chains.length >= MAX_CHAINS) return;
    }
  };
  try {
    extend();
  } catch (err) {
    if (err !== budgetExceeded) throw err;
  }

  if (chains.length === 0) {
    const text = failure?.text ?? `no trusted authority in the bundle of "${td.name}"`;
    const rule =
      failure?.rule ??
      (failure?.code === 'ERR_X509SVID_EXPIRED' ? 'expired' : failure?.code === 'ERR_X509SVID_NOT_YET_VALID' ? 'not-yet-valid' : undefined);
    throw new X509SvidError(failure?.code ?? 'ERR_X509SVID_UNTRUSTED', `x509svid: could not verify leaf certificate: ${text}`, { rule });
  }
  return { id, verifiedChains: chains.map((c) => c.map((info) => info.cert)) };
}
