import { parseGoDuration } from '@spiffe-node/go-cli';
import { DevAgentError } from './errors.js';

/**
 * Parses a duration into whole seconds: a plain integer is seconds (as SPIRE's CLI flags take
 * them); otherwise a Go duration, as `@spiffe-node/go-cli` parses it (`90s`, `5m`, `1h30m`, `1500ms`).
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
  const ms = parseGoDuration(text);
  if (ms === undefined) {
    throw new DevAgentError('ERR_AGENT_CONFIG', `${what}: "${value}" is not a duration; use seconds (3600) or units such as 90s, 5m, 1h`);
  }
  return Math.floor(ms / 1000);
}
