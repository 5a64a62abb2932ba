// Offline validation of Kubernetes manifests against the Kubernetes v1.36 OpenAPI schemas shipped
// by the npm package `kubernetes-models` (precompiled validators, one per resource kind):
//   1. the schema: types, required fields, enums (what the API server's OpenAPI validation checks);
//   2. unknown fields, which the API server rejects under kubectl's default `--validate=strict`
//      ("strict decoding error: unknown field"): the OpenAPI schemas allow extra properties, so
//      this is checked by the TypeScript compiler against the package's declarations (an object
//      literal with a property its type does not declare is an error), all documents in one
//      program;
//   3. the name and label rules the API server enforces beyond the schema (DNS-1123 names,
//      label syntax, port names).
// Custom resources are checked against JSON schemas written here from their CRDs (schemas/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { asRecord, type YamlDoc } from './yaml-docs.js';
import { rel } from './repo.js';

const modelsRoot = dirname(fileURLToPath(import.meta.resolve('kubernetes-models')));

export interface Manifest extends YamlDoc {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  body: Record<string, unknown>;
}

/** `file:line (Kind name)` for messages. */
export function where(m: Pick<Manifest, 'file' | 'line' | 'kind' | 'name'>): string {
  return `${rel(m.file)}:${m.line} (${m.kind} ${m.name})`;
}

/** A YAML document as a manifest when it has apiVersion, kind and metadata.name; else a reason. */
export function asManifest(doc: YamlDoc): Manifest | string {
  const body = asRecord(doc.value);
  if (!body) return 'not a mapping';
  const { apiVersion, kind } = body;
  const metadata = asRecord(body.metadata);
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return 'no apiVersion/kind';
  if (!metadata || typeof metadata.name !== 'string') return `${kind}: no metadata.name`;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  return { ...doc, apiVersion, kind, name: metadata.name, namespace, body };
}

/** The kubernetes-models module of a built-in kind, e.g. `apps/v1/Deployment`; undefined if unknown. */
export function builtInModule(apiVersion: string, kind: string): string | undefined {
  const groupVersion = apiVersion.includes('/') ? apiVersion : `v1`;
  if (!apiVersion.includes('/') && apiVersion !== 'v1') return undefined;
  const path = `${groupVersion}/${kind}`;
  return existsSync(join(modelsRoot, `${path}.js`)) ? path : undefined;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Schema errors of a built-in resource (empty when valid). */
export async function schemaErrors(m: Manifest): Promise<string[]> {
  const path = builtInModule(m.apiVersion, m.kind);
  if (!path) return [`no Kubernetes schema for ${m.apiVersion} ${m.kind}`];
  const mod = (await import(`kubernetes-models/${path}`)) as Record<string, ModelClass>;
  const Model = mod[m.kind];
  if (!Model) return [`kubernetes-models/${path} exports no ${m.kind}`];
  try {
    new Model(m.body).validate();
    return [];
  } catch (err) {
    return [(err instanceof Error ? err.message : String(err)).replace(/^data/, '')];
  }
}

/**
 * Unknown-field errors of built-in resources, found by type-checking each manifest as an object
 * literal of its kubernetes-models interface. Returns, per manifest index, the compiler's messages.
 */
export function unknownFieldErrors(manifests: Manifest[]): Map<number, string[]> {
  const lines: string[] = [];
  const owner: { start: number; index: number }[] = [];
  manifests.forEach((m, index) => {
    const path = builtInModule(m.apiVersion, m.kind);
    if (!path) return;
    const type = `I${m.kind}`;
    owner.push({ start: lines.length, index });
    lines.push(`import type { ${type} as T${index} } from 'kubernetes-models/${path}';`);
    lines.push(`export const m${index}: T${index} = ${JSON.stringify(m.body, null, 1)};`);
  });
  const result = new Map<number, string[]>();
  if (owner.length === 0) return result;
  // Each `export const` spans several lines; map a diagnostic's line back to its manifest.
  const text = lines.join('\n');
  const startLines: { line: number; index: number }[] = [];
  let line = 0;
  lines.forEach((chunk, i) => {
    const own = owner.find((o) => o.start === i);
    if (own) startLines.push({ line, index: own.index });
    line += chunk.split('\n').length;
  });
  const file = join(dirname(fileURLToPath(import.meta.url)), '__manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    skipLibCheck: true,
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file ? ts.createSourceFile(name, text, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? text : readFile(name));
  const program = ts.createProgram([file], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (!diagnostic.file || diagnostic.file.fileName !== file || diagnostic.start === undefined) {
      throw new Error(`type-checking the manifests failed outside them: ${message}`);
    }
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line;
    const owning = [...startLines].reverse().find((s) => s.line <= at);
    if (!owning) throw new Error(`diagnostic outside any manifest: ${message}`);
    const list = result.get(owning.index) ?? [];
    list.push(message);
    result.set(owning.index, list);
  }
  return result;
}

// --- rules the API server applies beyond the OpenAPI schema (k8s.io/apimachinery validation) ---

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ianaSvcName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function isDns1123Label(s: string): boolean {
  return s.length <= 63 && dns1123Label.test(s);
}
function isDns1035Label(s: string): boolean {
  return s.length <= 63 && dns1035Label.test(s);
}
function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && dns1123Subdomain.test(s);
}
/** A label or annotation key: optional DNS-subdomain prefix and '/', then a name of ≤ 63 characters. */
function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts.at(-1) ?? '';
  if (parts.length === 2 && !isDns1123Subdomain(parts[0] ?? '')) return false;
  return name.length <= 63 && labelName.test(name);
}
function isLabelValue(value: string): boolean {
  return value.length <= 63 && labelValue.test(value);
}
/** A container or service port name (IANA service name): ≤ 15 characters, at least one letter. */
function isPortName(name: string): boolean {
  return name.length <= 15 && ianaSvcName.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

/** The kinds whose metadata.name is a DNS-1123 label (or DNS-1035 for Services), not a subdomain. */
const labelNamedKinds: Record<string, (s: string) => boolean> = {
  Namespace: isDns1123Label,
  Service: isDns1035Label,
};

/** Name and label problems of a manifest, as the API server would report them. */
export function nameErrors(m: Manifest): string[] {
  const errors: string[] = [];
  const nameRule = labelNamedKinds[m.kind] ?? isDns1123Subdomain;
  if (!nameRule(m.name)) errors.push(`metadata.name "${m.name}" is not a valid ${m.kind} name`);
  if (m.namespace !== undefined && !isDns1123Label(m.namespace)) errors.push(`metadata.namespace "${m.namespace}" is not a DNS-1123 label`);
  const check = (labels: unknown, path: string): void => {
    for (const [key, value] of Object.entries(asRecord(labels) ?? {})) {
      if (!isQualifiedName(key)) errors.push(`${path} key "${key}" is not a qualified name`);
      if (typeof value !== 'string' || !isLabelValue(value))
        errors.push(`${path}["${key}"] value ${JSON.stringify(value)} is not a label value`);
    }
  };
  check(asRecord(m.body.metadata)?.labels, 'metadata.labels');
  for (const { path, pod } of podTemplates(m)) {
    check(asRecord(pod.metadata)?.labels, `${path}.metadata.labels`);
    for (const [i, c] of containersOf(pod).entries()) {
      if (typeof c.name !== 'string' || !isDns1123Label(c.name))
        errors.push(`${path}.spec.containers[${i}].name ${JSON.stringify(c.name)} is not a DNS-1123 label`);
      for (const port of (Array.isArray(c.ports) ? c.ports : []).map(asRecord)) {
        if (port && typeof port.name === 'string' && !isPortName(port.name))
          errors.push(`port name "${port.name}" is not an IANA service name (≤ 15 characters)`);
      }
    }
  }
  if (m.kind === 'Service') {
    for (const port of (Array.isArray(asRecord(m.body.spec)?.ports) ? (asRecord(m.body.spec)?.ports as unknown[]) : []).map(asRecord)) {
      if (port && typeof port.name === 'string' && !isPortName(port.name))
        errors.push(`port name "${port.name}" is not an IANA service name`);
    }
  }
  return errors;
}

export interface PodTemplate {
  /** e.g. `spec.template` */
  path: string;
  pod: Record<string, unknown>;
}

/** The pod templates of a workload resource (Pod itself, Deployment, Job, …). */
export function podTemplates(m: Manifest): PodTemplate[] {
  const spec = asRecord(m.body.spec);
  if (!spec) return [];
  if (m.kind === 'Pod') return [{ path: '', pod: m.body }];
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(m.kind)) {
    const template = asRecord(spec.template);
    return template ? [{ path: 'spec.template', pod: template }] : [];
  }
  if (m.kind === 'CronJob') {
    const template = asRecord(asRecord(asRecord(spec.jobTemplate)?.spec)?.template);
    return template ? [{ path: 'spec.jobTemplate.spec.template', pod: template }] : [];
  }
  return [];
}

export function containersOf(pod: Record<string, unknown>, withInit = false): Record<string, unknown>[] {
  const spec = asRecord(pod.spec) ?? {};
  const lists = withInit ? [spec.initContainers, spec.containers, spec.ephemeralContainers] : [spec.containers];
  return lists.flatMap((list) => (Array.isArray(list) ? list.map((c) => asRecord(c) ?? {}) : []));
}

/**
 * Violations of the restricted Pod Security Standard (policy version latest) by one pod template:
 * what a namespace labelled `pod-security.kubernetes.io/enforce: restricted` refuses.
 */
export function restrictedViolations(pod: Record<string, unknown>): string[] {
  const v: string[] = [];
  const spec = asRecord(pod.spec) ?? {};
  const podSc = asRecord(spec.securityContext) ?? {};
  if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true) v.push('host namespaces (hostNetwork/hostPID/hostIPC)');
  const allowedVolumes = new Set([
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'persistentVolumeClaim',
    'projected',
    'secret',
  ]);
  for (const vol of (Array.isArray(spec.volumes) ? spec.volumes : []).map((x) => asRecord(x) ?? {})) {
    const types = Object.keys(vol).filter((k) => k !== 'name');
    for (const t of types) if (!allowedVolumes.has(t)) v.push(`volume "${String(vol.name)}" of type ${t}`);
  }
  const seccomp = (sc: Record<string, unknown>): string | undefined => asRecord(sc.seccompProfile)?.type as string | undefined;
  for (const c of containersOf(pod, true)) {
    const name = String(c.name);
    const sc = asRecord(c.securityContext) ?? {};
    if (sc.privileged === true) v.push(`${name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${name}: allowPrivilegeEscalation must be false`);
    const caps = asRecord(sc.capabilities) ?? {};
    const drop = Array.isArray(caps.drop) ? caps.drop : [];
    if (!drop.includes('ALL')) v.push(`${name}: capabilities.drop must include ALL`);
    for (const cap of Array.isArray(caps.add) ? caps.add : [])
      if (cap !== 'NET_BIND_SERVICE') v.push(`${name}: adds capability ${String(cap)}`);
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (runAsNonRoot !== true) v.push(`${name}: runAsNonRoot must be true`);
    const runAsUser = sc.runAsUser ?? podSc.runAsUser;
    if (runAsUser === 0) v.push(`${name}: runAsUser 0`);
    const profile = seccomp(sc) ?? seccomp(podSc);
    if (profile !== 'RuntimeDefault' && profile !== 'Localhost') v.push(`${name}: seccompProfile.type must be RuntimeDefault or Localhost`);
    for (const p of Array.isArray(c.ports) ? c.ports : []) if (asRecord(p)?.hostPort) v.push(`${name}: hostPort`);
  }
  return v;
}

/** Env var value of a container (literal `value` only), or undefined. */
export function envOf(container: Record<string, unknown>, name: string): string | undefined {
  for (const e of Array.isArray(container.env) ? container.env : []) {
    const r = asRecord(e);
    if (r?.name === name && typeof r.value === 'string') return r.value;
  }
  return undefined;
}

/** True when every matchLabels pair of the selector is among the labels (matchExpressions: none here). */
export function matchLabels(selector: unknown, labels: Record<string, unknown>): boolean {
  const sel = asRecord(selector);
  if (!sel) return false;
  if (sel.matchExpressions !== undefined) throw new Error('matchExpressions selectors are not evaluated by these checks');
  return Object.entries(asRecord(sel.matchLabels) ?? {}).every(([k, v]) => labels[k] === v);
}
