/**
 * The signature algorithms a certificate may be signed with: those Go's crypto/x509 verifies
 * (the verifier go-spiffe uses). SHA-1 and MD5 (and older) are refused, as Go has refused SHA-1
 * since 1.18: collisions make such signatures forgeable. Anything else unknown is refused too.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { DerError, children, oidText, type Tlv } from '../../bundle/der.js';

const RSA_PSS = '2a864886f70d01010a';
const MGF1 = '2a864886f70d010108';

/** Accepted algorithms by OID (hex of the OBJECT IDENTIFIER content). */
const ACCEPTED: Record<string, string> = {
  '2a864886f70d01010b': 'sha256WithRSAEncryption',
  '2a864886f70d01010c': 'sha384WithRSAEncryption',
  '2a864886f70d01010d': 'sha512WithRSAEncryption',
  '2a8648ce3d040302': 'ecdsa-with-SHA256',
  '2a8648ce3d040303': 'ecdsa-with-SHA384',
  '2a8648ce3d040304': 'ecdsa-with-SHA512',
  '2b6570': 'Ed25519',
  [RSA_PSS]: 'RSASSA-PSS',
};

/** Refused algorithms this module names in its messages, with the weak digest. */
const WEAK: Record<string, string> = {
  '2a864886f70d010102': 'md2WithRSAEncryption (MD2)',
  '2a864886f70d010103': 'md4WithRSAEncryption (MD4)',
  '2a864886f70d010104': 'md5WithRSAEncryption (MD5)',
  '2a864886f70d010105': 'sha1WithRSAEncryption (SHA-1)',
  '2b0e03021d': 'sha1WithRSASignature (SHA-1, OIW)',
  '2b0e030203': 'md5WithRSA (MD5, OIW)',
  '2a8648ce3d0401': 'ecdsa-with-SHA1 (SHA-1)',
  '2a8648ce380403': 'dsa-with-sha1 (SHA-1)',
};

/** SHA-2 digests allowed in RSASSA-PSS parameters. */
const SHA2: Record<string, string> = {
  '608648016503040201': 'SHA-256',
  '608648016503040202': 'SHA-384',
  '608648016503040203': 'SHA-512',
};

function hexOf(bytes: Uint8Array, el: Tlv): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart).toString('hex');
}

/** The OID of an AlgorithmIdentifier, as hex, and its parameters element if any. */
function algorithm(bytes: Uint8Array, el: Tlv | undefined, what: string): { oid: string; text: string; params: Tlv | undefined } {
  const parts = el?.tag === 0x30 ? children(bytes, el) : [];
  if (parts[0]?.tag !== 0x06 || parts.length > 2) throw new DerError(`${what} is not an AlgorithmIdentifier`);
  return { oid: hexOf(bytes, parts[0]), text: oidText(bytes, parts[0]), params: parts[1] };
}

/** The SHA-2 digest of RSASSA-PSS parameters (hash and MGF1 hash alike), or why they are refused. */
function pssDigest(bytes: Uint8Array, params: Tlv | undefined): { name: string } | { problem: string } {
  const fields = params?.tag === 0x30 ? children(bytes, params) : undefined;
  if (fields === undefined) return { problem: 'RSASSA-PSS without parameters (the defaults are SHA-1)' };
  const hash = fields.find((f) => f.tag === 0xa0);
  const mgf = fields.find((f) => f.tag === 0xa1);
  if (hash === undefined || mgf === undefined) return { problem: 'RSASSA-PSS with the default SHA-1 hash or mask generation' };
  const digest = SHA2[algorithm(bytes, children(bytes, hash)[0], 'RSASSA-PSS hash').oid];
  const mask = algorithm(bytes, children(bytes, mgf)[0], 'RSASSA-PSS mask generation');
  const maskDigest = mask.oid === MGF1 ? SHA2[algorithm(bytes, mask.params, 'MGF1 hash').oid] : undefined;
  if (digest === undefined || maskDigest !== digest)
    return { problem: 'RSASSA-PSS with a hash other than SHA-256, SHA-384 or SHA-512 (or a different mask hash)' };
  return { name: `RSASSA-PSS (${digest})` };
}

/** What a certificate is signed with: a name for messages, and why it is refused (if it is). */
export interface SignatureAlgorithm {
  name: string;
  problem: string | undefined;
}

/**
 * Reads a certificate's outer signatureAlgorithm and checks it against the tbsCertificate's
 * copy (they must be identical). Throws {@link DerError} when malformed.
 */
export function readSignatureAlgorithm(bytes: Uint8Array, outer: Tlv | undefined, inner: Tlv | undefined): SignatureAlgorithm {
  const { oid, text, params } = algorithm(bytes, outer, 'signatureAlgorithm');
  if (inner === undefined || Buffer.compare(bytes.subarray(outer!.start, outer!.end), bytes.subarray(inner.start, inner.end)) !== 0) {
    throw new DerError('the signature algorithm of the tbsCertificate differs from the certificate signatureAlgorithm');
  }
  const weak = WEAK[oid];
  if (weak !== undefined) {
    return {
      name: weak,
      problem: `is signed with ${weak}, a broken digest that lets signatures be forged; reissue it signed with SHA-256 or stronger`,
    };
  }
  const accepted = ACCEPTED[oid];
  if (accepted === undefined) {
    return {
      name: text,
      problem: `is signed with the algorithm ${text}, which is not accepted (accepted: ECDSA, RSA PKCS#1 v1.5 or RSASSA-PSS with SHA-256/384/512, Ed25519)`,
    };
  }
  if (oid !== RSA_PSS) return { name: accepted, problem: undefined };
  const pss = pssDigest(bytes, params);
  return 'problem' in pss
    ? { name: 'RSASSA-PSS', problem: `is signed with ${pss.problem}, which is not accepted; reissue it with SHA-256 or stronger` }
    : { name: pss.name, problem: undefined };
}
