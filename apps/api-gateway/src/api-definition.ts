/**
 * API definitions in the apk-conf shape of WSO2 APK (its mTLS guide): what the gateway serves,
 * where it forwards, and who may call. Parsing and validation only; certificates are read by
 * {@link loadGatewayConfig}.
 *
 * @module
 */
import { SpiffeId, type TrustDomain } from '@spiffe-node/spiffe';
import { GatewayConfigError } from './config-error.js';
import { Fields, describe, parseYaml } from './fields.js';

/**
 * How strictly an authentication entry applies: `mandatory` (the default) or `optional`.
 *
 * @example
 * ```ts
 * const required: Requirement = 'optional';
 * ```
 */
export type Requirement = 'mandatory' | 'optional';

/**
 * The HTTP methods an operation may name.
 *
 * @example
 * ```ts
 * VERBS.includes('GET'); // true
 * ```
 */
export const VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/**
 * One of {@link VERBS}.
 *
 * @example
 * ```ts
 * const verb: Verb = 'POST';
 * ```
 */
export type Verb = (typeof VERBS)[number];

/**
 * A certificate reference: the key `key` of the ConfigMap or Secret `name`, which the gateway
 * reads from `<certificatesDir>/<name>/<key>` (where Kubernetes mounts it).
 *
 * @example
 * ```ts
 * const ref: CertificateRef = { name: 'mtls-configmap', key: 'tls.crt' };
 * ```
 */
export interface CertificateRef {
  name: string;
  key: string;
}

/**
 * An `authType: mTLS` entry: clients are accepted by pinned certificates (`certificates`,
 * `certificatesInline`), by SPIFFE identity (`spiffeIds`, `trustDomains`), or by either.
 *
 * @example
 * ```ts
 * const mtls: MtlsAuthentication = {
 *   authType: 'mTLS', field: 'authentication[0]', required: 'mandatory',
 *   certificates: [{ name: 'mtls-configmap', key: 'tls.crt' }], certificatesInline: [],
 *   spiffeIds: [SpiffeId.fromString('spiffe://example.org/client')], trustDomains: [],
 * };
 * ```
 */
export interface MtlsAuthentication {
  authType: 'mTLS';
  /** Where it stands in the file (`authentication[0]`), for messages. */
  field: string;
  required: Requirement;
  certificates: CertificateRef[];
  certificatesInline: string[];
  spiffeIds: SpiffeId[];
  trustDomains: TrustDomain[];
}

/**
 * An `authType: JWT` entry: a JWT-SVID in `Authorization: Bearer`, for one of `audience`.
 *
 * @example
 * ```ts
 * const jwt: JwtAuthentication = { authType: 'JWT', required: 'mandatory', audience: ['spiffe://example.org/api-gateway'] };
 * ```
 */
export interface JwtAuthentication {
  authType: 'JWT';
  required: Requirement;
  audience: string[];
}

/**
 * One operation of an API: `verb` on `target` (below `basePath/version`). `target` segments
 * may be `{name}` (any one segment); a final `/*` matches anything below.
 *
 * @example
 * ```ts
 * const op: Operation = { target: '/employee/{id}', verb: 'GET', secured: true };
 * ```
 */
export interface Operation {
  target: string;
  verb: Verb;
  /** `false`: callable without any authentication. */
  secured: boolean;
}

/**
 * A validated API definition.
 *
 * @example
 * ```ts
 * const api = parseApiDefinition(readFileSync(file, 'utf8'), file);
 * console.log(`${api.name} ${api.version}: ${api.basePath}/${api.version} -> ${api.endpoint}`);
 * ```
 */
export interface ApiDefinition {
  /** The file it was read from. */
  file: string;
  name: string;
  basePath: string;
  version: string;
  /** Also served without the version in the path. */
  defaultVersion: boolean;
  id: string | undefined;
  /** `endpointConfigurations.production.endpoint`. */
  endpoint: URL;
  /** `endpointConfigurations.production.spiffeId`: the upstream's ID, for `https://` endpoints. */
  upstreamId: SpiffeId | undefined;
  operations: Operation[];
  mtls: MtlsAuthentication | undefined;
  jwt: JwtAuthentication | undefined;
}

const TOP_LEVEL = ['name', 'basePath', 'version', 'type', 'defaultVersion', 'id', 'endpointConfigurations', 'operations', 'authentication'];
const MTLS_FIELDS = ['authType', 'required', 'enabled', 'certificates', 'certificatesInline', 'spiffeIds', 'trustDomains'];
const JWT_FIELDS = ['authType', 'required', 'enabled', 'audience'];
const AUTH_TYPES = ['mTLS', 'JWT'] as const;
const REQUIREMENTS = ['mandatory', 'optional'] as const;
/** A path segment of a base path or target: RFC 3986 pchar without percent-encoding, or `{name}`. */
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/;

function checkPath(fields: Fields, key: string, value: string, what: string, allowParams: boolean): string {
  if (value === '/') return value;
  if (!value.startsWith('/')) throw fields.error(key, `must start with "/", got ${describe(value)}`);
  const segments = value.slice(1).split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (allowParams && last && segment === '*') return;
    if (segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment) || (!allowParams && segment.startsWith('{'))) {
      throw fields.error(
        key,
        `${describe(value)} is not a valid ${what}: use "/"-separated segments of letters, digits and -._~!$&'()*+,;=:@` +
          (allowParams ? ', "{name}" for a path parameter and a final "/*" for anything below' : '') +
          ', without empty, "." or ".." segments or a trailing "/"',
      );
    }
  });
  return value;
}

function parseOperation(op: Fields): Operation {
  const target = checkPath(op, 'target', op.string('target'), 'target', true);
  const verbText = op.string('verb');
  const verb = verbText.toUpperCase();
  if (!(VERBS as readonly string[]).includes(verb)) {
    throw op.error('verb', `must be one of ${VERBS.join(', ')}, got ${describe(verbText)}`);
  }
  const scopes = op.list('scopes');
  if (scopes.length > 0) {
    throw op.error('scopes', 'OAuth2 scopes are not supported by this gateway (it has no OAuth2); leave the list empty');
  }
  return { target, verb: verb as Verb, secured: op.boolean('secured', true) };
}

function parseMtls(entry: Fields): MtlsAuthentication {
  const certificates = entry.mappings('certificates', ['name', 'key']).map((ref) => {
    const name = ref.string('name');
    const key = ref.string('key');
    for (const [k, v] of [
      ['name', name],
      ['key', key],
    ] as const) {
      if (v.includes('/') || v === '.' || v === '..' || v.includes('\0')) {
        throw ref.error(k, `${describe(v)} must be the plain name of a ConfigMap or Secret (or of one of its keys), without "/"`);
      }
    }
    return { name, key };
  });
  const certificatesInline = entry.strings('certificatesInline');
  certificatesInline.forEach((pem, i) => {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw entry.error(`certificatesInline[${i}]`, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)');
    }
  });
  const spiffeIds = entry.spiffeIds('spiffeIds');
  const trustDomains = entry.trustDomains('trustDomains');
  if (certificates.length + certificatesInline.length + spiffeIds.length + trustDomains.length === 0) {
    throw entry.error(
      '',
      'an mTLS entry accepts nobody: give certificates (ConfigMap or Secret keys), certificatesInline, spiffeIds or trustDomains',
    );
  }
  return {
    authType: 'mTLS',
    field: entry.path,
    required: entry.choice('required', REQUIREMENTS, 'mandatory'),
    certificates,
    certificatesInline,
    spiffeIds,
    trustDomains,
  };
}

function parseJwt(entry: Fields): JwtAuthentication {
  const audience = entry.strings('audience', true);
  if (audience.length === 0) {
    throw entry.error('audience', "is required: the audience a JWT-SVID must carry to be accepted (e.g. the gateway's SPIFFE ID)");
  }
  return { authType: 'JWT', required: entry.choice('required', REQUIREMENTS, 'mandatory'), audience };
}

function parseEndpoint(top: Fields): { endpoint: URL; upstreamId: SpiffeId | undefined } {
  const configs = top.mapping('endpointConfigurations', ['production']);
  if (configs === undefined) throw top.error('endpointConfigurations', 'is required (endpointConfigurations.production.endpoint)');
  const production = configs.mapping('production', ['endpoint', 'spiffeId']);
  if (production === undefined) throw configs.error('production', 'is required (production.endpoint)');
  const text = production.string('endpoint');
  let endpoint: URL;
  try {
    endpoint = new URL(text);
  } catch {
    throw production.error('endpoint', `${describe(text)} is not a URL (e.g. "http://employee-service:8080")`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    throw production.error('endpoint', `must be an http:// or https:// URL, got ${describe(text)}`);
  }
  if (endpoint.username !== '' || endpoint.password !== '' || endpoint.search !== '' || endpoint.hash !== '') {
    throw production.error('endpoint', 'must not carry credentials, a query or a fragment');
  }
  let upstreamId: SpiffeId | undefined;
  if (production.has('spiffeId')) {
    const idText = production.string('spiffeId');
    try {
      upstreamId = SpiffeId.fromString(idText);
    } catch (err) {
      throw production.error('spiffeId', `${describe(idText)} is not a SPIFFE ID: ${(err as Error).message}`);
    }
  }
  if (endpoint.protocol === 'https:' && upstreamId === undefined) {
    throw production.error(
      'spiffeId',
      'is required for an https:// endpoint: the gateway authenticates upstreams by SPIFFE ID only (no system CAs, no hostname check)',
    );
  }
  if (endpoint.protocol === 'http:' && upstreamId !== undefined) {
    throw production.error('spiffeId', 'applies to https:// endpoints only (SPIFFE mTLS); this endpoint is plain http://');
  }
  return { endpoint, upstreamId };
}

/**
 * Parses and validates one API definition (YAML in the apk-conf shape). Fields this gateway does
 * not implement are refused rather than ignored, so that no policy is silently dropped.
 *
 * Besides the guide's fields: `endpointConfigurations.production.spiffeId` (the upstream's
 * SPIFFE ID; required for `https://` endpoints, which are then reached over SPIFFE mTLS), and
 * for `mTLS` entries `spiffeIds` and `trustDomains` (clients accepted by X509-SVID) next to
 * `certificates` and `certificatesInline`; `JWT` entries take `audience`.
 *
 * @param text - The YAML text.
 * @param file - The file name, used in error messages.
 * @throws {@link GatewayConfigError} naming the file, the field and what is allowed.
 * @example
 * ```ts
 * const api = parseApiDefinition(`
 * name: EmployeeServiceAPI
 * basePath: /employee
 * version: "3.14"
 * endpointConfigurations: { production: { endpoint: "http://employee-service:8080" } }
 * operations: [{ target: /employee, verb: GET, secured: false }]
 * `, 'EmployeeServiceAPI.apk-conf');
 * ```
 */
export function parseApiDefinition(text: string, file: string): ApiDefinition {
  const top = Fields.root(parseYaml(text, file), file, TOP_LEVEL);
  const name = top.string('name');
  const basePath = checkPath(top, 'basePath', top.string('basePath'), 'base path', false);
  const version = top.string('version');
  if (!SEGMENT.test(version) || version === '.' || version === '..' || version.startsWith('{')) {
    throw top.error('version', `${describe(version)} must be one path segment (letters, digits, "." and "-"), e.g. "3.14"`);
  }
  if (top.has('type')) top.choice('type', ['REST'] as const);
  const id = top.has('id') ? top.string('id') : undefined;
  const { endpoint, upstreamId } = parseEndpoint(top);

  const opFields = top.mappings('operations', ['target', 'verb', 'secured', 'scopes']);
  if (opFields.length === 0) throw top.error('operations', 'is required: list at least one { target, verb }');
  const operations = opFields.map(parseOperation);
  const seen = new Map<string, number>();
  operations.forEach((op, i) => {
    const key = `${op.verb} ${op.target}`;
    const before = seen.get(key);
    if (before !== undefined) throw top.error(`operations[${i}]`, `repeats operations[${before}] (${key})`);
    seen.set(key, i);
  });

  let mtls: MtlsAuthentication | undefined;
  let jwt: JwtAuthentication | undefined;
  top.list('authentication').forEach((raw, i) => {
    const path = `authentication[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new GatewayConfigError(file, path, `must be a mapping, got ${describe(raw)}`);
    }
    const authType = (raw as Record<string, unknown>)['authType'];
    if (authType !== 'mTLS' && authType !== 'JWT') {
      throw new GatewayConfigError(
        file,
        `${path}.authType`,
        `must be ${AUTH_TYPES.map((t) => `"${t}"`).join(' or ')}, got ${describe(authType)}` +
          (authType === 'OAuth2' || authType === 'APIKey' ? ' (this gateway has no OAuth2 or API keys)' : ''),
      );
    }
    const entry = top.item('authentication', i, authType === 'mTLS' ? MTLS_FIELDS : JWT_FIELDS);
    if (!entry.boolean('enabled', true)) return;
    if (authType === 'mTLS') {
      if (mtls !== undefined) throw entry.error('', 'a second mTLS entry; put every accepted certificate and ID in one entry');
      mtls = parseMtls(entry);
    } else {
      if (jwt !== undefined) throw entry.error('', 'a second JWT entry; list every accepted audience in one entry');
      jwt = parseJwt(entry);
    }
  });
  if (mtls === undefined && jwt === undefined && operations.some((op) => op.secured)) {
    throw top.error(
      'authentication',
      'secured operations need an mTLS or JWT entry (deny by default); add one, or mark the operations "secured: false"',
    );
  }
  return {
    file,
    name,
    basePath,
    version,
    defaultVersion: top.boolean('defaultVersion', false),
    id,
    endpoint,
    upstreamId,
    operations,
    mtls,
    jwt,
  };
}
