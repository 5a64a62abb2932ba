// How the README test reads a Markdown file: markers, commands and the output shown for each,
// and how shown output is matched against a real run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shellBlocks } from './blocks.js';
import { firstMissing } from './match.js';

const fence = '```';

describe('shellBlocks', () => {
  it('reads the prompt style: commands, continuations and the output below each', () => {
    const md = [
      '<!-- readme-test: run background=dist/server.js -->',
      '',
      `${fence}text`,
      '$ node dist/server.js \\',
      '>   --port 1',
      'Listening on 1',
      '$ echo a   # a comment',
      'a',
      '',
      'b   (a note)',
      fence,
    ].join('\n');
    const [block] = shellBlocks('X.md', md);
    assert.deepEqual(block?.marker, { kind: 'run', background: ['dist/server.js'] });
    assert.deepEqual(block?.commands, [
      { line: 4, text: 'node dist/server.js \\\n  --port 1', output: ['Listening on 1'] },
      { line: 7, text: 'echo a   # a comment', output: ['a', 'b'] },
    ]);
  });

  it('reads the script style: comments right below a command are its output, others are comments', () => {
    const md = [
      '<!-- readme-test: skip: needs SPIRE -->',
      `${fence}sh`,
      '# a comment before any command',
      'cd apps/x',
      'runuser -u u -- node dist/client.js \\',
      '  --flag',
      '# Server says: Hello client',
      '',
      '# a comment after a blank line',
      'true',
      fence,
    ].join('\n');
    const [block] = shellBlocks('X.md', md);
    assert.deepEqual(block?.marker, { kind: 'skip', reason: 'needs SPIRE' });
    assert.deepEqual(
      block?.commands.map((c) => [c.text, c.output]),
      [
        ['cd apps/x', []],
        ['runuser -u u -- node dist/client.js \\\n  --flag', ['Server says: Hello client']],
        ['true', []],
      ],
    );
  });

  it('finds shell blocks without a marker, or with a marker it cannot read, and ignores other blocks', () => {
    const md = [
      `${fence}ts`,
      'const a = 1;',
      fence,
      '',
      `${fence}sh`,
      'ls',
      fence,
      '<!-- readme-test: sometimes -->',
      `${fence}console`,
      '$ ls',
      fence,
      `${fence}`,
      'no prompt',
      fence,
    ].join('\n');
    assert.deepEqual(
      shellBlocks('X.md', md).map((b) => b.marker.kind),
      ['missing', 'invalid'],
    );
  });

  it('reads indented blocks of list items', () => {
    const md = ['1. Then:', '   <!-- readme-test: run -->', '   ```sh', '   pnpm test   # all', '   ```'].join('\n');
    assert.deepEqual(
      shellBlocks('X.md', md)[0]?.commands.map((c) => c.text),
      ['pnpm test   # all'],
    );
  });
});

describe('firstMissing', () => {
  it('lets numbers, dates, IDs, hashes and elisions vary, and nothing else', () => {
    const output = [
      'Received 1 svid after 3.5ms',
      'SVID Valid After:\t2026-12-08 00:10:11 +0000 UTC',
      'Entry ID         : 4fe7d78e-0a46-47a2-adea-33daa5051990',
      '-rw------- 1 client-workload client-workload  241 Dec  8 00:10 svid.0.key',
      '{"uri":"spiffe://example.org/client","hash":"0a1b2c3d4e5f60718293"}',
    ].join('\n');
    const shown = [
      'Received 1 svid after 88.879029ms',
      'SVID Valid After:	2026-11-25 23:04:32 +0000 UTC',
      'Entry ID         : dc71adff-ba4b-4bc2-aab8-18c1f8be4176',
      '-rw------- 1 client-workload client-workload  241 Nov 25 23:04 svid.0.key',
      '{"uri":"spiffe://example.org/client","hash":"fc1c73e6…"}',
    ];
    assert.equal(firstMissing(shown, output), undefined);
    assert.equal(
      firstMissing(['Received 1 svid after 88.879029ms', 'SPIFFE ID: spiffe://example.org/server'], output),
      'SPIFFE ID: spiffe://example.org/server',
    );
    assert.equal(firstMissing(['{"uri":"spiffe://example.org/server",…}'], output), '{"uri":"spiffe://example.org/server",…}');
  });

  it('wants the shown lines in the order shown', () => {
    assert.equal(firstMissing(['b', 'a'], 'a\nb\n'), 'a');
    assert.equal(firstMissing(['a', 'b'], 'a\nb\n'), undefined);
  });
});
