// Multi-document YAML, read the way the consumers read it. Kubernetes (sigs.k8s.io/yaml) and Docker
// Compose (compose-go) are Go YAML decoders: YAML 1.1 scalars for Kubernetes (`on`, `yes`, `0755`
// are a boolean and an octal number there), merge keys (`<<`) for both. A document whose meaning
// differs between YAML 1.1 and 1.2 is reported: quote the scalar.
import { isDeepStrictEqual } from 'node:util';
import { LineCounter, parseAllDocuments } from 'yaml';
import { read, rel } from './repo.js';

export interface YamlDoc {
  file: string;
  /** Position of the document in the file, from 0. */
  index: number;
  /** 1-based line where the document starts. */
  line: number;
  value: unknown;
}

export interface YamlFile {
  file: string;
  docs: YamlDoc[];
  /** Parse errors and warnings, each with file:line:col. Empty when the file is fine. */
  problems: string[];
}

/** Parses every document of a YAML file (empty documents, e.g. after a trailing `---`, are dropped). */
export function loadYaml(file: string, text: string = read(file)): YamlFile {
  const problems: string[] = [];
  const lineCounter = new LineCounter();
  const docs11 = parseAllDocuments(text, { version: '1.1', merge: true, uniqueKeys: true, lineCounter, prettyErrors: false });
  const docs12 = parseAllDocuments(text, { version: '1.2', merge: true, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs11) || !Array.isArray(docs12)) {
    return { file, docs: [], problems: [`${rel(file)}: not a YAML stream`] };
  }
  const docs: YamlDoc[] = [];
  docs11.forEach((doc, index) => {
    for (const issue of [...doc.errors, ...doc.warnings]) {
      const at = lineCounter.linePos(issue.pos[0]);
      problems.push(`${rel(file)}:${at.line}:${at.col}: ${issue.code}: ${issue.message.split('\n')[0]}`);
    }
    if (doc.errors.length > 0) return;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    const line = lineCounter.linePos(doc.contents?.range?.[0] ?? 0).line;
    if (value === null || value === undefined) return;
    const other: unknown = docs12[index]?.toJS({ maxAliasCount: 100 });
    if (!isDeepStrictEqual(value, other)) {
      problems.push(
        `${rel(file)}:${line}: document ${index} reads differently as YAML 1.1 and 1.2 ` +
          `(${firstDifference(value, other) ?? 'somewhere'}): quote the scalar`,
      );
    }
    docs.push({ file, index, line, value });
  });
  return { file, docs, problems };
}

/** JSON-pointer-like path of the first place where a and b differ. */
function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}/${key}`);
      if (found) return found;
    }
  }
  return `${path || '/'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** A plain object (a YAML mapping), or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
