/**
 * Shown output against real output. A README shows one run; another run differs in its numbers
 * (durations, dates, ports, sizes, pids), its identifiers (entry UUIDs, hashes) and what the
 * README elides (`…`, `...`). Each shown line becomes a pattern where those vary and everything
 * else (words, IDs, punctuation, JSON keys) must be as shown; the shown lines must appear in the
 * real output in order.
 */

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const TOKEN = new RegExp(
  [
    '(…|\\.\\.\\.)', // elided
    '(\\s+)', // spacing (tabs, alignment)
    `\\b(${MONTHS})\\b`, // ls -l dates
    '\\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\b', // entry IDs
    '\\b((?=[0-9a-f]*\\d)[0-9a-f]{6,})\\b', // hashes, long numbers
    '(\\d+(?:\\.\\d+)?)', // numbers
    '([\\s\\S])', // anything else, as is
  ].join('|'),
  'g',
);

/** The pattern a shown output line stands for. */
function linePattern(shown: string): RegExp {
  let source = '';
  for (const m of shown.matchAll(TOKEN)) {
    if (m[1] !== undefined) source += '.*';
    else if (m[2] !== undefined) source += '\\s+';
    else if (m[3] !== undefined) source += `(?:${MONTHS})`;
    else if (m[4] !== undefined) source += '[0-9a-f-]{36}';
    else if (m[5] !== undefined) source += '[0-9a-f]+';
    else if (m[6] !== undefined) source += '\\d+(?:\\.\\d+)?';
    else source += m[7]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(source);
}

/**
 * The first shown line that the output does not show, in order (undefined when all are there).
 * Each shown line must match within one line of the output, after the line that matched the
 * shown line before it.
 */
export function firstMissing(shown: readonly string[], output: string): string | undefined {
  const lines = output.split('\n');
  let at = 0;
  for (const expected of shown) {
    const pattern = linePattern(expected);
    const found = lines.findIndex((l, i) => i >= at && pattern.test(l));
    if (found < 0) return expected;
    at = found + 1;
  }
  return undefined;
}
