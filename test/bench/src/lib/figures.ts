/** What a benchmark reports: figures, each with its baseline, ratio and target. */

export interface Target {
  op: '>=' | '<=';
  value: number;
  /** What the target is on: the ratio ours/baseline, the difference ours - baseline, or our value itself. */
  on: 'ratio' | 'difference' | 'value';
}

export interface Figure {
  /** The benchmark's id (`--only` name). */
  bench: string;
  /** The item of the brief it answers (1..8). */
  item: string;
  metric: string;
  unit: string;
  ours: number;
  oursLabel: string;
  baseline?: number;
  baselineLabel?: string;
  /** ours / baseline: the median of the per-round ratios where rounds were interleaved. */
  ratio?: number;
  /** Lowest and highest per-round ratio. */
  ratioRange?: [number, number];
  target?: Target;
  /** The quantity compared with the target. */
  checked?: number;
  met?: boolean;
  note?: string;
  /** Raw per-round data, for the JSON file. */
  detail?: unknown;
}

/** Fills in `checked` and `met` from the target. */
export function evaluate(figure: Figure): Figure {
  const t = figure.target;
  if (t === undefined) return figure;
  const checked =
    t.on === 'ratio' ? figure.ratio : t.on === 'difference' && figure.baseline !== undefined ? figure.ours - figure.baseline : figure.ours;
  if (checked === undefined || !Number.isFinite(checked)) return { ...figure, checked, met: undefined };
  const met = t.op === '>=' ? checked >= t.value : checked <= t.value;
  return { ...figure, checked, met };
}

/** A number with a sensible number of digits. */
export function fmt(value: number | undefined, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit === '' ? text : `${text} ${unit}`;
}

export function targetText(figure: Figure): string {
  const t = figure.target;
  if (t === undefined) return '—';
  const what = t.on === 'ratio' ? 'ratio' : t.on === 'difference' ? 'diff' : 'value';
  const unit = t.on === 'ratio' ? '' : ` ${figure.unit}`;
  return `${what} ${t.op} ${fmt(t.value)}${unit}`;
}

export function metText(figure: Figure): string {
  return figure.met === undefined ? (figure.target ? '?' : '') : figure.met ? 'yes' : 'NO';
}
