// A Dockerfile reader: instructions (continuation lines joined, comments and parser directives
// dropped), global ARGs, and build stages. Enough for the checks in dockerfile.test.ts; BuildKit
// itself is not available here.

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The name after AS, or the stage's index as a string. */
  name: string;
  /** The image reference as written (may contain ${ARG}). */
  from: string;
  /** The image reference with global ARG defaults substituted. */
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Record<string, string>;
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** `${NAME}` and `$NAME` replaced from `vars` (unknown names left as they are). */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a?: string, b?: string) => {
    const name = a ?? b ?? '';
    return vars[name] ?? whole;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const directives: Record<string, string> = {};
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  let inHeader = true;
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (inHeader) {
      const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(trimmed);
      if (directive && directive[1] && directive[2]) {
        directives[directive[1].toLowerCase()] = directive[2];
        continue;
      }
      inHeader = false;
    }
    if (current === undefined) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const m = /^([A-Za-z]+)\s*(.*)$/.exec(trimmed);
      if (!m || !m[1]) throw new Error(`line ${i + 1}: cannot read "${trimmed}"`);
      current = { keyword: m[1].toUpperCase(), args: '', line: i + 1 };
      const rest = m[2] ?? '';
      if (rest.endsWith('\\')) {
        current.args = rest.slice(0, -1).trim();
      } else {
        current.args = rest.trim();
        instructions.push(current);
        current = undefined;
      }
    } else {
      // Inside a continued instruction: comment lines are dropped, blank lines too.
      if (trimmed.startsWith('#') || trimmed === '') continue;
      if (trimmed.endsWith('\\')) {
        current.args = `${current.args} ${trimmed.slice(0, -1).trim()}`.trim();
      } else {
        current.args = `${current.args} ${trimmed}`.trim();
        instructions.push(current);
        current = undefined;
      }
    }
  }
  if (current) throw new Error(`line ${current.line}: ${current.keyword} ends with a continuation`);

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m || !m[1]) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ name: m[2] ?? String(stages.length), from: m[1], image: substitute(m[1], globalArgs), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
      if (!m || !m[1]) throw new Error(`line ${ins.line}: cannot read ARG ${ins.args}`);
      globalArgs[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
      continue;
    }
    stage.instructions.push(ins);
  }
  return { directives, globalArgs, stages };
}

/** The shell-form command of a RUN (the `--mount=…`-style flags removed). */
export function runCommand(ins: Instruction): string {
  return ins.args.replace(/^(--[a-z-]+=\S+\s+)+/, '');
}

/** A JSON-array (exec form) argument list, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not a JSON string array: ${args}`);
  return parsed;
}

export interface CopyInstruction {
  from: string | undefined;
  chown: string | undefined;
  chmod: string | undefined;
  sources: string[];
  destination: string;
}

export function parseCopy(ins: Instruction): CopyInstruction {
  const words = ins.args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const m = /^--([a-z-]+)=(.*)$/.exec(words.shift() ?? '');
    if (m && m[1]) flags[m[1]] = m[2] ?? '';
  }
  const destination = words.pop();
  if (!destination || words.length === 0) throw new Error(`line ${ins.line}: cannot read ${ins.keyword} ${ins.args}`);
  return { from: flags.from, chown: flags.chown, chmod: flags.chmod, sources: words, destination };
}
