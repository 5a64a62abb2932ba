/**
 * Reading a V8 CPU profile (`node --cpu-prof`): self time grouped by where the code lives (this
 * library, Node's own JS, dependencies, native work that no JS frame is on top of, GC), and the
 * functions with the most self time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  /** Self time per group, ms, largest first. */
  groups: Array<{ group: string; ms: number; share: number }>;
  /** Functions with the most self time. */
  top: Array<{ fn: string; where: string; group: string; ms: number; share: number }>;
}

/** Which group a frame's self time belongs to. */
function groupOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'native, no JS on the stack (OpenSSL handshake, libuv, V8)';
  if (functionName === '(idle)') return 'idle';
  if (url === '') return 'native called from JS';
  if (url.includes('/packages/spiffe/')) return 'ours (@spiffe-node/spiffe)';
  if (url.startsWith('node:')) return "Node's JS (tls, net, streams, events)";
  if (url.includes('/node_modules/')) return 'dependencies';
  return 'benchmark worker';
}

export function summarizeProfile(path: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const groups = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; group: string; us: number }>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const group = groupOf(url, functionName);
    if (group === 'idle') continue;
    busy += us;
    groups.set(group, (groups.get(group) ?? 0) + us);
    const where = url === '' ? '' : `${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName}|${where}`;
    const entry = fns.get(key) ?? { fn: functionName || '(anonymous)', where, group, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  return {
    busyMs: busy / 1000,
    groups: [...groups.entries()].map(([group, us]) => ({ group, ms: us / 1000, share: us / busy })).sort((a, b) => b.ms - a.ms),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ fn: f.fn, where: f.where, group: f.group, ms: f.us / 1000, share: f.us / busy })),
  };
}

export function formatProfile(title: string, summary: ProfileSummary, perUnit?: { count: number; unit: string }): string {
  const lines = [`${title}: ${summary.busyMs.toFixed(0)} ms busy`];
  const per = (ms: number): string => (perUnit ? `  ${((ms * 1000) / perUnit.count).toFixed(1).padStart(7)} µs/${perUnit.unit}` : '');
  for (const g of summary.groups)
    lines.push(`  ${(g.share * 100).toFixed(1).padStart(5)} %  ${g.ms.toFixed(0).padStart(6)} ms${per(g.ms)}  ${g.group}`);
  lines.push('  top self time:');
  for (const f of summary.top) {
    lines.push(`  ${(f.share * 100).toFixed(1).padStart(5)} %${per(f.ms)}  ${f.fn} ${f.where}`);
  }
  return lines.join('\n');
}
