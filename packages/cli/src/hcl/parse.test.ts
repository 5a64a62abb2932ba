import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HclSyntaxError, hclToJson, parseHcl } from './parse.js';

describe('parseHcl', () => {
  const valid: Array<{ name: string; text: string; json: unknown }> = [
    {
      name: 'strings, numbers and booleans',
      text: 'a = "x"\nb = 42\nc = true\nd = false\ne = -3\nf = 1.5',
      json: { a: 'x', b: 42, c: true, d: false, e: -3, f: 1.5 },
    },
    {
      name: 'a leading 0 is octal (HCL 1), 0x is hex',
      text: 'mode = 0644\nkey = 0600\nhex = 0x1F\nzero = 0',
      json: { mode: 0o644, key: 0o600, hex: 31, zero: 0 },
    },
    { name: 'escapes in strings', text: 'a = "tab\\there \\"q\\" \\\\ \\u00e9"', json: { a: 'tab\there "q" \\ é' } },
    { name: 'comments of every kind', text: '# hash\n// slashes\na = 1 # trailing\n/* block\n b = 2 */\nc = 3', json: { a: 1, c: 3 } },
    { name: 'lists with a trailing comma, over lines', text: 'l = [\n  "a",\n  "b",\n]\nempty = []', json: { l: ['a', 'b'], empty: [] } },
    {
      name: 'spiffe-helper jwt_svids: a list of objects',
      text: 'jwt_svids = [{jwt_audience="aud", jwt_svid_file_name="a.token"}, {jwt_audience = "b"\n jwt_svid_file_name = "b.token"}]',
      json: {
        jwt_svids: [
          { jwt_audience: 'aud', jwt_svid_file_name: 'a.token' },
          { jwt_audience: 'b', jwt_svid_file_name: 'b.token' },
        ],
      },
    },
    {
      name: 'a block',
      text: 'health_checks {\n  listener_enabled = true\n  bind_port = 8081\n}',
      json: { health_checks: { listener_enabled: true, bind_port: 8081 } },
    },
    {
      name: 'a block with labels',
      text: 'plugins {\n  KeyManager "disk" {\n    plugin_data { directory = "/x" }\n  }\n}',
      json: { plugins: { KeyManager: { disk: { plugin_data: { directory: '/x' } } } } },
    },
    { name: 'an object value with = and commas', text: 'o = { a = 1, b = "2" }', json: { o: { a: 1, b: '2' } } },
    { name: 'quoted keys', text: '"weird key" = 1', json: { 'weird key': 1 } },
    { name: 'a heredoc', text: 'h = <<EOF\nline 1\n  line 2\nEOF\nx = 1', json: { h: 'line 1\n  line 2\n', x: 1 } },
    { name: 'an indented heredoc', text: 'h = <<-EOT\n    a\n      b\n    EOT\n', json: { h: 'a\n  b\n' } },
    { name: 'repeated blocks', text: 'b { x = 1 }\nb { x = 2 }', json: { b: [{ x: 1 }, { x: 2 }] } },
    { name: 'an empty file', text: '  \n# only a comment\n', json: {} },
  ];
  for (const c of valid) {
    it(`reads ${c.name}`, () => assert.deepEqual(hclToJson(parseHcl(c.text)), c.json));
  }

  it('keeps the line and column of keys and values', () => {
    const obj = parseHcl('\n\n  cert_dir = "certs"\nhealth_checks {\n  bind_port = 1\n}', 'helper.conf');
    const [dir, health] = obj.entries;
    assert.deepEqual(dir?.keyPos, { line: 3, column: 3 });
    assert.deepEqual(dir?.value.pos, { line: 3, column: 14 });
    assert.equal(health?.block, true);
    const inner = health?.value.kind === 'object' ? health.value.entries[0] : undefined;
    assert.deepEqual(inner?.keyPos, { line: 5, column: 3 });
  });

  const invalid: Array<{ name: string; text: string; error: RegExp }> = [
    { name: 'a missing value', text: 'a = \nb = 1', error: /^x\.conf:1:4: expected a value after "a =" on the same line/ },
    { name: 'a missing value at the end', text: 'a =', error: /^x\.conf:1:4: expected a value after "a =", found the end of the file/ },
    {
      name: 'an unquoted string value',
      text: 'a = certs',
      error: /^x\.conf:1:5: expected a value after "a =", found "certs" \(strings need double quotes\)/,
    },
    { name: 'an unterminated string', text: 'a = "abc\nb = 1', error: /^x\.conf:1:5: unterminated string/ },
    { name: 'an unknown escape', text: 'a = "\\q"', error: /unknown escape sequence "\\q"/ },
    { name: 'an unclosed block', text: 'h {\n a = 1\n', error: /^x\.conf:3:1: unclosed "\{"/ },
    { name: 'an unclosed list', text: 'l = [1, 2', error: /^x\.conf:1:5: unclosed "\["/ },
    { name: 'a missing comma in a list', text: 'l = [1 2]', error: /expected "," or "\]" in the list, found "2"/ },
    { name: 'a key without = or {', text: 'a 1', error: /expected "=" or "\{" after the key "a", found "1"/ },
    { name: 'a stray character', text: 'a = 1\n@', error: /^x\.conf:2:1: unexpected character "@"/ },
    { name: 'a malformed number', text: 'a = 08', error: /invalid number "08"/ },
    { name: 'an unterminated comment', text: '/* a = 1', error: /unterminated \/\* comment/ },
    { name: 'an unterminated heredoc', text: 'h = <<EOF\nabc\n', error: /unterminated heredoc/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with its position`, () => {
      assert.throws(
        () => parseHcl(c.text, 'x.conf'),
        (e: unknown) => e instanceof HclSyntaxError && c.error.test(e.message),
      );
    });
  }
});
