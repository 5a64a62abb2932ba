import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { goQuote, goQuoteList } from './go-quote.js';

describe("Go's %q", () => {
  it('quotes strings as strconv.Quote does', () => {
    // Expected values are what Go's fmt.Sprintf("%q", s) prints.
    const cases: Array<[string, string]> = [
      ['', '""'],
      ['spiffe://example.org/api', '"spiffe://example.org/api"'],
      ['say "hi"', '"say \\"hi\\""'],
      ['back\\slash', '"back\\\\slash"'],
      ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
      ['\x00\x1b\x7f', '"\\x00\\x1b\\x7f"'],
      ['café ☕ 日本', '"café ☕ 日本"'],
      ['\u00a0\u200b\u2028', '"\\u00a0\\u200b\\u2028"'],
      ['😀', '"😀"'],
      ['\u{e0001}', '"\\U000e0001"'],
    ];
    for (const [input, expected] of cases) assert.equal(goQuote(input), expected, JSON.stringify(input));
  });

  it('quotes string slices space-separated in brackets', () => {
    assert.equal(goQuoteList([]), '[]');
    assert.equal(goQuoteList(['a']), '["a"]');
    assert.equal(goQuoteList(['aud "one"', 'aud2']), '["aud \\"one\\"" "aud2"]');
  });
});
