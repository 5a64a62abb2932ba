// deploy/k8s without a cluster:
//   - every manifest against the Kubernetes v1.36 schemas (kubernetes-models), unknown fields
//     refused as kubectl's strict validation does, names and labels as the API server checks them;
//     ClusterSPIFFEID against a schema written from its CRD (schemas/cluster-spiffeid.schema.json);
//   - the restricted Pod Security Standard where a namespace enforces it;
//   - the wiring: every workload gets exactly one SPIFFE ID from a ClusterSPIFFEID of the
//     controller manager's class, mounts the CSI Workload API read-only where
//     SPIFFE_ENDPOINT_SOCKET points, and expects exactly the IDs of the workloads it talks to;
//     network policies let those connections through;
//   - the Helm values against the chart behaviour they rely on, register.sh against the manifests;
//   - the kustomization (and `kubectl kustomize` where kubectl is installed).
// Each checker is also shown to refuse a broken copy.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  asManifest,
  builtInModule,
  containersOf,
  envOf,
  matchLabels,
  nameErrors,
  podTemplates,
  restrictedViolations,
  schemaErrors,
  unknownFieldErrors,
  where,
  type Manifest,
} from './lib/kubernetes.js';
import { formatErrors, localSchema } from './lib/json-schema.js';
import { deployDir, describeRun, kubectlBinary, read, rel, repoRoot, run, walk } from './lib/repo.js';
import { pinnedSpireVersion } from './lib/spire.js';
import { dialsOf, listenPortOf, renderSpiffeIdTemplate, shellArray, shellDefaults } from './lib/wiring.js';
import { asRecord, loadYaml } from './lib/yaml-docs.js';

const k8sDir = join(deployDir, 'k8s');
const appsDir = join(k8sDir, 'apps');
const spireValuesFile = join(k8sDir, 'spire', 'spire-values.yaml');
const crdsValuesFile = join(k8sDir, 'spire', 'spire-crds-values.yaml');
const federationValuesFile = join(k8sDir, 'spire', 'spire-federation-values.yaml');
const federationDir = join(k8sDir, 'federation');
const registerScript = join(k8sDir, 'register.sh');

const yamlFiles = walk(k8sDir, (p) => p.endsWith('.yaml') || p.endsWith('.yml'));
const isKustomization = (p: string): boolean => /\/kustomization\.ya?ml$/.test(p);
const isHelmValues = (p: string): boolean => /values\.ya?ml$/.test(p);
const manifestFiles = yamlFiles.filter((p) => !isKustomization(p) && !isHelmValues(p));

/** Parse problems and documents that are not manifests, per file. */
const loadProblems = new Map<string, string[]>();

function loadManifests(files: string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const file of files) {
    const parsed = loadYaml(file);
    const list = [...parsed.problems];
    for (const doc of parsed.docs) {
      const m = asManifest(doc);
      if (typeof m === 'string') list.push(`${rel(file)}:${doc.line}: not a Kubernetes manifest (${m})`);
      else out.push(m);
    }
    loadProblems.set(file, list);
  }
  return out;
}

const clusterSpiffeIdSchema = localSchema('cluster-spiffeid.schema.json');
const clusterFederatedTrustDomainSchema = localSchema('cluster-federated-trust-domain.schema.json');
const customSchemas: Record<string, (m: Manifest) => string[]> = {
  'spire.spiffe.io/v1alpha1/ClusterSPIFFEID': (m) => (clusterSpiffeIdSchema(m.body) ? [] : formatErrors(clusterSpiffeIdSchema.errors)),
  'spire.spiffe.io/v1alpha1/ClusterFederatedTrustDomain': (m) =>
    clusterFederatedTrustDomainSchema(m.body) ? [] : formatErrors(clusterFederatedTrustDomainSchema.errors),
};

/** Every problem of a set of manifests: schema, unknown fields, names. Keyed by manifest index. */
async function manifestProblems(manifests: Manifest[]): Promise<Map<number, string[]>> {
  const unknown = unknownFieldErrors(manifests);
  const problems = new Map<number, string[]>();
  for (const [index, m] of manifests.entries()) {
    const list: string[] = [];
    const custom = customSchemas[`${m.apiVersion}/${m.kind}`];
    if (custom) list.push(...custom(m));
    else if (builtInModule(m.apiVersion, m.kind)) list.push(...(await schemaErrors(m)), ...(unknown.get(index) ?? []));
    else list.push(`no schema for ${m.apiVersion} ${m.kind}: add one to test/deploy/schemas (written from its CRD) and to customSchemas`);
    list.push(...nameErrors(m));
    if (list.length > 0) problems.set(index, list);
  }
  return problems;
}

let manifests: Manifest[] = [];
let problems = new Map<number, string[]>();
const values = asRecord(loadYaml(spireValuesFile).docs[0]?.value) ?? {};
const dig = (obj: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => asRecord(o)?.[k], obj);

// Broken copies of real manifests, one defect each: the checker must report each defect.
const deployment = (): Manifest =>
  structuredClone(manifests.find((m) => m.kind === 'Deployment' && m.name === 'mtls-echo-server') as Manifest);
const clusterSpiffeId = (): Manifest => structuredClone(manifests.find((m) => m.kind === 'ClusterSPIFFEID') as Manifest);
const service = (): Manifest => structuredClone(manifests.find((m) => m.kind === 'Service') as Manifest);
const federatedTrustDomain = (): Manifest => structuredClone(manifests.find((m) => m.kind === 'ClusterFederatedTrustDomain') as Manifest);
const profileOf = (m: Manifest): Record<string, unknown> => asRecord(asRecord(m.body.spec)?.bundleEndpointProfile) ?? {};
const container = (m: Manifest): Record<string, unknown> => containersOf(podTemplates(m)[0]?.pod ?? {})[0] ?? {};
const brokenCases: { what: string; make: () => Manifest; expect: RegExp }[] = [
  {
    what: 'a misspelt container field (volumeMount)',
    make: () => {
      const m = deployment();
      const c = container(m);
      c.volumeMount = c.volumeMounts;
      delete c.volumeMounts;
      return m;
    },
    expect: /'"?volumeMount"?' does not exist in type/,
  },
  {
    what: 'a port number as a string',
    make: () => {
      const m = deployment();
      (container(m).ports as Record<string, unknown>[])[0]!.containerPort = '55555';
      return m;
    },
    expect: /containerPort must be integer/,
  },
  {
    what: 'a container without a name',
    make: () => {
      const m = deployment();
      delete container(m).name;
      return m;
    },
    expect: /must have required property '?name'?/,
  },
  {
    what: 'an imagePullPolicy that is not one of the enum',
    make: () => {
      const m = deployment();
      container(m).imagePullPolicy = 'Sometimes';
      return m;
    },
    expect: /must be equal to one of the allowed values|imagePullPolicy/,
  },
  {
    what: 'a name with upper-case letters',
    make: () => {
      const m = deployment();
      m.name = 'MtlsEchoServer';
      (m.body.metadata as Record<string, unknown>).name = 'MtlsEchoServer';
      return m;
    },
    expect: /metadata\.name "MtlsEchoServer" is not a valid Deployment name/,
  },
  {
    what: 'a Service port name longer than 15 characters',
    make: () => {
      const m = service();
      ((m.body.spec as Record<string, unknown>).ports as Record<string, unknown>[])[0]!.name = 'mutual-tls-listener';
      return m;
    },
    expect: /port name "mutual-tls-listener" is not an IANA service name/,
  },
  {
    what: 'a ClusterSPIFFEID with a namespace (it is cluster-scoped)',
    make: () => {
      const m = clusterSpiffeId();
      (m.body.metadata as Record<string, unknown>).namespace = 'spiffe-demo';
      return m;
    },
    expect: /\/metadata must NOT have additional properties \(namespace\)/,
  },
  {
    what: 'a ClusterSPIFFEID with a misspelt spec field (spiffeIdTemplate)',
    make: () => {
      const m = clusterSpiffeId();
      const spec = m.body.spec as Record<string, unknown>;
      spec.spiffeIdTemplate = spec.spiffeIDTemplate;
      delete spec.spiffeIDTemplate;
      return m;
    },
    expect: /must have required property '?spiffeIDTemplate'?/,
  },
  {
    what: 'a ClusterFederatedTrustDomain with https_spiffe but no endpointSPIFFEID',
    make: () => {
      const m = federatedTrustDomain();
      delete profileOf(m).endpointSPIFFEID;
      return m;
    },
    expect: /\/spec\/bundleEndpointProfile must have required property '?endpointSPIFFEID'?/,
  },
  {
    what: 'a ClusterFederatedTrustDomain with a plain-http bundle endpoint',
    make: () => {
      const m = federatedTrustDomain();
      (m.body.spec as Record<string, unknown>).bundleEndpointURL = 'http://spire-server-federation.partner.org';
      return m;
    },
    expect: /\/spec\/bundleEndpointURL must match pattern/,
  },
  {
    what: 'a ClusterFederatedTrustDomain with a profile that does not exist',
    make: () => {
      const m = federatedTrustDomain();
      profileOf(m).type = 'https_mtls';
      return m;
    },
    expect: /\/spec\/bundleEndpointProfile\/type must be equal to one of the allowed values/,
  },
  {
    what: 'a ClusterFederatedTrustDomain with an upper-case trust domain',
    make: () => {
      const m = federatedTrustDomain();
      (m.body.spec as Record<string, unknown>).trustDomain = 'Partner.Org';
      return m;
    },
    expect: /\/spec\/trustDomain must match pattern/,
  },
  {
    what: 'a kind nobody wrote a schema for',
    make: () => ({ ...clusterSpiffeId(), apiVersion: 'example.com/v1', kind: 'Widget' }),
    expect: /no schema for example\.com\/v1 Widget/,
  },
];
let brokenProblems = new Map<number, string[]>();

before(async () => {
  manifests = loadManifests(manifestFiles);
  // One type-checking program for the real manifests and the broken copies together.
  const broken = brokenCases.map((c) => c.make());
  const all = await manifestProblems([...manifests, ...broken]);
  problems = new Map([...all].filter(([i]) => i < manifests.length));
  brokenProblems = new Map([...all].filter(([i]) => i >= manifests.length).map(([i, list]) => [i - manifests.length, list]));
});

test('deploy/k8s has the manifests of the example workloads', () => {
  const kinds = new Set(manifests.map((m) => `${m.kind}/${m.name}`));
  for (const expected of [
    'Namespace/spiffe-demo',
    'ClusterSPIFFEID/spiffe-node-mtls-echo',
    'ClusterFederatedTrustDomain/partner-org',
    'ClusterSPIFFEID/spiffe-node-federated',
    'Deployment/mtls-echo-server',
    'Service/mtls-echo-server',
    'Job/mtls-echo-client',
    'Deployment/https-mtls-server',
    'Job/https-mtls-client',
    'Deployment/jwt-server',
    'Deployment/jwt-proxy',
    'Job/jwt-client',
  ]) {
    assert.ok(kinds.has(expected), `${expected} missing`);
  }
});

describe('every manifest validates against the Kubernetes schemas (offline)', () => {
  for (const file of manifestFiles) {
    test(rel(file), () => {
      assert.deepEqual(loadProblems.get(file), []);
      const mine = manifests.map((m, i) => ({ m, i })).filter(({ m }) => m.file === file);
      assert.ok(mine.length > 0);
      const report = mine.flatMap(({ m, i }) => (problems.get(i) ?? []).map((p) => `${where(m)}: ${p}`));
      assert.deepEqual(report, []);
    });
  }
});

describe('the manifest checker refuses broken manifests', () => {
  for (const [i, c] of brokenCases.entries()) {
    test(c.what, () => {
      const mine = brokenProblems.get(i) ?? [];
      assert.ok(
        mine.some((p) => c.expect.test(p)),
        `expected ${c.expect}, got ${JSON.stringify(mine)}`,
      );
    });
  }
});

// --- Pod Security -------------------------------------------------------------------------------

function namespaceLabels(name: string): Record<string, unknown> {
  const ns = manifests.find((m) => m.kind === 'Namespace' && m.name === name);
  return { ...(asRecord(asRecord(ns?.body.metadata)?.labels) ?? {}), 'kubernetes.io/metadata.name': name };
}

describe('pods meet the Pod Security Standard their namespace enforces', () => {
  test('the workloads namespace enforces "restricted"', () => {
    assert.equal(namespaceLabels('spiffe-demo')['pod-security.kubernetes.io/enforce'], 'restricted');
  });
  for (const file of manifestFiles) {
    test(rel(file), () => {
      const report: string[] = [];
      for (const m of manifests.filter((x) => x.file === file)) {
        const level = m.namespace ? namespaceLabels(m.namespace)['pod-security.kubernetes.io/enforce'] : undefined;
        if (level !== 'restricted') continue;
        for (const { pod } of podTemplates(m)) report.push(...restrictedViolations(pod).map((v) => `${where(m)}: ${v}`));
      }
      assert.deepEqual(report, []);
    });
  }
  test('the checker refuses a container that keeps its capabilities and may escalate', () => {
    const m = structuredClone(manifests.find((x) => x.kind === 'Deployment') as Manifest);
    const c = containersOf(podTemplates(m)[0]?.pod ?? {})[0] ?? {};
    c.securityContext = { readOnlyRootFilesystem: true };
    const violations = restrictedViolations(podTemplates(m)[0]?.pod ?? {});
    assert.ok(
      violations.some((v) => /allowPrivilegeEscalation must be false/.test(v)),
      JSON.stringify(violations),
    );
    assert.ok(
      violations.some((v) => /capabilities\.drop must include ALL/.test(v)),
      JSON.stringify(violations),
    );
  });
});

// --- identities and wiring ----------------------------------------------------------------------

interface Workload {
  m: Manifest;
  namespace: string;
  serviceAccount: string;
  labels: Record<string, unknown>;
  pod: Record<string, unknown>;
  containers: Record<string, unknown>[];
}

/** The workloads of every manifest under deploy/k8s. */
function allWorkloads(): Workload[] {
  return manifests.flatMap((m) =>
    podTemplates(m).map(({ pod }) => ({
      m,
      namespace: m.namespace ?? 'default',
      serviceAccount: String(asRecord(pod.spec)?.serviceAccountName ?? 'default'),
      labels: asRecord(asRecord(pod.metadata)?.labels) ?? {},
      pod,
      containers: containersOf(pod),
    })),
  );
}

/** The workloads of deploy/k8s/apps, whose wiring this suite checks (other folders have their own). */
function workloads(): Workload[] {
  return allWorkloads().filter((w) => w.m.file.startsWith(`${appsDir}/`));
}

const trustDomain = String(dig(values, 'global', 'spire', 'trustDomain'));
const className = String(dig(values, 'spire-server', 'controllerManager', 'className'));

/** The ClusterSPIFFEIDs (of the controller manager's class) that select a workload. */
function selectingIds(w: Workload): Manifest[] {
  return manifests.filter((m) => {
    if (m.kind !== 'ClusterSPIFFEID') return false;
    const spec = asRecord(m.body.spec) ?? {};
    if (spec.className !== className) return false;
    return matchLabels(spec.namespaceSelector ?? {}, namespaceLabels(w.namespace)) && matchLabels(spec.podSelector ?? {}, w.labels);
  });
}

function idOf(w: Workload): string {
  const [cr] = selectingIds(w);
  if (!cr) throw new Error(`${where(w.m)} has no ClusterSPIFFEID`);
  return renderSpiffeIdTemplate(String(asRecord(cr.body.spec)?.spiffeIDTemplate), {
    trustDomain,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
  });
}

function envMap(c: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const e of Array.isArray(c.env) ? c.env : []) {
    const r = asRecord(e);
    if (typeof r?.name === 'string') out[r.name] = typeof r.value === 'string' ? r.value : undefined;
  }
  return out;
}

/** The workload a host:port in namespace ns reaches through a Service, with the container port. */
function resolveDial(ns: string, host: string, port: number): { target: Workload; containerPort: number } | string {
  const [svcName, svcNs = ns] = host.replace(/\.svc(\.cluster\.local)?$/, '').split('.');
  const svc = manifests.find((m) => m.kind === 'Service' && m.name === svcName && m.namespace === svcNs);
  if (!svc) return `no Service ${svcName} in ${svcNs}`;
  const spec = asRecord(svc.body.spec) ?? {};
  const svcPort = (Array.isArray(spec.ports) ? spec.ports : []).map(asRecord).find((p) => p?.port === port);
  if (!svcPort) return `Service ${svcName} has no port ${port}`;
  const targets = allWorkloads().filter(
    (w) => w.namespace === svcNs && w.m.kind !== 'Job' && matchLabels({ matchLabels: spec.selector }, w.labels),
  );
  if (targets.length !== 1) return `Service ${svcName} selects ${targets.length} workloads, not 1`;
  const target = targets[0] as Workload;
  const targetPort = svcPort.targetPort ?? port;
  for (const c of target.containers) {
    for (const p of (Array.isArray(c.ports) ? c.ports : []).map(asRecord)) {
      if (p && (p.name === targetPort || p.containerPort === targetPort)) return { target, containerPort: Number(p.containerPort) };
    }
  }
  return `Service ${svcName} targetPort ${String(targetPort)} matches no container port of ${target.m.name}`;
}

describe('every workload has its own identity and expects exactly its peers', () => {
  test('the ClusterSPIFFEIDs use the class the Helm values give the controller manager', () => {
    const crs = manifests.filter((m) => m.kind === 'ClusterSPIFFEID');
    assert.ok(crs.length > 0);
    for (const cr of crs) assert.equal(asRecord(cr.body.spec)?.className, className, `${where(cr)}: className`);
  });

  test('each workload is selected by exactly one ClusterSPIFFEID and has its own service account', () => {
    const seen = new Map<string, string>();
    for (const w of workloads()) {
      const ids = selectingIds(w);
      assert.equal(ids.length, 1, `${where(w.m)} is selected by ${ids.map((c) => c.name).join(', ') || 'no ClusterSPIFFEID'}`);
      const sa = manifests.find((m) => m.kind === 'ServiceAccount' && m.name === w.serviceAccount && m.namespace === w.namespace);
      assert.ok(sa, `${where(w.m)}: ServiceAccount ${w.serviceAccount} is not defined`);
      const key = `${w.namespace}/${w.serviceAccount}`;
      assert.ok(!seen.has(key), `${where(w.m)} shares service account ${key} (so its SPIFFE ID) with ${seen.get(key)}`);
      seen.set(key, w.m.name);
      assert.equal(asRecord(w.pod.spec)?.automountServiceAccountToken, false, `${where(w.m)}: the app needs no Kubernetes API token`);
      assert.match(idOf(w), new RegExp(`^spiffe://${trustDomain.replace(/\./g, '\\.')}/ns/${w.namespace}/sa/${w.serviceAccount}$`));
    }
  });

  test('each container reads the Workload API from a read-only csi.spiffe.io volume', () => {
    for (const w of workloads()) {
      const volumes = (Array.isArray(asRecord(w.pod.spec)?.volumes) ? (asRecord(w.pod.spec)?.volumes as unknown[]) : []).map(
        (v) => asRecord(v) ?? {},
      );
      for (const c of w.containers) {
        const socket = envOf(c, 'SPIFFE_ENDPOINT_SOCKET');
        assert.ok(socket, `${where(w.m)} container ${String(c.name)}: no SPIFFE_ENDPOINT_SOCKET`);
        const m = /^unix:\/\/(\/.+)\/spire-agent\.sock$/.exec(socket);
        assert.ok(m, `${where(w.m)}: SPIFFE_ENDPOINT_SOCKET ${socket} is not unix://<dir>/spire-agent.sock`);
        const mount = (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).map(asRecord).find((v) => v?.mountPath === m[1]);
        assert.ok(mount, `${where(w.m)}: nothing is mounted at ${m[1]}`);
        assert.equal(mount.readOnly, true, `${where(w.m)}: the Workload API mount must be read-only`);
        const volume = volumes.find((v) => v.name === mount.name);
        const csi = asRecord(volume?.csi);
        assert.equal(csi?.driver, 'csi.spiffe.io', `${where(w.m)}: volume ${String(mount.name)} is not a csi.spiffe.io volume`);
        assert.equal(csi?.readOnly, true, `${where(w.m)}: the CSI volume must be readOnly`);
      }
    }
  });

  test("whoever dials a server expects its ID, and the server expects the dialer's", () => {
    let dialCount = 0;
    const clientIdsUsed = new Set<string>();
    for (const w of workloads()) {
      for (const c of w.containers) {
        const env = envMap(c);
        for (const dial of dialsOf(env)) {
          dialCount++;
          const resolved = resolveDial(w.namespace, dial.host, dial.port);
          assert.ok(typeof resolved !== 'string', `${where(w.m)}: ${dial.variable} ${dial.host}:${dial.port}: ${String(resolved)}`);
          const { target, containerPort } = resolved;
          const targetContainer = target.containers.find((tc) =>
            (Array.isArray(tc.ports) ? tc.ports : []).some((p) => asRecord(p)?.containerPort === containerPort),
          );
          assert.equal(
            listenPortOf(envMap(targetContainer ?? {})),
            containerPort,
            `${where(target.m)} does not listen on ${containerPort}`,
          );
          assert.equal(
            env.SERVER_SPIFFE_ID,
            idOf(target),
            `${where(w.m)} dials ${target.m.name} (${dial.variable}) but expects another ID`,
          );
          const clientId = envMap(targetContainer ?? {}).CLIENT_SPIFFE_ID;
          if (clientId !== undefined) {
            assert.equal(clientId, idOf(w), `${where(target.m)} authorizes ${clientId}, but ${w.m.name} (${idOf(w)}) dials it`);
            clientIdsUsed.add(`${target.m.name}:${clientId}`);
          }
        }
      }
    }
    assert.ok(dialCount >= 4, `only ${dialCount} connections found`);
    for (const w of workloads()) {
      for (const c of w.containers) {
        const clientId = envMap(c).CLIENT_SPIFFE_ID;
        if (clientId)
          assert.ok(clientIdsUsed.has(`${w.m.name}:${clientId}`), `${where(w.m)} authorizes ${clientId}, which no workload here has`);
      }
    }
  });

  test("a JWT audience is the server's own ID and some client asks for it", () => {
    const args = workloads().flatMap((w) =>
      w.containers.flatMap((c) => [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])]),
    );
    let audiences = 0;
    for (const w of workloads()) {
      for (const c of w.containers) {
        const audience = envOf(c, 'JWT_AUDIENCE');
        if (audience === undefined) continue;
        audiences++;
        assert.equal(audience, idOf(w), `${where(w.m)}: JWT_AUDIENCE`);
        assert.ok(args.includes(audience), `no client asks for a JWT-SVID for ${audience}`);
      }
    }
    assert.ok(audiences > 0);
  });

  test('network policies let exactly these connections in', () => {
    for (const w of workloads()) {
      for (const c of w.containers) {
        for (const dial of dialsOf(envMap(c))) {
          const resolved = resolveDial(w.namespace, dial.host, dial.port);
          if (typeof resolved === 'string') assert.fail(resolved);
          const { target, containerPort } = resolved;
          const policies = manifests.filter(
            (m) =>
              m.kind === 'NetworkPolicy' &&
              m.namespace === target.namespace &&
              matchLabels(asRecord(m.body.spec)?.podSelector ?? {}, target.labels),
          );
          const allows = policies.some((p) =>
            (Array.isArray(asRecord(p.body.spec)?.ingress) ? (asRecord(p.body.spec)?.ingress as unknown[]) : []).some((rule) => {
              const r = asRecord(rule) ?? {};
              const fromOk = (Array.isArray(r.from) ? r.from : []).some((f) => matchLabels(asRecord(f)?.podSelector ?? {}, w.labels));
              const portOk = (Array.isArray(r.ports) ? r.ports : []).some((pp) => asRecord(pp)?.port === containerPort);
              return fromOk && portOk;
            }),
          );
          assert.ok(allows, `no NetworkPolicy lets ${w.m.name} reach ${target.m.name}:${containerPort}`);
        }
      }
    }
    const defaultDeny = manifests.find(
      (m) =>
        m.kind === 'NetworkPolicy' &&
        Object.keys(asRecord(asRecord(m.body.spec)?.podSelector) ?? {}).length === 0 &&
        asRecord(m.body.spec)?.ingress === undefined,
    );
    assert.ok(defaultDeny, 'no default-deny ingress policy');
  });
});

// --- Helm values ------------------------------------------------------------------------------

describe('the Helm values', () => {
  test('trust domain, SPIRE version and CSI driver are those of the manifests', () => {
    assert.equal(trustDomain, 'example.org');
    const version = pinnedSpireVersion();
    assert.equal(dig(values, 'spire-server', 'image', 'tag'), version, 'spire-server image tag');
    assert.equal(dig(values, 'spire-agent', 'image', 'tag'), version, 'spire-agent image tag');
    assert.equal(dig(values, 'spiffe-csi-driver', 'enabled'), true, 'the SPIFFE CSI driver must be enabled');
    assert.equal(dig(values, 'spiffe-csi-driver', 'pluginName') ?? 'csi.spiffe.io', 'csi.spiffe.io');
    assert.equal(dig(values, 'spire-server', 'controllerManager', 'enabled') ?? true, true);
  });

  test("no catch-all identity: the chart's default ClusterSPIFFEID is off", () => {
    assert.equal(dig(values, 'spire-server', 'controllerManager', 'identities', 'clusterSPIFFEIDs', 'default', 'enabled'), false);
    assert.notEqual(
      dig(values, 'spire-server', 'controllerManager', 'watchClassless'),
      true,
      'watchClassless would also reconcile resources of no class',
    );
  });

  test('the chart installs with them: strict mode would refuse the placeholder trust domain', () => {
    // The chart fails the install ("trustDomain must be set") when strict mode is on (it is, with
    // recommendations.enabled, unless recommendations.strictMode is false) and trustDomain is example.org.
    const recommended = dig(values, 'global', 'spire', 'recommendations', 'enabled') === true;
    const strict =
      dig(values, 'global', 'spire', 'strictMode') === true ||
      (recommended && dig(values, 'global', 'spire', 'recommendations', 'strictMode') !== false);
    assert.ok(!(strict && trustDomain === 'example.org'), 'strict mode with trustDomain example.org: helm install fails');
    assert.ok(
      !(strict && dig(values, 'global', 'spire', 'clusterName') === 'example-cluster'),
      'strict mode with the placeholder clusterName',
    );
  });

  test('spire-crds keeps the CRDs on uninstall', () => {
    const crds = asRecord(loadYaml(crdsValuesFile).docs[0]?.value) ?? {};
    assert.equal(dig(crds, 'annotations', 'helm.sh/resource-policy'), 'keep');
  });
});

// --- federation -----------------------------------------------------------------------------------

describe('federation with partner.org (deploy/k8s/federation, spire-federation-values.yaml)', () => {
  const federationValues = asRecord(loadYaml(federationValuesFile).docs[0]?.value) ?? {};
  const trustDomains = (): Manifest[] => manifests.filter((m) => m.kind === 'ClusterFederatedTrustDomain');

  test("the Helm values turn on the server's bundle endpoint, served by SPIRE (https_spiffe) and passed through the ingress", () => {
    const federation = dig(federationValues, 'spire-server', 'federation');
    assert.equal(dig(federation, 'enabled'), true, 'spire-server.federation.enabled');
    assert.equal(dig(federation, 'tls', 'spire', 'enabled'), true, "https_spiffe: the endpoint presents the server's SVID");
    for (const other of ['externalSecret', 'certManager'])
      assert.notEqual(dig(federation, 'tls', other, 'enabled'), true, `tls.${other} would replace the SVID with a Web PKI certificate`);
    assert.equal(dig(federation, 'ingress', 'enabled'), true, 'spire-server.federation.ingress.enabled');
    // An ingress that terminated TLS would present its own certificate, not spiffe://<td>/spire/server.
    assert.equal(dig(federation, 'ingress', 'annotations', 'nginx.ingress.kubernetes.io/ssl-passthrough'), 'true');
    assert.equal(typeof dig(federation, 'bundleEndpoint', 'port'), 'number');
    // The values file only adds federation: everything else stays in spire-values.yaml.
    assert.deepEqual(Object.keys(federationValues), ['spire-server']);
    assert.deepEqual(Object.keys(asRecord(federationValues['spire-server']) ?? {}), ['federation']);
  });

  test("each ClusterFederatedTrustDomain is reconciled by the controller manager and names the partner's server", () => {
    assert.ok(trustDomains().length > 0, 'no ClusterFederatedTrustDomain');
    for (const m of trustDomains()) {
      const spec = asRecord(m.body.spec) ?? {};
      assert.equal(spec.className, className, `${where(m)}: className (the controller manager ignores other classes)`);
      assert.notEqual(spec.trustDomain, trustDomain, `${where(m)}: a trust domain does not federate with itself`);
      assert.equal(profileOf(m).type, 'https_spiffe');
      assert.equal(
        profileOf(m).endpointSPIFFEID,
        `spiffe://${String(spec.trustDomain)}/spire/server`,
        `${where(m)}: the partner's SPIRE server ID`,
      );
      // The host the partner's chart gives its federation ingress with these same values.
      const host = String(dig(federationValues, 'spire-server', 'federation', 'ingress', 'host'));
      assert.equal(spec.bundleEndpointURL, `https://${host}.${String(spec.trustDomain)}`, `${where(m)}: bundleEndpointURL`);
    }
  });

  test('every trust domain a ClusterSPIFFEID federates with has a ClusterFederatedTrustDomain', () => {
    const known = new Set(trustDomains().map((m) => String(asRecord(m.body.spec)?.trustDomain)));
    const federating = manifests.filter((m) => m.kind === 'ClusterSPIFFEID' && Array.isArray(asRecord(m.body.spec)?.federatesWith));
    assert.ok(federating.length > 0, 'no ClusterSPIFFEID federates with anyone');
    for (const m of federating) {
      for (const td of asRecord(m.body.spec)?.federatesWith as unknown[])
        assert.ok(known.has(String(td)), `${where(m)} federates with ${String(td)}, which no ClusterFederatedTrustDomain defines`);
    }
  });

  test('the federated ClusterSPIFFEID selects no example app (each keeps exactly one identity) and its namespace exists', () => {
    for (const m of manifests.filter((x) => x.kind === 'ClusterSPIFFEID' && x.file.startsWith(`${federationDir}/`))) {
      const spec = asRecord(m.body.spec) ?? {};
      assert.equal(spec.className, className);
      for (const w of workloads()) assert.ok(!selectingIds(w).includes(m), `${where(m)} also selects ${where(w.m)}`);
      const ns = String(asRecord(asRecord(spec.namespaceSelector)?.matchLabels)?.['kubernetes.io/metadata.name']);
      assert.ok(
        manifests.some((x) => x.kind === 'Namespace' && x.name === ns),
        `${where(m)}: no Namespace ${ns}`,
      );
    }
  });

  test('its kustomization lists every manifest of its folder', () => {
    const kustomization = asRecord(loadYaml(join(federationDir, 'kustomization.yaml')).docs[0]?.value) ?? {};
    const validateKustomization = localSchema('kustomization.schema.json');
    assert.ok(validateKustomization(kustomization), formatErrors(validateKustomization.errors).join('\n'));
    const present = manifestFiles
      .filter((p) => p.startsWith(`${federationDir}/`))
      .map((p) => p.slice(federationDir.length + 1))
      .sort();
    assert.deepEqual((kustomization.resources as string[]).slice().sort(), present);
    assert.equal(kustomization.namespace, undefined, 'a kustomize namespace would also be set on the cluster-scoped resources');
  });
});

// --- register.sh (the script alternative) ----------------------------------------------------

describe('deploy/k8s/register.sh registers the same identities as the ClusterSPIFFEIDs', () => {
  const script = read(registerScript);
  const defaults = shellDefaults(script);

  test('its workloads are the service accounts of the manifests', () => {
    const fromManifests = workloads()
      .map((w) => w.serviceAccount)
      .sort();
    assert.deepEqual([...shellArray(script, 'workloads')].sort(), fromManifests);
  });

  test('its defaults are those of the Helm values and the manifests', () => {
    assert.equal(defaults.TRUST_DOMAIN, trustDomain);
    assert.equal(defaults.CLUSTER_NAME, dig(values, 'global', 'spire', 'clusterName'));
    const namespaceLayout =
      dig(values, 'global', 'spire', 'recommendations', 'enabled') === true &&
      dig(values, 'global', 'spire', 'recommendations', 'namespaceLayout') !== false;
    assert.ok(namespaceLayout, 'the values put the agent in spire-system and the server in spire-server');
    assert.equal(defaults.AGENT_NAMESPACE, 'spire-system');
    assert.equal(defaults.AGENT_SERVICE_ACCOUNT, 'spire-agent');
    assert.match(defaults.SPIRE_SERVER ?? '', /-n spire-server spire-server-0 -c spire-server -- \/opt\/spire\/bin\/spire-server$/);
    assert.deepEqual([...new Set(workloads().map((w) => w.namespace))], [defaults.APP_NAMESPACE]);
  });

  test('the IDs it creates are the ones the template renders', () => {
    for (const w of workloads()) {
      const scripted = `spiffe://${defaults.TRUST_DOMAIN}/ns/${defaults.APP_NAMESPACE}/sa/${w.serviceAccount}`;
      assert.equal(scripted, idOf(w), where(w.m));
    }
  });
});

// --- kustomization -------------------------------------------------------------------------------

describe('the kustomization', () => {
  const file = join(appsDir, 'kustomization.yaml');
  const kustomization = asRecord(loadYaml(file).docs[0]?.value) ?? {};
  const validateKustomization = localSchema('kustomization.schema.json');

  test('matches its schema and lists every manifest of its folder', () => {
    assert.ok(validateKustomization(kustomization), formatErrors(validateKustomization.errors).join('\n'));
    const listed = (kustomization.resources as string[]).slice().sort();
    const present = manifestFiles
      .filter((p) => p.startsWith(`${appsDir}/`))
      .map((p) => p.slice(appsDir.length + 1))
      .sort();
    assert.deepEqual(listed, present);
    assert.equal(kustomization.namespace, undefined, 'a kustomize namespace would also be set on cluster-scoped ClusterSPIFFEIDs');
  });

  test('its schema refuses a misspelt field', () => {
    assert.equal(validateKustomization({ ...kustomization, resource: [] }), false);
    assert.match(formatErrors(validateKustomization.errors).join('\n'), /additional properties \(resource\)/);
  });

  const kubectl = kubectlBinary();
  const kubectlSkip = kubectl ? false : 'kubectl is not installed (it renders kustomizations offline)';
  test('kubectl kustomize renders it: every manifest, cluster-scoped ones without a namespace', { skip: kubectlSkip }, async () => {
    const result = await run(kubectl as string, ['kustomize', rel(appsDir)], { cwd: repoRoot });
    assert.equal(result.code, 0, describeRun('kubectl kustomize', result));
    const rendered = loadYaml('/virtual/kustomize.yaml', result.stdout);
    assert.deepEqual(rendered.problems, []);
    const own = manifests.filter((m) => m.file.startsWith(`${appsDir}/`));
    assert.equal(rendered.docs.length, own.length);
    const namespaces = rendered.docs.map((d) => asRecord(asRecord(d.value)?.metadata)?.namespace);
    const kinds = rendered.docs.map((d) => asRecord(d.value)?.kind);
    kinds.forEach((kind, i) => {
      if (kind === 'ClusterSPIFFEID' || kind === 'Namespace') assert.equal(namespaces[i], undefined, `${String(kind)} got a namespace`);
    });
  });

  // Kustomizations elsewhere under deploy/k8s (other folders): they must at least render.
  for (const other of yamlFiles.filter((p) => isKustomization(p) && p !== file)) {
    test(`kubectl kustomize renders ${rel(dirname(other))}`, { skip: kubectlSkip }, async () => {
      const result = await run(kubectl as string, ['kustomize', rel(dirname(other))], { cwd: repoRoot });
      assert.equal(result.code, 0, describeRun('kubectl kustomize', result));
      assert.deepEqual(loadYaml('/virtual/kustomize.yaml', result.stdout).problems, []);
    });
  }
});
