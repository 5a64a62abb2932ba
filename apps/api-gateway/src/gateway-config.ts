/**
 * The gateway's configuration file and everything it points at: API definitions and pinned
 * certificates, read and validated as a whole, so that a reload either applies completely or
 * not at all.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { SpiffeId } from '@spiffe-node/spiffe';
import { parseApiDefinition, type ApiDefinition } from './api-definition.js';
import { PinnedCertificates, pemCertificates } from './certificates.js';
import { GatewayConfigError } from './config-error.js';
import { Fields, describe, parseYaml } from './fields.js';
import { RouteTable } from './routes.js';

/**
 * The header WSO2 APK reads the client certificate from when TLS ends before the gateway.
 *
 * @example
 * ```ts
 * req.headers[DEFAULT_CLIENT_CERTIFICATE_HEADER]; // raw or URL-encoded PEM
 * ```
 */
export const DEFAULT_CLIENT_CERTIFICATE_HEADER = 'x-wso2-client-certificate';

/**
 * Envoy's header; parsed as XFCC when it is the configured client certificate header.
 *
 * @example
 * ```ts
 * const elements = parseXfcc(String(req.headers[XFCC_HEADER]));
 * ```
 */
export const XFCC_HEADER = 'x-forwarded-client-cert';

/**
 * Headers that carry a client identity in common proxies. The gateway never forwards any of them
 * (nor the configured one) upstream, whoever sent them.
 *
 * @example
 * ```ts
 * for (const header of CLIENT_IDENTITY_HEADERS) delete req.headers[header];
 * ```
 */
export const CLIENT_IDENTITY_HEADERS: readonly string[] = [
  XFCC_HEADER,
  DEFAULT_CLIENT_CERTIFICATE_HEADER,
  'x-ssl-client-cert',
  'ssl-client-cert',
  'x-client-cert',
  'x-client-certificate',
  'x-amzn-mtls-clientcert',
  'x-amzn-mtls-clientcert-leaf',
];

/**
 * An API definition with its pinned certificates read.
 *
 * @example
 * ```ts
 * for (const api of config.apis) console.log(api.definition.name, api.pinned.size);
 * ```
 */
export interface LoadedApi {
  definition: ApiDefinition;
  /** Pinned certificates of its mTLS entry (empty without one). */
  pinned: PinnedCertificates;
}

/**
 * Everything the gateway runs with, validated. Immutable: a reload builds a new one.
 *
 * @example
 * ```ts
 * const config = await loadGatewayConfig('config/gateway.yaml');
 * console.log(config.apis.map((a) => a.definition.name));
 * ```
 */
export interface GatewayConfig {
  /** The configuration file. */
  file: string;
  apis: LoadedApi[];
  routes: RouteTable;
  /** Lower-case name of the header believed from trusted proxies. */
  clientCertificateHeader: string;
  /** Peers (by X509-SVID) whose certificate header is believed. */
  trustedProxies: SpiffeId[];
  /** Put the client certificate (`Cert=`) into the XFCC sent upstream. */
  forwardCert: boolean;
  /** Where `certificates[].name/key` are read. */
  certificatesDir: string;
}

const GATEWAY_FIELDS = ['apis', 'certificatesDir', 'clientCertificateHeader', 'trustedProxies', 'forwardClientCert'];
const API_FILE = /\.(apk-conf|ya?ml)$/;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

async function readText(path: string, file: string, field: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new GatewayConfigError(
      file,
      field,
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Lists the API definition files of a path: the file itself, or the definitions in a directory. */
async function apiFiles(path: string, file: string, field: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new GatewayConfigError(file, field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!info.isDirectory()) return [path];
  // A mounted ConfigMap holds ..data and ..<timestamp> entries: anything starting with "." is skipped.
  const names = (await readdir(path)).filter((n) => !n.startsWith('.') && API_FILE.test(n)).sort();
  const files: string[] = [];
  for (const name of names) {
    const full = join(path, name);
    if ((await stat(full)).isFile()) files.push(full);
  }
  if (files.length === 0) {
    throw new GatewayConfigError(file, field, `${path} holds no API definition (*.apk-conf, *.yaml or *.yml files)`);
  }
  return files;
}

function parseCertificate(der: Uint8Array, file: string, field: string, where: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new GatewayConfigError(file, field, `${where} holds a certificate that cannot be parsed: ${(err as Error).message}`);
  }
}

function certificatesIn(text: string, file: string, field: string, where: string): X509Certificate[] {
  let ders: Uint8Array[];
  try {
    ders = pemCertificates(text);
  } catch (err) {
    throw new GatewayConfigError(file, field, `${where}: ${(err as Error).message}`);
  }
  if (ders.length === 0) throw new GatewayConfigError(file, field, `${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return ders.map((der) => parseCertificate(der, file, field, where));
}

async function loadApi(definition: ApiDefinition, certificatesDir: string): Promise<LoadedApi> {
  const certs: X509Certificate[] = [];
  const mtls = definition.mtls;
  const file = definition.file;
  if (mtls !== undefined) {
    const index = mtls.field;
    for (const [i, ref] of mtls.certificates.entries()) {
      const path = join(certificatesDir, ref.name, ref.key);
      const field = `${index}.certificates[${i}]`;
      const text = await readText(path, file, field, `key "${ref.key}" of ConfigMap or Secret "${ref.name}" at`);
      certs.push(...certificatesIn(text, file, field, path));
    }
    mtls.certificatesInline.forEach((pem, i) => {
      certs.push(...certificatesIn(pem, file, `${index}.certificatesInline[${i}]`, 'the inline certificate'));
    });
  }
  return { definition, pinned: new PinnedCertificates(certs) };
}

/**
 * Reads the gateway configuration file, then every API definition it lists and every
 * certificate those reference, and checks them together (no two APIs on the same path).
 *
 * The file (YAML):
 *
 * ```yaml
 * apis: [apis/]                                        # files or directories, relative to this file
 * certificatesDir: certs                               # certificates[].name/key -> certs/<name>/<key>
 * clientCertificateHeader: X-WSO2-CLIENT-CERTIFICATE   # or x-forwarded-client-cert (Envoy's XFCC)
 * trustedProxies: [spiffe://example.org/front-proxy]   # whose header is believed (by X509-SVID)
 * forwardClientCert: { cert: false }                   # add Cert= to the XFCC sent upstream
 * ```
 *
 * @param path - The configuration file.
 * @throws {@link GatewayConfigError} naming the file and field at fault.
 * @example
 * ```ts
 * const config = await loadGatewayConfig('config/gateway.yaml');
 * ```
 */
export async function loadGatewayConfig(path: string): Promise<GatewayConfig> {
  const file = resolve(path);
  const name = path;
  const top = Fields.root(parseYaml(await readText(file, name, '', 'the configuration file'), name), name, GATEWAY_FIELDS);
  const base = dirname(file);
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));

  const apiPaths = top.strings('apis');
  if (apiPaths.length === 0) throw top.error('apis', 'is required: list API definition files or directories');
  const certificatesDir = at(top.string('certificatesDir', 'certs'));
  const header = top.string('clientCertificateHeader', DEFAULT_CLIENT_CERTIFICATE_HEADER);
  if (!HEADER_NAME.test(header)) throw top.error('clientCertificateHeader', `${describe(header)} is not an HTTP header name`);
  const forward = top.mapping('forwardClientCert', ['cert']);
  const trustedProxies = top.spiffeIds('trustedProxies');

  const definitions: ApiDefinition[] = [];
  for (const [i, p] of apiPaths.entries()) {
    for (const apiFile of await apiFiles(at(p), name, `apis[${i}]`)) {
      definitions.push(parseApiDefinition(await readText(apiFile, apiFile, '', 'the API definition'), apiFile));
    }
  }
  const apis = await Promise.all(definitions.map((d) => loadApi(d, certificatesDir)));
  const routes = new RouteTable(apis.map((a) => a.definition));
  return {
    file,
    apis,
    routes,
    clientCertificateHeader: header.toLowerCase(),
    trustedProxies,
    forwardCert: forward?.boolean('cert', false) ?? false,
    certificatesDir,
  };
}
