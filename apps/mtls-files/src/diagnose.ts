/**
 * Why a client certificate is, or is not, a valid mTLS peer: Node's own verdict (the codes of
 * `socket.authorizationError`), `NO_CLIENT_CERTIFICATE`, and the SPIFFE causes found after
 * chain validation, from the library's verification and authorizer.
 *
 * @module
 */
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import {
  BundleError,
  SpiffeError,
  X509SvidError,
  parseAndVerifyX509Svid,
  type Authorizer,
  type X509BundleSource,
} from '@spiffe-node/spiffe';

/**
 * The server's answer: valid (with the client's SPIFFE ID in SPIFFE mode), or the reason and
 * a human description.
 *
 * @example
 * ```ts
 * const v: Verdict = { mTLSValid: false, reason: 'UNEXPECTED_ID', detail: 'unexpected ID "spiffe://example.org/other"' };
 * ```
 */
export type Verdict = { mTLSValid: true; spiffeId?: string } | { mTLSValid: false; reason: string; detail: string };

/**
 * The SPIFFE reasons this server reports after chain validation.
 *
 * - `NOT_AN_SVID`: the leaf does not carry exactly one SPIFFE ID with a path as its URI SAN.
 * - `NOT_A_LEAF`: the leaf is a CA certificate (or may sign certificates or CRLs).
 * - `INVALID_SVID`: another rule of the X509-SVID specification is broken (no
 *   digitalSignature key usage, an intermediate that is not a CA, an unknown critical extension).
 * - `WRONG_TRUST_DOMAIN`: the client's trust domain is not one this server has a bundle for,
 *   its chain leads only to another trust domain's authority, or `--authorize-td` names another one.
 * - `UNEXPECTED_ID`: the authorizer (`--authorize-id`) refused the client's SPIFFE ID.
 * - `NAME_CONSTRAINT_VIOLATION`: a CA of the chain (critical or not) has name constraints that
 *   do not permit a name below it (for the leaf, its SPIFFE ID's trust domain).
 * - `WEAK_SIGNATURE`: a certificate of the chain is signed with SHA-1, MD5 or another algorithm
 *   the verifier refuses (as Go's does).
 * - `UNTRUSTED_CHAIN`: no chain to the bundle for another reason.
 * - `CERT_HAS_EXPIRED` / `CERT_NOT_YET_VALID`: as Node names them.
 */
export const SPIFFE_REASONS = [
  'NOT_AN_SVID',
  'NOT_A_LEAF',
  'INVALID_SVID',
  'WRONG_TRUST_DOMAIN',
  'UNEXPECTED_ID',
  'NAME_CONSTRAINT_VIOLATION',
  'WEAK_SIGNATURE',
  'UNTRUSTED_CHAIN',
] as const;

/**
 * Which authorizer the server runs, so that a refusal gets the right reason.
 *
 * @example
 * ```ts
 * const kind: AuthorizerKind = 'trust-domain';
 * ```
 */
export type AuthorizerKind = 'id' | 'trust-domain';

/**
 * Serialises a verdict as the tutorial's server does: `{"mTLSValid": false, "reason": "..."}`
 * (a space after each colon and comma).
 *
 * @example
 * ```ts
 * formatVerdict({ mTLSValid: true, spiffeId: 'spiffe://example.org/client' });
 * // '{"mTLSValid": true, "spiffeId": "spiffe://example.org/client"}'
 * ```
 */
export function formatVerdict(verdict: Verdict): string {
  return `{${Object.entries(verdict)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** OpenSSL's descriptions of the verification errors Node reports by code. */
const NODE_MESSAGES: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "format error in certificate's notBefore field",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "format error in certificate's notAfter field",
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

/**
 * Node's code for an OpenSSL verification error it has no name for (a refused name constraint,
 * a signature digest too weak, ...): it says that Node refused the chain, not why.
 */
const NODE_UNNAMED = 'UNSPECIFIED';

function nodeCode(socket: TLSSocket): { code: string; message: string } | undefined {
  if (socket.authorized) return undefined;
  // A TLS server's socket holds the code itself (a string); a client's holds an Error.
  const err = socket.authorizationError as unknown as (Error & { code?: string }) | string | null | undefined;
  if (err === null || err === undefined) return undefined;
  const code = typeof err === 'string' ? err : (err.code ?? err.message);
  const message = NODE_MESSAGES[code] ?? (typeof err === 'string' ? `Node's certificate verification failed with ${code}` : err.message);
  return { code, message };
}

function hasPeerCertificate(cert: PeerCertificate | null | undefined): cert is DetailedPeerCertificate {
  return cert !== null && cert !== undefined && cert.raw !== undefined && cert.raw.length > 0;
}

/** The certificates the client presented, leaf first, from Node's issuer links. */
function presentedChain(leaf: DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<object>();
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current !== undefined && current.raw !== undefined && !seen.has(current) && chain.length < 16) {
    seen.add(current);
    chain.push(new Uint8Array(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (next === undefined || next === current) break;
    current = next;
  }
  return chain;
}

/** Rules of the leaf's identity: a certificate that breaks one is no SVID at all. */
const NOT_AN_SVID_RULES = new Set(['leaf-uri-san-missing', 'leaf-uri-san-multiple', 'leaf-uri-san-invalid', 'leaf-id-no-path']);
/** Rules that a CA certificate presented as the leaf breaks. */
const NOT_A_LEAF_RULES = new Set(['leaf-ca', 'leaf-key-cert-sign', 'leaf-crl-sign']);

/**
 * The SPIFFE reason for an error of `parseAndVerifyX509Svid` or an authorizer.
 *
 * `ERR_X509SVID_INVALID` covers several rules; they are told apart by the rule the message
 * names (the library's messages name the broken rule).
 *
 * @param chainAcceptedByNode - Node found a chain to one of the server's authorities (of any
 *   trust domain): an untrusted SVID is then a trust domain mismatch.
 * @example
 * ```ts
 * spiffeReason(err, 'id', true); // 'UNEXPECTED_ID'
 * ```
 */
export function spiffeReason(err: unknown, authorizer: AuthorizerKind, chainAcceptedByNode: boolean): string {
  if (!(err instanceof SpiffeError)) return 'UNTRUSTED_CHAIN';
  // The verifier names these two checks whichever code they carry (a weak signature on a
  // presented certificate is INVALID, on the bundle's authority UNTRUSTED).
  const rule = err instanceof X509SvidError ? err.rule : undefined;
  if (rule === 'name-constraints') return 'NAME_CONSTRAINT_VIOLATION';
  if (rule === 'signature-algorithm') return 'WEAK_SIGNATURE';
  switch (err.code) {
    case 'ERR_UNAUTHORIZED_ID':
      return authorizer === 'trust-domain' ? 'WRONG_TRUST_DOMAIN' : 'UNEXPECTED_ID';
    case 'ERR_X509SVID_EXPIRED':
      return 'CERT_HAS_EXPIRED';
    case 'ERR_X509SVID_NOT_YET_VALID':
      return 'CERT_NOT_YET_VALID';
    case 'ERR_X509SVID_UNTRUSTED':
      return err.cause instanceof BundleError || chainAcceptedByNode ? 'WRONG_TRUST_DOMAIN' : 'UNTRUSTED_CHAIN';
    case 'ERR_X509SVID_INVALID': {
      // The core names the X509-SVID rule that the certificate broke.
      if (rule !== undefined && NOT_AN_SVID_RULES.has(rule)) return 'NOT_AN_SVID';
      if (rule !== undefined && NOT_A_LEAF_RULES.has(rule)) return 'NOT_A_LEAF';
      return 'INVALID_SVID';
    }
    default:
      return 'UNTRUSTED_CHAIN';
  }
}

/**
 * The verdict of the tutorial's server (plain mode, `--root-ca`): Node's chain validation against
 * the server's CAs, nothing more.
 *
 * @example
 * ```ts
 * res.end(formatVerdict(rootCaVerdict(req.socket as TLSSocket)));
 * ```
 */
export function rootCaVerdict(socket: TLSSocket): Verdict {
  const cert = socket.getPeerCertificate(true);
  const node = nodeCode(socket);
  if (!hasPeerCertificate(cert)) {
    return {
      mTLSValid: false,
      reason: 'NO_CLIENT_CERTIFICATE',
      detail: `the client sent no certificate${node ? ` (Node reports ${node.code})` : ''}`,
    };
  }
  if (node !== undefined) return { mTLSValid: false, reason: node.code, detail: node.message };
  return { mTLSValid: true };
}

/**
 * The verdict of SPIFFE mTLS: the client's X509-SVID must verify against the bundle of its own
 * trust domain and pass the authorizer. When it does not, the reason is Node's code if Node's
 * own chain validation (against every authority the server has) failed too with a code Node
 * names (the tutorial's reasons), and otherwise the SPIFFE cause with the library's message: also
 * when Node's code is `UNSPECIFIED`, which says only that OpenSSL refused the chain.
 *
 * @example
 * ```ts
 * const verdict = spiffeVerdict(req.socket as TLSSocket, source, authorizeMemberOf(td), 'trust-domain');
 * ```
 */
export function spiffeVerdict(socket: TLSSocket, bundles: X509BundleSource, authorizer: Authorizer, kind: AuthorizerKind): Verdict {
  const cert = socket.getPeerCertificate(true);
  const node = nodeCode(socket);
  if (!hasPeerCertificate(cert)) {
    return {
      mTLSValid: false,
      reason: 'NO_CLIENT_CERTIFICATE',
      detail: `the client sent no certificate${node ? ` (Node reports ${node.code})` : ''}`,
    };
  }
  let failure: unknown;
  try {
    const { id, verifiedChains } = parseAndVerifyX509Svid(presentedChain(cert), bundles);
    try {
      authorizer(id, verifiedChains);
      return { mTLSValid: true, spiffeId: id.toString() };
    } catch (err) {
      failure = err;
    }
  } catch (err) {
    failure = err;
  }
  if (node !== undefined && node.code !== NODE_UNNAMED) return { mTLSValid: false, reason: node.code, detail: node.message };
  return {
    mTLSValid: false,
    reason: spiffeReason(failure, kind, node === undefined),
    detail: failure instanceof Error ? failure.message : String(failure),
  };
}
