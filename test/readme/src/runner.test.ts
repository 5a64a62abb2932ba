// The README test fails when a README command breaks: a block whose command is misspelt, exits
// non-zero, or shows other output than it shows, is reported with its file and line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shellBlocks } from './blocks.js';
import { REPO_ROOT, isRoot } from './files.js';
import { runBlock } from './runner.js';
import { Session } from './session.js';

const fence = '```';
const block = (lines: string[], marker = '<!-- readme-test: run -->') => {
  const [b] = shellBlocks('BROKEN.md', [marker, `${fence}console`, ...lines, fence].join('\n'));
  assert.ok(b);
  return b;
};

describe(
  'a README command that breaks fails the README test',
  { skip: isRoot() ? undefined : 'needs root: a private /tmp (a mount namespace)' },
  () => {
    let session: Session;
    before(async () => {
      session = await Session.open(REPO_ROOT);
    });
    after(async () => {
      await session?.close();
    });

    it('passes a block that runs as shown, with cd and export carried over as in a terminal', async () => {
      assert.equal(
        await runBlock(
          session,
          block(['$ export GREETING=hello', '$ cd /tmp && pwd', '/tmp', '$ echo "$GREETING from $(pwd)"', 'hello from /tmp']),
        ),
        undefined,
      );
    });

    it('fails a misspelt command', async () => {
      assert.match(
        (await runBlock(session, block(['$ ehco hello', 'hello']))) ?? '',
        /^BROKEN\.md:3: `ehco hello` did not show "hello" \(exit 127\); it printed:\n.*command not found/,
      );
    });

    it('fails a command that exits non-zero and shows no output', async () => {
      assert.match(
        (await runBlock(session, block(['$ ls /tmp/no-such-file']))) ?? '',
        /^BROKEN\.md:3: `ls \/tmp\/no-such-file` failed \(exit 2\)/,
      );
    });

    it('fails a command whose output is not the output shown', async () => {
      assert.match((await runBlock(session, block(['$ echo Hello server', 'Hello client']))) ?? '', /did not show "Hello client"/);
    });

    it('fails a background command that exits before it shows its output, and stops one that shows it', async () => {
      const bg = '<!-- readme-test: run background=sleep -->';
      assert.match(
        (await runBlock(session, block(['$ echo starting; false && sleep 1', 'listening'], bg))) ?? '',
        /exited without showing "listening"/,
      );
      assert.equal(await runBlock(session, block(['$ echo listening on 1; sleep 600', 'listening on 1'], bg)), undefined);
    });

    it('sees a private /tmp and a checkout whose changes are thrown away', async () => {
      assert.equal(await runBlock(session, block(['$ ls -A /tmp', '.readme-test', 'home'])), undefined);
      assert.equal(
        await runBlock(session, block([`$ cd ${REPO_ROOT} && echo written > README-TEST-SCRATCH && cat README-TEST-SCRATCH`, 'written'])),
        undefined,
      );
      assert.equal(existsSync(join(REPO_ROOT, 'README-TEST-SCRATCH')), false);
    });
  },
);
