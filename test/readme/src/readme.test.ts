// What a reader is shown runs as shown. Every shell block of every README either runs here (its
// marker says `run`), in a reader's session, one per README, at the repository root after the
// set-up, with a private /tmp and the dev agent started by `pnpm agent`, and shows the output it
// shows; or its marker says why it does not run here (SPIRE, Docker, Kubernetes, placeholders,
// another test). See src/blocks.ts for the markers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { markdownFiles, REPO_ROOT, canRead, ensureUser, isRoot } from './files.js';
import { blocksOf, runBlock, startAgent } from './runner.js';
import { Session } from './session.js';

/** The users the READMEs run workloads as (the apps' preconditions); made when missing, as pnpm demo makes them. */
const WORKLOAD_USERS = ['server-workload', 'client-workload', 'gateway-workload', 'upstream-workload'];
const files = markdownFiles();

describe('every shell block of every README says whether the README test runs it', () => {
  for (const file of files) {
    it(file, () => {
      const problems: string[] = [];
      for (const block of blocksOf(REPO_ROOT, file)) {
        const at = `${file}:${block.line}`;
        if (block.marker.kind === 'missing')
          problems.push(`${at}: no <!-- readme-test: run --> or <!-- readme-test: skip: <why> --> above this block:\n${block.body}`);
        if (block.marker.kind === 'invalid') problems.push(`${at}: cannot read the marker ${block.marker.text}`);
        if (block.marker.kind === 'run') {
          if (block.commands.length === 0) problems.push(`${at}: a run block with no command`);
          for (const b of block.marker.background) {
            if (!block.commands.some((c) => c.text.includes(b))) problems.push(`${at}: background=${b} names no command of the block`);
          }
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});

/** Why the run blocks cannot run on this machine, if they cannot. */
function cannotRun(): string | undefined {
  if (!isRoot()) return 'needs root: a private /tmp (a mount namespace), and the READMEs run workloads as their own users (runuser)';
  for (const user of WORKLOAD_USERS) ensureUser(user);
  const unreadable = WORKLOAD_USERS.filter((u) => !canRead(u, join(REPO_ROOT, 'packages', 'spiffe', 'package.json')));
  if (unreadable.length > 0)
    return `the workload users (${unreadable.join(', ')}) cannot read this checkout (a folder above it is closed to them, as /root is), so the READMEs' runuser commands cannot run from it`;
  return undefined;
}

describe('the README examples run as shown, against the dev agent', () => {
  const skip = cannotRun();
  for (const file of files) {
    const blocks = blocksOf(REPO_ROOT, file).filter((b) => b.marker.kind === 'run');
    if (blocks.length === 0) continue;
    describe(file, { skip }, () => {
      let session: Session;
      before(async () => {
        session = await Session.open(REPO_ROOT);
        await startAgent(session, REPO_ROOT);
      });
      after(async () => {
        await session?.close();
      });
      for (const block of blocks) {
        it(`line ${block.line}: ${block.commands[0]?.text.split('\n')[0] ?? ''}`, async () => {
          const problem = await runBlock(session, block);
          assert.equal(problem, undefined, problem);
        });
      }
    });
  }
});
