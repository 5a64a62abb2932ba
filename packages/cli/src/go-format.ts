/**
 * Times and durations written and read the way Go programs (SPIRE) do, so that output and
 * flags look the same as `spire-agent api`.
 *
 * @module
 */

/**
 * Formats a time as Go's `fmt` prints a `time.Time` in UTC: `2024-05-01 10:00:00 +0000 UTC`
 * (fractional seconds only when there are any).
 *
 * @example
 * ```ts
 * formatGoTime(new Date('2024-05-01T10:00:00Z')); // '2024-05-01 10:00:00 +0000 UTC'
 * ```
 */
export function formatGoTime(date: Date): string {
  const iso = date.toISOString(); // 2024-05-01T10:00:00.000Z
  const day = iso.slice(0, 10);
  const clock = iso.slice(11, 19);
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${day} ${clock}${fraction === '' ? '' : `.${fraction}`} +0000 UTC`;
}

function trimFraction(whole: bigint, frac: bigint, digits: number): string {
  if (frac === 0n) return whole.toString();
  const f = frac.toString().padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${f}`;
}

/**
 * Formats a duration as Go's `time.Duration.String()`: `8.812345ms`, `1.5s`, `2m3s`,
 * `1h0m0s`, `0s`.
 *
 * @param nanoseconds - the duration in nanoseconds.
 * @example
 * ```ts
 * formatGoDuration(8_812_345n); // '8.812345ms'
 * formatGoDuration(3_600_000_000_000n); // '1h0m0s'
 * ```
 */
export function formatGoDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return '0s';
  const negative = nanoseconds < 0n;
  const ns = negative ? -nanoseconds : nanoseconds;
  let text: string;
  if (ns < 1_000n) text = `${ns}ns`;
  else if (ns < 1_000_000n) text = `${trimFraction(ns / 1_000n, ns % 1_000n, 3)}µs`;
  else if (ns < 1_000_000_000n) text = `${trimFraction(ns / 1_000_000n, ns % 1_000_000n, 6)}ms`;
  else {
    const totalSeconds = ns / 1_000_000_000n;
    const frac = ns % 1_000_000_000n;
    const hours = totalSeconds / 3600n;
    const minutes = (totalSeconds % 3600n) / 60n;
    const seconds = totalSeconds % 60n;
    text = `${trimFraction(seconds, frac, 9)}s`;
    if (hours > 0n) text = `${hours}h${minutes}m${text}`;
    else if (minutes > 0n) text = `${minutes}m${text}`;
  }
  return negative ? `-${text}` : text;
}

export { parseGoDuration } from '@spiffe-node/go-cli';
