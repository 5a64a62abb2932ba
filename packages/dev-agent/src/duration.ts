import { DevAgentError } from './errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/**
 * Parses a duration into whole seconds: a plain integer is seconds (as SPIRE's CLI flags take
 * them); otherwise Go-style units are accepted (`90s`, `5m`, `1h30m`, `1500ms`).
 *
 * @param what - the name of the option, for the error message.
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG` for anything else, or a negative value.
 * @example
 * ```ts
 * parseDurationSeconds('1h', 'x509SVIDTTL'); // 3600
 * parseDurationSeconds('45', 'jwtSVIDTTL');  // 45
 * ```
 */
export function parseDurationSeconds(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new DevAgentError('ERR_AGENT_CONFIG', `${what}: ${value} is not a non-negative number of seconds`);
    }
    return Math.floor(value);
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) {
    throw new DevAgentError(
      'ERR_AGENT_CONFIG',
      `${what}: "${value}" is not a duration; use seconds (3600) or units such as 90s, 5m, 1h`,
    );
  }
  return Math.floor(total);
}
