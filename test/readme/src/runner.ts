/**
 * Running a README's `run` blocks in a session, command by command, and saying where what was
 * shown was not what ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fencedBlocks, shellBlocks, type Command, type ShellBlock } from './blocks.js';
import { firstMissing } from './match.js';
import type { Session } from './session.js';

/** The markers of what the dev agent prints when `pnpm agent` starts it (packages/dev-agent/README.md). */
const AGENT_OUTPUT_MARKER = '<!-- readme-test: agent-output -->';

/** The lines `pnpm agent` shows in packages/dev-agent/README.md. */
function agentBanner(root: string): string[] {
  const file = join(root, 'packages', 'dev-agent', 'README.md');
  const block = fencedBlocks(readFileSync(file, 'utf8')).find((b) => b.markerText === AGENT_OUTPUT_MARKER);
  if (!block) throw new Error(`${file} has no block marked ${AGENT_OUTPUT_MARKER} (the agent's start-up output)`);
  return block.lines.map((l) => l.trim()).filter(Boolean);
}

/** Starts the dev agent in a session as the READMEs do (`pnpm agent`) and checks what it shows. */
export async function startAgent(session: Session, root: string): Promise<void> {
  const agent = await session.start('pnpm agent', 'pnpm agent');
  const problem = await session.waitFor(agent, agentBanner(root));
  if (problem !== undefined) throw new Error(`\`pnpm agent\`: ${problem}; it printed:\n${agent.output()}`);
}

/** The key of a background command: the first of the marker's strings it contains. */
function backgroundKey(block: ShellBlock, command: Command): string | undefined {
  return block.marker.kind === 'run' ? block.marker.background.find((b) => command.text.includes(b)) : undefined;
}

/** Runs one command of a block; the reason it is not as shown, or undefined. */
async function runCommand(session: Session, block: ShellBlock, command: Command): Promise<string | undefined> {
  const where = `${block.file}:${command.line}: \`${command.text}\``;
  const key = backgroundKey(block, command);
  if (key !== undefined) {
    if (command.output.length === 0) return `${where} runs in the background but shows no output to wait for`;
    const job = await session.start(command.text, key);
    const problem = await session.waitFor(job, command.output);
    return problem === undefined ? undefined : `${where}: ${problem}; it printed:\n${job.output()}`;
  }
  const ran = await session.run(command.text);
  if (command.output.length > 0) {
    const missing = firstMissing(command.output, ran.output);
    return missing === undefined
      ? undefined
      : `${where} did not show ${JSON.stringify(missing)} (exit ${ran.code}); it printed:\n${ran.output}`;
  }
  return ran.code === 0 ? undefined : `${where} failed (exit ${ran.code}); it printed:\n${ran.output}`;
}

/** Runs a block's commands in order; the first reason one is not as shown, or undefined. */
export async function runBlock(session: Session, block: ShellBlock): Promise<string | undefined> {
  for (const command of block.commands) {
    const problem = await runCommand(session, block, command);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The shell blocks of a Markdown file of the repository. */
export function blocksOf(root: string, file: string): ShellBlock[] {
  return shellBlocks(file, readFileSync(join(root, file), 'utf8'));
}
