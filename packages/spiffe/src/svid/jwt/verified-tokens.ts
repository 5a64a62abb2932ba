/**
 * The memory of verified tokens: per JWT bundle, the exact token strings whose signature
 * verified with the bundle's keys as they are now, so a repeated token (the Workload API hands
 * out the same JWT-SVID for many requests) skips the signature computation. Any change of the
 * bundle's keys forgets them. Only {@link verifySignature} adds to it, and only after the
 * signature verified.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { jwtBundleKeysVersion, type JwtBundle } from '../../bundle/jwt-bundle.js';
import type { DecodedJwtSvid } from './decode.js';
import { checkKeyAndSignature } from './signature.js';

/** How many verified tokens are remembered per bundle (the oldest is forgotten first). */
const VERIFIED_TOKENS_MAX = 1024;
/** Tokens longer than this are never remembered. */
const VERIFIED_TOKEN_MAX_LENGTH = 16 * 1024;

/**
 * Per bundle, the exact token strings whose signature verified with the bundle's keys as they
 * were at `keysVersion`. Module-private: nothing outside this module can mark a token verified.
 */
const verifiedTokens = new WeakMap<JwtBundle, { keysVersion: number; tokens: Set<string> }>();

function remember(tokens: Set<string>, token: string): void {
  if (token.length > VERIFIED_TOKEN_MAX_LENGTH) return;
  if (tokens.size >= VERIFIED_TOKENS_MAX) {
    const oldest = tokens.values().next().value;
    if (oldest !== undefined) tokens.delete(oldest);
  }
  tokens.add(token);
}

/**
 * Checks the signature of `decoded` with the keys of `bundle` (see `signature.ts`), unless
 * this exact token verified with the bundle's current keys before; throws if it does not verify.
 */
export function verifySignature(bundle: JwtBundle, decoded: DecodedJwtSvid): void {
  let verified = verifiedTokens.get(bundle);
  if (verified === undefined || verified.keysVersion !== jwtBundleKeysVersion(bundle)) {
    verified = { keysVersion: jwtBundleKeysVersion(bundle), tokens: new Set() };
    verifiedTokens.set(bundle, verified);
  } else if (verified.tokens.has(decoded.token)) {
    return;
  }
  checkKeyAndSignature(bundle, decoded);
  remember(verified.tokens, decoded.token);
}
