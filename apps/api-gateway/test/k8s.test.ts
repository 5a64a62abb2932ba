// The Kubernetes manifests of deploy/k8s/api-gateway hold together: the ConfigMaps and the Secret
// mounted where the gateway's configuration points load as a valid configuration, and the IDs,
// sockets and ports line up.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadGatewayConfig } from '../src/gateway-config.js';
import { REPO_ROOT, writeFile } from './helpers.js';

const DIR = join(REPO_ROOT, 'deploy', 'k8s', 'api-gateway');

type Manifest = any;

let manifests: Manifest[] = [];
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  assert.ok(found, `${kind} ${name} is in the manifests`);
  return found;
};
const container = (deployment: string): Manifest => find('Deployment', deployment).spec.template.spec.containers[0];
const renderId = (template: string): string => template.replace('{{ .TrustDomain }}', 'example.org');

before(() => {
  const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS();
  for (const file of kustomization.resources as string[]) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} is valid YAML`);
      manifests.push(doc.toJS());
    }
  }
  manifests = manifests.filter((m) => m !== null);
});

describe('deploy/k8s/api-gateway', () => {
  const root = mkdtempSync(join(tmpdir(), 'api-gateway-k8s-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('mounts the configuration, API definitions and certificates where gateway.yaml points, and they load', async () => {
    const deployment = find('Deployment', 'api-gateway');
    const spec = deployment.spec.template.spec;
    const gateway = container('api-gateway');
    for (const mount of gateway.volumeMounts as Array<{ name: string; mountPath: string }>) {
      const volume = spec.volumes.find((v: Manifest) => v.name === mount.name);
      assert.ok(volume, `volume ${mount.name} exists`);
      const ref = volume.configMap?.name ?? volume.secret?.secretName;
      if (ref === undefined) continue;
      const source = find(volume.configMap ? 'ConfigMap' : 'Secret', ref);
      assert.equal(source.metadata.namespace, deployment.metadata.namespace);
      const data: Record<string, string> = {
        ...(source.data ?? {}),
        ...(source.stringData ?? {}),
        ...(volume.secret && source.data
          ? Object.fromEntries(Object.entries(source.data).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]))
          : {}),
      };
      for (const [key, value] of Object.entries(data)) {
        // The absolute paths of gateway.yaml are rooted in the test's folder.
        writeFile(join(root, mount.mountPath, key), value.replaceAll('/etc/api-gateway/', `${root}/etc/api-gateway/`));
      }
    }
    const configPath = gateway.command[gateway.command.indexOf('--config') + 1];
    const config = await loadGatewayConfig(join(root, configPath));
    assert.deepEqual(
      config.apis.map((a) => a.definition.name),
      ['EmployeeServiceAPI'],
    );
    const api = config.apis[0]!;
    assert.equal(api.pinned.size, 2, "the ConfigMap's and the Secret's certificates are pinned");
    assert.equal(api.definition.mtls?.required, 'mandatory');
    assert.equal(config.routes.match('GET', '/employee/3.14/employee').kind, 'match');
    // The upstream is reached over SPIFFE mTLS as the ID the employee service is registered with.
    assert.equal(api.definition.endpoint.protocol, 'https:');
    assert.equal(api.definition.upstreamId?.toString(), renderId(find('ClusterSPIFFEID', 'employee-service').spec.spiffeIDTemplate));
  });

  it('gives both workloads the agent socket through the SPIFFE CSI driver', () => {
    for (const name of ['api-gateway', 'employee-service']) {
      const spec = find('Deployment', name).spec.template.spec;
      const csi = spec.volumes.find((v: Manifest) => v.csi !== undefined);
      assert.deepEqual(csi.csi, { driver: 'csi.spiffe.io', readOnly: true });
      const c = spec.containers[0];
      const mount = c.volumeMounts.find((m: Manifest) => m.name === csi.name);
      assert.equal(mount.mountPath, '/spiffe-workload-api');
      assert.deepEqual(
        c.env.find((e: Manifest) => e.name === 'SPIFFE_ENDPOINT_SOCKET'),
        { name: 'SPIFFE_ENDPOINT_SOCKET', value: 'unix:///spiffe-workload-api/spire-agent.sock' },
      );
    }
  });

  it('lines up IDs, labels and ports', () => {
    const gatewayId = renderId(find('ClusterSPIFFEID', 'api-gateway').spec.spiffeIDTemplate);
    assert.equal(gatewayId, 'spiffe://example.org/api-gateway');
    const upstream = container('employee-service');
    assert.equal(upstream.command[upstream.command.indexOf('--gateway-id') + 1], gatewayId);
    for (const [name, port] of [
      ['api-gateway', 9095],
      ['employee-service', 8080],
    ] as const) {
      const deployment = find('Deployment', name);
      assert.equal(find('ClusterSPIFFEID', name).spec.podSelector.matchLabels.app, deployment.spec.template.metadata.labels.app);
      const service = find('Service', name);
      assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
      assert.equal(service.spec.ports[0].port, port);
      assert.equal(container(name).ports[0].containerPort, port);
    }
    const api = find('ConfigMap', 'api-gateway-apis').data['EmployeeServiceAPI.apk-conf'] as string;
    assert.match(api, /endpoint: "https:\/\/employee-service\.apk\.svc\.cluster\.local:8080"/);
  });
});
