/**
 * The shell blocks of a Markdown file, each with the marker that says whether the README test
 * runs it, and the commands it shows with the output shown for each.
 *
 * A shell block is a fenced block whose info string is `sh`, `bash`, `shell` or `console`, or a
 * `text` (or bare) block with a `$ ` prompt line. The line above it (blank lines aside) is its
 * marker, an HTML comment that Markdown renders as nothing:
 *
 * - `<!-- readme-test: run -->`: the test runs the block's commands in order, in one shell
 *   session per README, and checks that each shows the output the block shows for it;
 *   `run background=dist/server.js,dist/proxy.js` starts the commands containing one of those
 *   strings in the background (a server: the test waits for its shown output, and stops it
 *   when a later command starts the same program, as a reader would press Ctrl-C);
 * - `<!-- readme-test: skip: <reason> -->`: not run, and the reason says why (SPIRE, Docker,
 *   Kubernetes, another machine, a placeholder to fill in, run by another test ...).
 *
 * Commands and their output, as the two styles of the READMEs show them:
 * - prompt style (`console`, `text`): a line `$ command`, continued by lines that start with
 *   `> ` or follow a line ending in `\`; every other line is output of the command above;
 * - script style (`sh`, `bash`, `shell`): every line is a command (continued after a `\`),
 *   and the `# ...` lines right below a command are its output. A `# ...` line with no command
 *   above it in the block is a comment.
 *
 * Shown output that varies between runs is matched loosely (see `match.ts`); a note in the shown
 * output after two spaces in parentheses, `   (abbreviated)`, is not part of it.
 */

/** What the marker of a block says. */
export type Marker =
  { kind: 'run'; background: string[] } | { kind: 'skip'; reason: string } | { kind: 'missing' } | { kind: 'invalid'; text: string };

/** One command of a block, as shown, and the output shown for it. */
export interface Command {
  /** 1-based line of the Markdown file where the command starts. */
  readonly line: number;
  /** The command text, continuation lines joined by newlines (as a shell reads them). */
  readonly text: string;
  /** The output lines shown for it, trimmed, notes removed, empty lines dropped. */
  readonly output: string[];
}

/** One shell block of a Markdown file. */
export interface ShellBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly info: string;
  readonly marker: Marker;
  readonly commands: Command[];
  /** The block's text, for messages. */
  readonly body: string;
}

/** Any fenced block, with the marker line above it (for blocks the test reads but does not run). */
export interface FencedBlock {
  readonly line: number;
  readonly info: string;
  readonly lines: string[];
  readonly markerText: string | undefined;
}

const SHELL_INFO = new Set(['sh', 'bash', 'shell', 'console']);
const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/;

/** Every fenced block of a Markdown text. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)?.*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence[0]!.repeat(fence.length)) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const above = k >= 0 ? lines[k]!.trim() : '';
    blocks.push({ line: i + 1, info: (open[3] ?? '').toLowerCase(), lines: body, markerText: MARKER.test(above) ? above : undefined });
    i = j;
  }
  return blocks;
}

/** Whether a fenced block shows shell commands. */
function isShellBlock(block: FencedBlock): boolean {
  if (SHELL_INFO.has(block.info)) return true;
  return (block.info === 'text' || block.info === '') && block.lines.some((l) => l.startsWith('$ '));
}

/** Reads a marker comment. */
function parseMarker(text: string | undefined): Marker {
  if (text === undefined) return { kind: 'missing' };
  const body = MARKER.exec(text)?.[1] ?? '';
  const skip = /^skip:\s*(\S.*)$/.exec(body);
  if (skip) return { kind: 'skip', reason: skip[1]! };
  const run = /^run((?:\s+\w+=\S+)*)$/.exec(body);
  if (!run) return { kind: 'invalid', text };
  const options = new Map([...run[1]!.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  for (const key of options.keys()) if (key !== 'background') return { kind: 'invalid', text };
  return { kind: 'run', background: (options.get('background') ?? '').split(',').filter(Boolean) };
}

/** An output line as shown, without a trailing note `   (…)`; undefined when nothing is left. */
function shownOutput(line: string): string | undefined {
  const text = line
    .trim()
    .replace(/\s{2,}\([^()]*\)$/, '')
    .trim();
  return text === '' ? undefined : text;
}

/** The commands of a shell block and the output shown for each. */
function commandsOf(block: FencedBlock): Command[] {
  const prompt = block.lines.some((l) => l.startsWith('$ '));
  const commands: Array<{ line: number; text: string[]; output: string[] }> = [];
  let continuing = false;
  block.lines.forEach((raw, index) => {
    const line = block.line + 1 + index;
    const current = commands.at(-1);
    if (continuing && current) {
      current.text.push(prompt ? raw.replace(/^> ?/, '') : raw);
      continuing = raw.trimEnd().endsWith('\\');
      return;
    }
    if (prompt) {
      if (raw.startsWith('$ ')) {
        commands.push({ line, text: [raw.slice(2)], output: [] });
        continuing = raw.trimEnd().endsWith('\\');
      } else if (raw.startsWith('> ') && current) {
        current.text.push(raw.slice(2));
        continuing = raw.trimEnd().endsWith('\\');
      } else if (current) {
        const out = shownOutput(raw);
        if (out !== undefined) current.output.push(out);
      }
      return;
    }
    const trimmed = raw.trim();
    if (trimmed === '') {
      if (current) current.output.push('\0');
      return;
    }
    if (trimmed.startsWith('#')) {
      // Output only when it sits right below its command (or below output of it).
      if (current && current.output.at(-1) !== '\0') {
        const out = shownOutput(trimmed.replace(/^#\s?/, ''));
        if (out !== undefined) current.output.push(out);
      }
      return;
    }
    commands.push({ line, text: [raw], output: [] });
    continuing = raw.trimEnd().endsWith('\\');
  });
  return commands.map((c) => ({ line: c.line, text: c.text.join('\n'), output: c.output.filter((o) => o !== '\0') }));
}

/** The shell blocks of a Markdown file. */
export function shellBlocks(file: string, markdown: string): ShellBlock[] {
  return fencedBlocks(markdown)
    .filter(isShellBlock)
    .map((b) => ({
      file,
      line: b.line,
      info: b.info,
      marker: parseMarker(b.markerText),
      commands: commandsOf(b),
      body: b.lines.join('\n'),
    }));
}
