// Who talks to whom, and with which SPIFFE IDs: the model behind the cross-checks of the compose
// file and the Kubernetes manifests. A workload dials another when its environment names the
// other's address (SERVER_HOST+SERVER_PORT, SERVER_URL, PROXY_URL, UPSTREAM_URL); it then must
// expect the other's SPIFFE ID (SERVER_SPIFFE_ID), and the other, if it authorizes clients
// (CLIENT_SPIFFE_ID), must expect the dialer's.

/** Addresses a process listens on rather than dials. */
const listenAddresses = new Set(['0.0.0.0', '::', '[::]']);

export interface Dial {
  /** The variable the address came from. */
  variable: string;
  host: string;
  port: number;
}

/** The destinations a workload's environment names. */
export function dialsOf(env: Record<string, string | undefined>): Dial[] {
  const dials: Dial[] = [];
  const host = env.SERVER_HOST;
  if (host !== undefined && !listenAddresses.has(host)) {
    const port = Number(env.SERVER_PORT);
    if (!Number.isInteger(port)) throw new Error(`SERVER_HOST=${host} without a numeric SERVER_PORT`);
    dials.push({ variable: 'SERVER_HOST', host, port });
  }
  for (const variable of ['SERVER_URL', 'PROXY_URL', 'UPSTREAM_URL']) {
    const value = env[variable];
    if (value === undefined) continue;
    const url = new URL(value);
    if (url.protocol !== 'https:') throw new Error(`${variable}=${value}: SPIFFE TLS needs https`);
    dials.push({ variable, host: url.hostname, port: Number(url.port || 443) });
  }
  return dials;
}

/** The port a server process listens on, from its environment (SERVER_PORT or PROXY_PORT). */
export function listenPortOf(env: Record<string, string | undefined>): number | undefined {
  for (const [hostVar, portVar] of [
    ['SERVER_HOST', 'SERVER_PORT'],
    ['PROXY_HOST', 'PROXY_PORT'],
  ] as const) {
    const host = env[hostVar];
    if (host !== undefined && listenAddresses.has(host)) return Number(env[portVar]);
  }
  return undefined;
}

/** The `: "${NAME:=default}"` settings of a shell script. */
export function shellDefaults(script: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of script.matchAll(/^:\s+"\$\{([A-Z_][A-Z0-9_]*):=(.*)\}"\s*$/gm)) {
    if (m[1]) out[m[1]] = m[2] ?? '';
  }
  return out;
}

/** The words of a bash array assignment `name=( … )` (comments and blank lines ignored). */
export function shellArray(script: string, name: string): string[] {
  const m = new RegExp(`^${name}=\\(\\n?([\\s\\S]*?)^\\)`, 'm').exec(script);
  if (!m || m[1] === undefined) throw new Error(`no ${name}=( … ) in the script`);
  return m[1]
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .flatMap((l) => l.split(/\s+/));
}

/** The `register <SPIFFE ID> <selector>` calls of an app's register.sh. */
export function registrations(script: string): { id: string; selector: string }[] {
  return [...script.matchAll(/^register\s+(spiffe:\/\/\S+)\s+(\S+)\s*$/gm)].map((m) => ({ id: m[1] ?? '', selector: m[2] ?? '' }));
}

/**
 * The ID a ClusterSPIFFEID template gives a pod. Only the fields these manifests use are known;
 * any other template action is an error rather than a guess.
 */
export function renderSpiffeIdTemplate(
  template: string,
  values: { trustDomain: string; namespace: string; serviceAccount: string; podName?: string },
): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_whole, expr: string) => {
    switch (expr) {
      case '.TrustDomain':
        return values.trustDomain;
      case '.PodMeta.Namespace':
        return values.namespace;
      case '.PodSpec.ServiceAccountName':
        return values.serviceAccount;
      default:
        throw new Error(`template action {{ ${expr} }} is not evaluated by these checks`);
    }
  });
}
