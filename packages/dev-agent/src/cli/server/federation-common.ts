/**
 * What the `spire-server federation` commands share: a relationship printed as SPIRE prints it
 * (pretty and JSON), and the flags and request of `federation create` and `federation update`.
 *
 * @module
 */
import type { AdminClient } from '../../admin/client.js';
import { DevAgentError } from '../../errors.js';
import type { FederationRelationship } from '../../federation/relationship.js';
import { FlagError, type FlagSpec, type ParsedFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { parseBundleData, readBundleFile } from './bundle-file.js';
import { client, outputFlag, outputFormat, socketFlag } from './common.js';

/** A relationship as the admin API returns it: with the bundle held for its trust domain, if any. */
export type ListedRelationship = FederationRelationship & { bundle?: Record<string, unknown> };

/**
 * A relationship as SPIRE prints it (26-character labels).
 *
 * @example
 * ```ts
 * io.stdout(`\n${formatRelationship(r)}`);
 * ```
 */
export function formatRelationship(r: {
  trustDomain: string;
  bundleEndpointUrl: string;
  profile: string;
  endpointSpiffeId?: string;
}): string {
  const lines = [
    `Trust domain              : ${r.trustDomain}`,
    `Bundle endpoint URL       : ${r.bundleEndpointUrl}`,
    `Bundle endpoint profile   : ${r.profile}`,
  ];
  if (r.profile === 'https_spiffe') lines.push(`Endpoint SPIFFE ID        : ${r.endpointSpiffeId ?? ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A relationship in the JSON shape of SPIRE's `-output json`.
 *
 * @example
 * ```ts
 * JSON.stringify({ federation_relationships: relationships.map(relationshipJson) });
 * ```
 */
export function relationshipJson(r: ListedRelationship): Record<string, unknown> {
  const json: Record<string, unknown> = { bundle_endpoint_url: r.bundleEndpointUrl };
  if (r.profile === 'https_spiffe') json.https_spiffe = { endpoint_spiffe_id: r.endpointSpiffeId };
  else json.https_web = {};
  json.trust_domain = r.trustDomain;
  if (r.bundle !== undefined) json.trust_domain_bundle = r.bundle;
  return json;
}

/** The flags of `federation create` and `federation update`. */
export const putFlags = (io: CliIo): FlagSpec[] => [
  socketFlag(io),
  outputFlag,
  { name: 'bundleEndpointProfile', kind: 'string', usage: 'Endpoint profile type (either "https_web" or "https_spiffe")' },
  {
    name: 'bundleEndpointURL',
    kind: 'string',
    usage: 'URL of the SPIFFE bundle endpoint that provides the trust bundle (must use the HTTPS protocol)',
  },
  {
    name: 'data',
    kind: 'string',
    usage: "Path to a file containing federation relationships in JSON format (optional). If set to '-', read the JSON from stdin.",
  },
  { name: 'endpointSpiffeID', kind: 'string', usage: "SPIFFE ID of the SPIFFE bundle endpoint server. Only used for 'spiffe' profile." },
  { name: 'trustDomain', kind: 'string', usage: 'Name of the trust domain to federate with (e.g., example.org)' },
  {
    name: 'trustDomainBundleFormat',
    kind: 'string',
    usage: 'The format of the bundle data (optional). Either "pem" or "spiffe".',
    default: 'pem',
  },
  { name: 'trustDomainBundlePath', kind: 'string', usage: 'Path to the trust domain bundle data (optional).' },
];

/** A relationship to create or update, with its bundle (a SPIFFE bundle document) when given. */
interface PutRequest {
  relationship: FederationRelationship;
  bundle: unknown;
}

function bundleFormatOf(value: string): 'pem' | 'spiffe' {
  if (value !== 'pem' && value !== 'spiffe') throw new FlagError(`invalid format: "${value}"`);
  return value;
}

function requestOf(fields: {
  trustDomain: string;
  url: string;
  profile: string;
  endpointId: string;
  bundlePath: string;
  bundleData?: string;
  bundleFormat: string;
}): PutRequest {
  if (fields.trustDomain === '') throw new FlagError('trust domain is required');
  if (fields.url === '') throw new FlagError('bundle endpoint URL is required');
  if (fields.profile !== 'https_web' && fields.profile !== 'https_spiffe')
    throw new FlagError(`unknown bundle endpoint profile type: "${fields.profile}"`);
  if (fields.profile === 'https_spiffe' && fields.endpointId === '') {
    throw new FlagError("endpoint SPIFFE ID is required if 'https_spiffe' endpoint profile is set");
  }
  const trustDomain = fields.trustDomain.replace(/^spiffe:\/\//i, '');
  let bundle: unknown;
  const data = fields.bundleData ?? (fields.bundlePath === '' ? undefined : readBundleFile(fields.bundlePath, 'cannot read bundle file'));
  if (data !== undefined) bundle = parseBundleData(data, bundleFormatOf(fields.bundleFormat), trustDomain);
  const relationship: FederationRelationship = {
    trustDomain,
    bundleEndpointUrl: fields.url,
    profile: fields.profile,
    ...(fields.profile === 'https_spiffe' ? { endpointSpiffeId: fields.endpointId } : {}),
  };
  return { relationship, bundle };
}

/** Relationships of a `-data` JSON file (`{"federationRelationships": [...]}`, as SPIRE reads it). */
function requestsFromData(text: string): PutRequest[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FlagError(`failed to parse JSON: ${(err as Error).message}`);
  }
  const list = (parsed as { federationRelationships?: unknown } | null)?.federationRelationships;
  if (!Array.isArray(list)) throw new FlagError('the federation JSON has no "federationRelationships" array');
  return list.map((item: unknown) => {
    const r = (item ?? {}) as Record<string, unknown>;
    const str = (name: string): string => (typeof r[name] === 'string' ? r[name] : '');
    return requestOf({
      trustDomain: str('trustDomain'),
      url: str('bundleEndpointURL'),
      profile: str('bundleEndpointProfile'),
      endpointId: str('endpointSPIFFEID'),
      bundlePath: '',
      bundleData: str('trustDomainBundle') === '' ? undefined : str('trustDomainBundle'),
      bundleFormat: str('trustDomainBundleFormat') || 'pem',
    });
  });
}

function requests(flags: ParsedFlags, io: CliIo): PutRequest[] {
  const data = flags.strings.get('data');
  if (data !== undefined && data !== '') {
    const text = data === '-' ? io.readStdin() : readBundleFile(data, 'cannot read federation relationships');
    return requestsFromData(text);
  }
  return [
    requestOf({
      trustDomain: flags.strings.get('trustDomain') ?? '',
      url: flags.strings.get('bundleEndpointURL') ?? '',
      profile: flags.strings.get('bundleEndpointProfile') ?? '',
      endpointId: flags.strings.get('endpointSpiffeID') ?? '',
      bundlePath: flags.strings.get('trustDomainBundlePath') ?? '',
      bundleFormat: flags.strings.get('trustDomainBundleFormat') ?? 'pem',
    }),
  ];
}

/** SPIRE's gRPC status and message for a failed create or update. */
function failure(err: DevAgentError, verb: 'create' | 'update'): { code: string; msg: string } {
  switch (err.code) {
    case 'ERR_FEDERATION_INVALID':
      return { code: 'InvalidArgument', msg: err.message };
    case 'ERR_FEDERATION_NOT_FOUND':
      return {
        code: 'Internal',
        msg: 'failed to update federation relationship: unable to fetch federation relationship: record not found',
      };
    default:
      // SPIRE reports a second relationship for a trust domain as its datastore's Internal error.
      return { code: 'Internal', msg: `failed to ${verb} federation relationship: ${err.message}` };
  }
}

/**
 * Runs `federation create` (`replace` false) or `federation update` (`replace` true).
 *
 * @returns the exit code.
 * @example
 * ```ts
 * await putRelationships(flags, io, false);
 * ```
 */
export async function putRelationships(flags: ParsedFlags, io: CliIo, replace: boolean): Promise<number> {
  const output = outputFormat(flags);
  const verb = replace ? 'update' : 'create';
  const wanted = requests(flags, io);
  const admin: AdminClient = client(flags, io);
  const results: Array<Record<string, unknown>> = [];
  let failed = false;
  for (const { relationship, bundle } of wanted) {
    if (output === 'pretty') io.stdout('\n');
    try {
      const done = await admin.putFederation(relationship, replace, bundle);
      if (output === 'pretty') io.stdout(formatRelationship(done));
      results.push({ federation_relationship: relationshipJson(done), status: { code: 0, message: 'OK' } });
    } catch (err) {
      if (!(err instanceof DevAgentError) || !err.code.startsWith('ERR_FEDERATION_')) throw err;
      failed = true;
      const { code, msg } = failure(err, verb);
      if (output === 'pretty') {
        io.stderr(
          `Failed to ${verb} the following federation relationship (code: ${code}, msg: ${JSON.stringify(msg)}):\n${formatRelationship(relationship)}`,
        );
      }
      results.push({
        federation_relationship: relationshipJson(relationship),
        status: { code: code === 'InvalidArgument' ? 3 : 13, message: msg },
      });
    }
  }
  if (output === 'json') io.stdout(`${JSON.stringify({ results })}\n`);
  if (failed) {
    io.stderr(`Error: failed to ${verb} one or more federation relationships\n`);
    return 1;
  }
  return 0;
}
