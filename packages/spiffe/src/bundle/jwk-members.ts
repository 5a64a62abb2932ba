/**
 * The base64url members of a public JWK (`x`, `y` of EC and OKP keys, `n`, `e` of RSA keys).
 * Node's JWK import skips characters outside the base64url alphabet without a word, so a bundle
 * would hold, and marshal again, a key its document never named; they are refused first.
 *
 * Not part of the public API: no entry point exports this module.
 */
const KEY_MEMBERS = ['x', 'y', 'n', 'e'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The name of the first key member that is present but not unpadded base64url, if any. */
export function malformedKeyMember(jwk: Record<string, unknown>): string | undefined {
  for (const member of KEY_MEMBERS) {
    if (!(member in jwk)) continue;
    const value = jwk[member];
    if (typeof value !== 'string' || !BASE64URL.test(value)) return member;
  }
  return undefined;
}
