/**
 * Go's `%q` formatting of strings and string slices, so that messages SPIRE builds with it
 * (`expected audience in ["a"] (audience=["b" "c"])`) read the same from this agent.
 *
 * @module
 */

const NAMED_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * A string as Go's `%q` (`strconv.Quote`) writes it: double-quoted, with `"` and `\` escaped,
 * `\a \b \f \n \r \t \v` for those controls, `\xNN` for other ASCII controls, and `\uNNNN` /
 * `\UNNNNNNNN` for other characters that are not printable.
 *
 * @example
 * ```ts
 * goQuote('say "hi"\n'); // '"say \\"hi\\"\\n"'
 * ```
 */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) {
      out += named;
      continue;
    }
    if (PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

/**
 * A list of strings as Go's `%q` writes a `[]string`: each quoted, space-separated, in brackets.
 *
 * @example
 * ```ts
 * goQuoteList(['a', 'b']); // '["a" "b"]'
 * goQuoteList([]);         // '[]'
 * ```
 */
export function goQuoteList(values: readonly string[]): string {
  return `[${values.map(goQuote).join(' ')}]`;
}
