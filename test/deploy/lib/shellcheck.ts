// shellcheck (scripts/setup.sh installs it; /usr/bin/shellcheck here), every finding at its default
// severity (style and up), as file:line:col: SCnnnn message.
import { readFileSync } from 'node:fs';
import { envFlag, rel, run, which } from './repo.js';

const shellcheckBin = which('shellcheck');

/** false (run) or the reason to skip: without shellcheck, unless CI is set (then it fails). */
export const shellcheckSkip: false | string =
  shellcheckBin || envFlag('CI') ? false : 'shellcheck is not installed (scripts/setup.sh installs it; in CI its absence fails)';

export interface Finding {
  file: string;
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${rel(f.file)}:${f.line}:${f.column}: ${f.level} SC${f.code}: ${f.message}`;
}

/** shellcheck's findings for these files (all at once), or for a script given on stdin. */
export async function shellcheck(files: string[], options: { shell?: 'bash' | 'sh'; stdin?: string } = {}): Promise<Finding[]> {
  if (!shellcheckBin) throw new Error('shellcheck is not installed: run scripts/setup.sh (or apt-get install shellcheck)');
  const args = ['-f', 'json1', '-x', ...(options.shell ? ['-s', options.shell] : []), ...(options.stdin !== undefined ? ['-'] : files)];
  const result = await run(shellcheckBin, args, options.stdin !== undefined ? { input: options.stdin } : {});
  // Exit 0: no findings; 1: findings; anything else: shellcheck itself failed.
  if (result.code !== 0 && result.code !== 1) throw new Error(`shellcheck failed (${result.code}): ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { comments: Finding[] };
  return parsed.comments;
}

/** True when the file is a shell script: *.sh, or a #! line naming sh or bash. */
export function isShellScript(path: string): boolean {
  if (path.endsWith('.sh')) return true;
  const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 120);
  return /^#!\s*(\/usr\/bin\/env\s+)?(\/\S*\/)?(ba)?sh\b/.test(head);
}
