// deploy/compose/compose.yaml, read: services, their mounts, environment and commands.
import { join, posix, resolve } from 'node:path';
import { deployDir } from './repo.js';
import { asRecord, loadYaml } from './yaml-docs.js';

export const composeDir = join(deployDir, 'compose');
export const composeFile = join(composeDir, 'compose.yaml');

export interface Mount {
  type: string;
  source: string;
  target: string;
  read_only?: boolean;
}

export class ComposeFile {
  readonly body: Record<string, unknown>;
  readonly services: Record<string, unknown>;

  constructor(file = composeFile) {
    this.body = asRecord(loadYaml(file).docs[0]?.value) ?? {};
    this.services = asRecord(this.body.services) ?? {};
  }

  service(name: string): Record<string, unknown> {
    const s = asRecord(this.services[name]);
    if (!s) throw new Error(`compose.yaml has no service ${name}`);
    return s;
  }

  /** Volumes in the long syntax (the short one is refused: it hides read-only flags). */
  mounts(name: string): Mount[] {
    const volumes = this.service(name).volumes;
    return (Array.isArray(volumes) ? volumes : []).map((v) => {
      const r = asRecord(v);
      if (!r) throw new Error(`${name}: use the long volume syntax (type/source/target)`);
      return r as unknown as Mount;
    });
  }

  volumeMount(name: string, volume: string): Mount | undefined {
    return this.mounts(name).find((m) => m.type === 'volume' && m.source === volume);
  }

  env(name: string): Record<string, string> {
    const env = asRecord(this.service(name).environment) ?? {};
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  }

  command(name: string): string[] {
    const c = this.service(name).command;
    if (!Array.isArray(c)) throw new Error(`${name}: command must be a list (exec form)`);
    return c.map(String);
  }

  /** The repository file bind-mounted at a container path. */
  boundFile(name: string, containerPath: string): string {
    const m = this.mounts(name).find((x) => x.type === 'bind' && x.target === containerPath);
    if (!m) throw new Error(`${name}: nothing is bind-mounted at ${containerPath}`);
    return resolve(composeDir, m.source);
  }

  /**
   * A container path of a service as a host path, its named volumes standing for directories
   * below `volumesRoot` (one per volume, shared by every service that mounts it, as in Docker).
   */
  hostPath(name: string, containerPath: string, volumesRoot: string): string {
    const m = this.mounts(name)
      .filter((x) => x.type === 'volume' && (containerPath === x.target || containerPath.startsWith(`${x.target}/`)))
      .sort((a, b) => b.target.length - a.target.length)[0];
    if (!m) throw new Error(`${name}: ${containerPath} is on no named volume`);
    return join(volumesRoot, m.source, posix.relative(m.target, containerPath));
  }
}

export function flagValue(args: string[], flag: string): string {
  const i = args.indexOf(flag);
  const value = i >= 0 ? args[i + 1] : undefined;
  if (value === undefined) throw new Error(`missing ${flag} in ${JSON.stringify(args)}`);
  return value;
}
