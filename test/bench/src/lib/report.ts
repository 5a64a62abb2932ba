/**
 * Printing and saving results: the table on the terminal, results/<stamp>/results.json and
 * chart.svg (each checked figure against its target), copies as results/latest.*, and the
 * figures section of test/bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fmt, metText, targetText, type Figure } from './figures.js';
import { BENCH_DIR } from './proc.js';

export interface RunMeta {
  date: string;
  machine: string;
  node: string;
  go: string;
  commit: string;
  /** 1-minute load average before and after the run: how busy the shared machine was. */
  load: { before: number; after: number };
  options: Record<string, unknown>;
  seconds: number;
}

/** The machine, Go and commit of a run; `node`: the Node.js (or lines) that ran the Node processes. */
export function machineInfo(node: string): Pick<RunMeta, 'machine' | 'node' | 'go' | 'commit'> {
  const cpu = cpus();
  let go = '';
  let commit = '';
  try {
    go = execFileSync('go', ['version'], { encoding: 'utf8' })
      .trim()
      .replace(/^go version /, '');
  } catch {
    go = 'not installed';
  }
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
  } catch {
    commit = '';
  }
  return {
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${process.platform === 'linux' ? readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() : process.platform}`,
    node,
    go,
    commit,
  };
}

export function currentLoad(): number {
  return loadavg()[0] ?? NaN;
}

function ratioText(f: Figure): string {
  if (f.ratio === undefined) return '—';
  const range = f.ratioRange ? ` (${fmt(f.ratioRange[0])}–${fmt(f.ratioRange[1])})` : '';
  return `${fmt(f.ratio)}×${range}`;
}

function checkedText(f: Figure): string {
  if (f.target === undefined || f.target.on === 'ratio') return '';
  return fmt(f.checked, f.unit);
}

const HEADERS = ['#', 'benchmark', 'metric', 'ours', 'baseline', 'ratio (range)', 'target', 'checked', 'met'];

function rows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => [
    f.item,
    f.bench,
    f.metric,
    `${fmt(f.ours, f.unit)}  ${f.oursLabel}`,
    f.baseline === undefined ? '—' : `${fmt(f.baseline, f.unit)}  ${f.baselineLabel ?? ''}`,
    ratioText(f),
    targetText(f),
    checkedText(f),
    metText(f),
  ]);
}

/** The table for the terminal. */
export function textTable(figures: readonly Figure[]): string {
  const all = [HEADERS, ...rows(figures)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.item} ${f.bench} / ${f.metric}: ${f.note}`);
  return [
    line(HEADERS),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows(figures).map(line),
    ...(notes.length ? ['', 'notes:', ...notes] : []),
  ].join('\n');
}

/** The table as Markdown. */
function markdownTable(figures: readonly Figure[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`];
  for (const r of rows(figures)) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One row per figure with a target: the checked quantity as a bar, the target as a line. */
function svgChart(figures: readonly Figure[], meta: RunMeta): string {
  const charted = figures.filter((f) => f.target !== undefined);
  const rowH = 30;
  const left = 440;
  const barW = 300;
  const width = left + barW + 250;
  const height = 60 + charted.length * rowH + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">spiffe-node benchmarks: each checked figure against its target (line)</text>`,
    `<text x="10" y="38" fill="#555">${xml(`${meta.date}, ${meta.machine}, Node ${meta.node}, load ${meta.load.before.toFixed(1)}→${meta.load.after.toFixed(1)}`)}</text>`,
  ];
  charted.forEach((f, i) => {
    const y = 52 + i * rowH;
    const t = f.target!;
    const value = f.checked ?? NaN;
    const scaleMax = Math.max(Number.isFinite(value) ? value : 0, t.value, 1e-9) * 1.25;
    const w = Number.isFinite(value) ? Math.max(1, (value / scaleMax) * barW) : 0;
    const color = f.met === undefined ? '#999' : f.met ? '#2e7d32' : '#c62828';
    const label = `${f.item} ${f.bench}: ${f.metric}${f.baselineLabel ? ` vs ${f.baselineLabel}` : ''}`;
    parts.push(`<text x="10" y="${y + 15}">${xml(label.length > 66 ? `${label.slice(0, 65)}…` : label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="16" fill="${color}" opacity="0.85"/>`);
    const gx = left + (t.value / scaleMax) * barW;
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${y}" x2="${gx.toFixed(1)}" y2="${y + 22}" stroke="black" stroke-width="2"/>`);
    const unit = t.on === 'ratio' ? '×' : ` ${f.unit}`;
    const what = t.on === 'ratio' ? 'ratio' : t.on === 'difference' ? 'diff' : 'value';
    parts.push(
      `<text x="${left + barW + 8}" y="${y + 15}">${xml(`${what} ${fmt(value)}${unit} (target ${t.op} ${fmt(t.value)}${unit})`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes results.json and chart.svg into outDir, and (unless told not to) copies them as results/latest.*. */
export function writeResults(
  outDir: string,
  figures: readonly Figure[],
  meta: RunMeta,
  extra: Record<string, unknown>,
  copyLatest = true,
): void {
  mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify({ meta, figures, ...extra }, null, 2);
  writeFileSync(join(outDir, 'results.json'), `${json}\n`);
  writeFileSync(join(outDir, 'chart.svg'), `${svgChart(figures, meta)}\n`);
  if (!copyLatest) return;
  const resultsDir = join(BENCH_DIR, 'results');
  copyFileSync(join(outDir, 'results.json'), join(resultsDir, 'latest.json'));
  copyFileSync(join(outDir, 'chart.svg'), join(resultsDir, 'latest.svg'));
}

/**
 * Replaces a generated section of README.md (between `<!-- <section>:start -->` and
 * `<!-- <section>:end -->`) with this run's table: `figures` for a full run, `lines` for a
 * comparison of Node.js lines (`--lines`).
 */
export function updateReadme(figures: readonly Figure[], meta: RunMeta, section: 'figures' | 'lines' = 'figures'): boolean {
  const START = `<!-- ${section}:start -->`;
  const END = `<!-- ${section}:end -->`;
  const file = join(BENCH_DIR, 'README.md');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  const generated = [
    START,
    '',
    `Run of ${meta.date} (commit ${meta.commit || 'unknown'}${section === 'lines' ? `; \`--only ${String(meta.options.only)} --lines ${String(meta.options.lineMajors)}\`` : ''}), ${meta.seconds.toFixed(0)} s: ${meta.machine}; Node ${meta.node}; ${meta.go}. ` +
      `1-minute load average ${meta.load.before.toFixed(1)} before, ${meta.load.after.toFixed(1)} after (the machine is shared: figures are noisy; ratios are medians of interleaved rounds).`,
    '',
    markdownTable(figures),
    '',
    ...figures.filter((f) => f.note).map((f) => `- ${f.item} ${f.bench} / ${f.metric}: ${f.note}`),
    '',
    END,
  ].join('\n');
  writeFileSync(file, text.slice(0, a) + generated + text.slice(b + END.length));
  return true;
}
