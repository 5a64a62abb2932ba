/**
 * The helper's configuration: spiffe-helper's HCL keys, checked strictly (an unknown key or a
 * value of the wrong type is an error naming the key, the file and the line).
 *
 * @module
 */
import { constants } from 'node:os';
import { parseHcl, type HclEntry, type HclObject, type HclPos, type HclValue } from '../hcl/parse.js';

/**
 * One `jwt_svids` element: the audience(s) of a JWT-SVID and the file it is kept in.
 *
 * @example
 * ```ts
 * const jwt: HelperJwtSvidConfig = { audience: 'spiffe://example.org/db', extraAudiences: [], fileName: 'db.token' };
 * ```
 */
export interface HelperJwtSvidConfig {
  audience: string;
  extraAudiences: string[];
  fileName: string;
}

/**
 * The `health_checks` block.
 *
 * @example
 * ```ts
 * const hc: HelperHealthChecks = { listenerEnabled: true, bindAddress: '127.0.0.1', bindPort: 8081, livenessPath: '/live', readinessPath: '/ready' };
 * ```
 */
export interface HelperHealthChecks {
  listenerEnabled: boolean;
  /** Where the listener binds ('' = every interface, as spiffe-helper does). */
  bindAddress: string;
  bindPort: number;
  livenessPath: string;
  readinessPath: string;
}

/**
 * A validated helper configuration, with spiffe-helper's defaults applied.
 *
 * @example
 * ```ts
 * const config: HelperConfig = parseHelperConfig(text, 'helper.conf');
 * config.certFileMode.toString(8); // '644'
 * ```
 */
export interface HelperConfig {
  /** `agent_address` as written ('' when absent: `SPIFFE_ENDPOINT_SOCKET`, else SPIRE's socket). */
  agentAddress: string;
  cmd: string;
  cmdArgs: string[];
  certDir: string;
  svidFileName: string;
  svidKeyFileName: string;
  svidBundleFileName: string;
  jwtSvids: HelperJwtSvidConfig[];
  jwtBundleFileName: string;
  includeFederatedDomains: boolean;
  addIntermediatesToBundle: boolean;
  omitExpired: boolean;
  certFileMode: number;
  keyFileMode: number;
  jwtBundleFileMode: number;
  jwtSvidFileMode: number;
  renewSignal: NodeJS.Signals | '';
  pidFileName: string;
  daemonMode: boolean;
  exitWhenReady: boolean;
  healthChecks: HelperHealthChecks;
  hint: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Things that are allowed but probably not meant (printed as warnings at start). */
  warnings: string[];
}

/**
 * A configuration that cannot be used; the message names the file and line where possible:
 * `helper.conf:7: unknown key "svid_fle_name" (did you mean "svid_file_name"?)`.
 *
 * @example
 * ```ts
 * try { parseHelperConfig(text, 'helper.conf'); }
 * catch (err) { if (err instanceof HelperConfigError) console.error(err.message); }
 * ```
 */
export class HelperConfigError extends Error {
  override name = 'HelperConfigError';
}

type Kind = 'string' | 'bool' | 'int' | 'mode' | 'string-or-list';

const TOP_LEVEL: Record<string, Kind | 'jwt_svids' | 'health_checks'> = {
  agent_address: 'string',
  cmd: 'string',
  cmd_args: 'string-or-list',
  cert_dir: 'string',
  svid_file_name: 'string',
  svid_key_file_name: 'string',
  svid_bundle_file_name: 'string',
  jwt_svids: 'jwt_svids',
  jwt_bundle_file_name: 'string',
  include_federated_domains: 'bool',
  add_intermediates_to_bundle: 'bool',
  omit_expired: 'bool',
  cert_file_mode: 'mode',
  key_file_mode: 'mode',
  jwt_bundle_file_mode: 'mode',
  jwt_svid_file_mode: 'mode',
  renew_signal: 'string',
  pid_file_name: 'string',
  daemon_mode: 'bool',
  exit_when_ready: 'bool',
  health_checks: 'health_checks',
  hint: 'string',
  log_level: 'string',
};

const JWT_KEYS: Record<string, Kind> = {
  jwt_audience: 'string',
  jwt_extra_audiences: 'string-or-list',
  jwt_svid_file_name: 'string',
};

const HEALTH_KEYS: Record<string, Kind> = {
  listener_enabled: 'bool',
  bind_address: 'string',
  bind_port: 'int',
  liveness_path: 'string',
  readiness_path: 'string',
};

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(key, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance / Math.max(key.length, best.length) <= 0.34 ? ` (did you mean "${best}"?)` : '';
}

function kindName(v: HclValue): string {
  switch (v.kind) {
    case 'list':
      return 'a list';
    case 'object':
      return 'a block';
    case 'bool':
      return `the boolean ${v.value}`;
    case 'number':
      return `the number ${v.raw}`;
    default:
      return `the string ${JSON.stringify(v.value)}`;
  }
}

class Decoder {
  readonly #file: string;
  readonly warnings: string[] = [];

  constructor(file: string) {
    this.#file = file;
  }

  error(pos: HclPos, message: string): HelperConfigError {
    return new HelperConfigError(`${this.#file}:${pos.line}: ${message}`);
  }

  fileError(message: string): HelperConfigError {
    return new HelperConfigError(`${this.#file}: ${message}`);
  }

  /** The entries of an object by key, refusing unknown and repeated keys. */
  entries(obj: HclObject, known: Record<string, unknown>, where: string): Map<string, HclEntry> {
    const out = new Map<string, HclEntry>();
    for (const entry of obj.entries) {
      if (!Object.prototype.hasOwnProperty.call(known, entry.key)) {
        throw this.error(entry.keyPos, `unknown key "${entry.key}"${where}${suggestion(entry.key, Object.keys(known))}`);
      }
      const previous = out.get(entry.key);
      if (previous !== undefined && !(entry.key === 'jwt_svids' && entry.block && previous.block)) {
        throw this.error(entry.keyPos, `"${entry.key}" is set twice (first on line ${previous.keyPos.line})`);
      }
      if (previous !== undefined) {
        // Repeated `jwt_svids { ... }` blocks: a list of objects.
        const items = previous.value.kind === 'list' ? previous.value.items : [previous.value];
        out.set(entry.key, { ...previous, value: { kind: 'list', items: [...items, entry.value], pos: previous.value.pos } });
        continue;
      }
      out.set(entry.key, entry);
    }
    return out;
  }

  string(entry: HclEntry): string {
    const v = entry.value;
    if (v.kind === 'string') return v.value;
    if (v.kind === 'number') return v.raw;
    throw this.error(v.pos, `"${entry.key}" must be a string, found ${kindName(v)}`);
  }

  stringList(entry: HclEntry): string[] {
    const v = entry.value;
    if (v.kind !== 'list') throw this.error(v.pos, `"${entry.key}" must be a list of strings, found ${kindName(v)}`);
    return v.items.map((item) => {
      if (item.kind !== 'string') throw this.error(item.pos, `"${entry.key}" must be a list of strings, found ${kindName(item)} in it`);
      return item.value;
    });
  }

  bool(entry: HclEntry): boolean {
    const v = entry.value;
    if (v.kind === 'bool') return v.value;
    // HCL 1 decodes "true" / "false" strings into booleans too.
    if (v.kind === 'string' && /^(true|false)$/i.test(v.value)) return v.value.toLowerCase() === 'true';
    throw this.error(v.pos, `"${entry.key}" must be true or false, found ${kindName(v)}`);
  }

  int(entry: HclEntry): number {
    const v = entry.value;
    let n: number | undefined;
    if (v.kind === 'number') n = v.value;
    else if (v.kind === 'string' && /^[0-9]+$/.test(v.value))
      n = v.value.length > 1 && v.value.startsWith('0') ? parseInt(v.value, 8) : Number(v.value);
    if (n === undefined || !Number.isSafeInteger(n)) throw this.error(v.pos, `"${entry.key}" must be an integer, found ${kindName(v)}`);
    return n;
  }

  mode(entry: HclEntry): number {
    const n = this.int(entry);
    const written = entry.value.kind === 'number' ? entry.value.raw : (entry.value as { value: string }).value;
    if (n < 0 || n > 0o777) {
      const hint = /^[1-7][0-7]{2}$/.test(written) ? `; write it in octal with a leading 0 (0${written})` : '';
      throw this.error(entry.value.pos, `"${entry.key}" = ${written} is not a file mode (0 to 0777)${hint}`);
    }
    if (n === 0)
      throw this.error(entry.value.pos, `"${entry.key}" = ${written} would make the file unreadable; leave the key out for the default`);
    return n;
  }
}

function fileName(decoder: Decoder, entry: HclEntry | undefined): string {
  if (entry === undefined) return '';
  const name = decoder.string(entry);
  if (name !== '' && (name.includes('/') || name.includes('\\') || name === '.' || name.startsWith('..'))) {
    throw decoder.error(entry.value.pos, `"${entry.key}" must be a plain file name inside cert_dir, found ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * Splits `cmd_args` as spiffe-helper does: at spaces, except inside double quotes (`""` inside
 * quotes is one quote).
 *
 * @throws {@link HelperConfigError} for an unterminated quote.
 * @example
 * ```ts
 * splitCommandArgs('-config "my file.conf" -v'); // ['-config', 'my file.conf', '-v']
 * ```
 */
export function splitCommandArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c === '"' && !started) {
      quoted = true;
      started = true;
    } else if (c === ' ') {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (quoted) throw new HelperConfigError(`cmd_args: unterminated double quote in ${JSON.stringify(text)}`);
  if (started) args.push(current);
  return args;
}

/**
 * Parses and validates a helper configuration (HCL), applying spiffe-helper's defaults:
 * `cert_file_mode` 0644, `key_file_mode`, `jwt_bundle_file_mode`, `jwt_svid_file_mode` 0600,
 * `daemon_mode` true, health checks on port 8081 at `/live` and `/ready`.
 *
 * @param file - the file name, for messages.
 * @param overrides - command-line overrides (`-daemon-mode`, `-exitWhenReady`).
 * @throws {@link HelperConfigError} naming the key, file and line of the first problem.
 * @example
 * ```ts
 * import { parseHelperConfig } from '@spiffe-node/cli';
 * const config = parseHelperConfig(`
 *   cert_dir = "/run/certs"
 *   svid_file_name = "svid.pem"
 *   svid_key_file_name = "svid_key.pem"
 *   svid_bundle_file_name = "svid_bundle.pem"
 *   cmd = "nginx"
 *   renew_signal = "SIGHUP"
 * `, 'helper.conf');
 * ```
 */
export function parseHelperConfig(
  text: string,
  file = 'helper.conf',
  overrides: { daemonMode?: boolean; exitWhenReady?: boolean } = {},
): HelperConfig {
  let root: HclObject;
  try {
    root = parseHcl(text, file);
  } catch (err) {
    throw new HelperConfigError((err as Error).message);
  }
  const d = new Decoder(file);
  const top = d.entries(root, TOP_LEVEL, '');
  const str = (key: string): string => {
    const e = top.get(key);
    return e === undefined ? '' : d.string(e);
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const e = top.get(key);
    return e === undefined ? dflt : d.bool(e);
  };
  const mode = (key: string, dflt: number): number => {
    const e = top.get(key);
    return e === undefined ? dflt : d.mode(e);
  };

  const jwtSvids: HelperJwtSvidConfig[] = [];
  const jwtEntry = top.get('jwt_svids');
  if (jwtEntry !== undefined) {
    const v = jwtEntry.value;
    const items = v.kind === 'list' ? v.items : v.kind === 'object' ? [v] : undefined;
    if (items === undefined)
      throw d.error(v.pos, `"jwt_svids" must be a list of { jwt_audience, jwt_svid_file_name } objects, found ${kindName(v)}`);
    items.forEach((item, index) => {
      if (item.kind !== 'object')
        throw d.error(
          item.pos,
          `"jwt_svids" element ${index} must be an object { jwt_audience = "...", jwt_svid_file_name = "..." }, found ${kindName(item)}`,
        );
      const keys = d.entries(item, JWT_KEYS, ` in jwt_svids[${index}]`);
      const audience = keys.get('jwt_audience');
      const name = keys.get('jwt_svid_file_name');
      if (audience === undefined || d.string(audience) === '') throw d.error(item.pos, `"jwt_audience" is required in jwt_svids[${index}]`);
      if (name === undefined || d.string(name) === '') throw d.error(item.pos, `"jwt_svid_file_name" is required in jwt_svids[${index}]`);
      const extra = keys.get('jwt_extra_audiences');
      jwtSvids.push({
        audience: d.string(audience),
        extraAudiences: extra === undefined ? [] : extra.value.kind === 'list' ? d.stringList(extra) : [d.string(extra)],
        fileName: fileName(d, name),
      });
    });
  }

  const health: HelperHealthChecks = {
    listenerEnabled: false,
    bindAddress: '',
    bindPort: 8081,
    livenessPath: '/live',
    readinessPath: '/ready',
  };
  const healthEntry = top.get('health_checks');
  if (healthEntry !== undefined) {
    const v = healthEntry.value;
    if (v.kind !== 'object') throw d.error(v.pos, `"health_checks" must be a block { listener_enabled = true ... }, found ${kindName(v)}`);
    const keys = d.entries(v, HEALTH_KEYS, ' in health_checks');
    const get = keys.get.bind(keys);
    if (get('listener_enabled')) health.listenerEnabled = d.bool(get('listener_enabled') as HclEntry);
    if (get('bind_address')) health.bindAddress = d.string(get('bind_address') as HclEntry);
    if (get('bind_port')) {
      const e = get('bind_port') as HclEntry;
      const port = d.int(e);
      if (port < 0 || port > 65535) throw d.error(e.value.pos, `"bind_port" ${port} is not a port number`);
      health.bindPort = port === 0 ? 8081 : port;
    }
    for (const key of ['liveness_path', 'readiness_path'] as const) {
      const e = get(key);
      if (e === undefined) continue;
      const path = d.string(e);
      if (path === '') continue;
      if (!path.startsWith('/')) throw d.error(e.value.pos, `"${key}" must start with "/", found ${JSON.stringify(path)}`);
      if (key === 'liveness_path') health.livenessPath = path;
      else health.readinessPath = path;
    }
    if (health.livenessPath === health.readinessPath) throw d.error(v.pos, 'liveness_path and readiness_path must differ');
  }

  let cmdArgs: string[] = [];
  const argsEntry = top.get('cmd_args');
  if (argsEntry !== undefined) {
    try {
      cmdArgs = argsEntry.value.kind === 'list' ? d.stringList(argsEntry) : splitCommandArgs(d.string(argsEntry));
    } catch (err) {
      if (err instanceof HelperConfigError && !err.message.startsWith(file)) throw d.error(argsEntry.value.pos, err.message);
      throw err;
    }
  }

  const renew = str('renew_signal');
  if (renew !== '' && !Object.prototype.hasOwnProperty.call(constants.signals, renew)) {
    throw d.error(
      (top.get('renew_signal') as HclEntry).value.pos,
      `"renew_signal" = ${JSON.stringify(renew)} is not a signal name (for example "SIGHUP" or "SIGUSR1")`,
    );
  }
  const logLevel = (str('log_level') || 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw d.error((top.get('log_level') as HclEntry).value.pos, `"log_level" must be one of debug, info, warn, error`);
  }

  const config: HelperConfig = {
    agentAddress: str('agent_address'),
    cmd: str('cmd'),
    cmdArgs,
    certDir: str('cert_dir'),
    svidFileName: fileName(d, top.get('svid_file_name')),
    svidKeyFileName: fileName(d, top.get('svid_key_file_name')),
    svidBundleFileName: fileName(d, top.get('svid_bundle_file_name')),
    jwtSvids,
    jwtBundleFileName: fileName(d, top.get('jwt_bundle_file_name')),
    includeFederatedDomains: bool('include_federated_domains', false),
    addIntermediatesToBundle: bool('add_intermediates_to_bundle', false),
    omitExpired: bool('omit_expired', false),
    certFileMode: mode('cert_file_mode', 0o644),
    keyFileMode: mode('key_file_mode', 0o600),
    jwtBundleFileMode: mode('jwt_bundle_file_mode', 0o600),
    jwtSvidFileMode: mode('jwt_svid_file_mode', 0o600),
    renewSignal: renew as NodeJS.Signals | '',
    pidFileName: str('pid_file_name'),
    daemonMode: overrides.daemonMode ?? bool('daemon_mode', true),
    exitWhenReady: overrides.exitWhenReady ?? bool('exit_when_ready', false),
    healthChecks: health,
    hint: str('hint'),
    logLevel: logLevel as HelperConfig['logLevel'],
    warnings: d.warnings,
  };

  // The checks spiffe-helper makes, in its words where it has them.
  const x509Names = [config.svidFileName, config.svidKeyFileName, config.svidBundleFileName];
  const x509Count = x509Names.filter((n) => n !== '').length;
  if (x509Count !== 0 && x509Count !== 3) {
    throw d.fileError("all or none of 'svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name' must be specified");
  }
  if (x509Count === 0 && config.jwtSvids.length === 0 && config.jwtBundleFileName === '') {
    throw d.fileError(
      "at least one of the sets ('svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name'), 'jwt_svids', or 'jwt_bundle_file_name' must be specified",
    );
  }
  if (config.certDir === '') throw d.fileError('"cert_dir" is required: the directory the files are kept in');
  const names = [...x509Names, config.jwtBundleFileName, ...config.jwtSvids.map((j) => j.fileName)].filter((n) => n !== '');
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw d.fileError(`the file name "${duplicate}" is used for two files`);
  if (config.pidFileName !== '' && config.renewSignal === '') throw d.fileError('must specify renew_signal when using pid_file_name');
  if (!config.daemonMode) {
    if (config.pidFileName !== '')
      throw d.fileError('pid_file_name is set but daemon_mode is false; pid_file_name is only supported in daemon mode');
    if (config.cmd !== '') config.warnings.push('cmd is set but daemon_mode is false: cmd is ignored');
    if (config.renewSignal !== '') config.warnings.push('renew_signal is set but daemon_mode is false: renew_signal is ignored');
  }
  if (config.cmd === '' && config.cmdArgs.length > 0) throw d.fileError('cmd_args is set but cmd is not');
  if (config.renewSignal !== '' && config.cmd === '' && config.pidFileName === '') {
    config.warnings.push('renew_signal is set but neither cmd nor pid_file_name is: no process will be signalled');
  }
  if ((config.keyFileMode & 0o077) !== 0) {
    config.warnings.push(
      `key_file_mode 0${config.keyFileMode.toString(8)} lets other users read the private key; 0600 keeps it to the owner`,
    );
  }
  return config;
}
