/**
 * Go durations as flags take them (`time.ParseDuration`).
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`1s`, `500ms`, `1h30m`, `1.5s`, `0`) into milliseconds; `undefined`
 * when it is not one. Negative durations are refused.
 *
 * @example
 * ```ts
 * parseGoDuration('1m30s'); // 90000
 * parseGoDuration('5');     // undefined (a unit is required)
 * ```
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const s = text.startsWith('+') ? text.slice(1) : text;
  if (s === '' || s.startsWith('-')) return undefined;
  const part = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (m === null || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = part.lastIndex;
  }
  return total;
}
