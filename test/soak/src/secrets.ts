/**
 * Finds key material and bearer tokens in log lines: PEM private keys, long base64 runs (DER of
 * keys or certificates), the private member of a JWK, and whole three-part JWTs. Used on every
 * log the soak and the end-to-end scenarios capture.
 */

export interface SecretFinding {
  kind: 'pem-private-key' | 'base64-blob' | 'jwk-private-member' | 'jwt';
  /** Where: the log's name and line number. */
  where: string;
  /** The line, with the secret itself cut short. */
  excerpt: string;
}

const PATTERNS: Array<{ kind: SecretFinding['kind']; re: RegExp }> = [
  { kind: 'pem-private-key', re: /PRIVATE KEY/ },
  { kind: 'jwt', re: /eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/ },
  { kind: 'jwk-private-member', re: /"(d|p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{16,}"/ },
  // Base64 (or base64url) of at least 48 bytes, mixing cases and digits: not a hex hash or a word.
  {
    kind: 'base64-blob',
    re: /(?=[A-Za-z0-9+/_-]{64,})(?=[A-Za-z0-9+/_-]*[A-Z])(?=[A-Za-z0-9+/_-]*[a-z])(?=[A-Za-z0-9+/_-]*[0-9])[A-Za-z0-9+/_-]{64,}/,
  },
];

/** Scans `lines` (from the log named `name`); returns one finding per offending line. */
export function findSecrets(name: string, lines: readonly string[]): SecretFinding[] {
  const out: SecretFinding[] = [];
  lines.forEach((line, i) => {
    for (const { kind, re } of PATTERNS) {
      const m = re.exec(line);
      if (!m) continue;
      const cut = line.replace(m[0], `${m[0].slice(0, 12)}…(${m[0].length} chars)`);
      out.push({ kind, where: `${name}:${i + 1}`, excerpt: cut.length > 200 ? `${cut.slice(0, 200)}…` : cut });
      break;
    }
  });
  return out;
}
