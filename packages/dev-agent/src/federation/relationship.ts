/**
 * A federation relationship, as `spire-server federation create` takes it: the partner trust
 * domain, its bundle endpoint URL and the endpoint profile (`https_web`, or `https_spiffe` with
 * the SPIFFE ID the endpoint presents). Checked here with SPIRE's rules and messages.
 *
 * @module
 */
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';

/** The bundle endpoint profiles of the SPIFFE Federation specification. */
export type EndpointProfile = 'https_web' | 'https_spiffe';

/** A federation relationship (stored in `federation.json`, served on the admin API). */
export interface FederationRelationship {
  /** The partner trust domain, a name such as `partner.org`. */
  readonly trustDomain: string;
  /** Its bundle endpoint, an `https` URL. */
  readonly bundleEndpointUrl: string;
  readonly profile: EndpointProfile;
  /** With `https_spiffe`: the SPIFFE ID the endpoint's X509-SVID carries. */
  readonly endpointSpiffeId?: string;
}

/**
 * Checks a relationship as SPIRE's server does and normalises it (the trust domain as a name,
 * `spiffe://` accepted before it).
 *
 * @param own - The trust domains the agent holds a CA for: none of them can be federated with
 *   through a bundle endpoint.
 * @throws {@link DevAgentError} `ERR_FEDERATION_INVALID` naming what was wrong.
 * @example
 * ```ts
 * checkRelationship({ trustDomain: 'partner.org', bundleEndpointUrl: 'https://partner.org:8443', profile: 'https_web' }, ['example.org']);
 * ```
 */
export function checkRelationship(params: FederationRelationship, own: readonly string[]): FederationRelationship {
  if (params === null || typeof params !== 'object') throw new TypeError('federation relationship: expected an object');
  let td: TrustDomain;
  try {
    td = TrustDomain.fromString(String(params.trustDomain ?? ''));
  } catch (err) {
    throw invalid(`failed to convert federation relationship: failed to parse trust domain: ${(err as Error).message}`);
  }
  if (own[0] === td.name) throw invalid('unable to create federation relationship for server trust domain');
  if (own.includes(td.name)) {
    throw invalid(
      `unable to create federation relationship for "${td.name}": the agent holds a CA for it (-federatedTrustDomain); remove that flag to fetch its bundle from an endpoint instead`,
    );
  }
  let url: URL;
  try {
    url = new URL(String(params.bundleEndpointUrl ?? ''));
  } catch {
    throw invalid(
      `failed to convert federation relationship: failed to parse bundle endpoint URL: ${JSON.stringify(params.bundleEndpointUrl)} is not a URL`,
    );
  }
  if (url.protocol !== 'https:') throw invalid('failed to convert federation relationship: bundle endpoint URL must use the https scheme');
  if (url.username !== '' || url.password !== '') {
    throw invalid('failed to convert federation relationship: bundle endpoint URL must not contain user info');
  }
  if (params.profile === 'https_web') return { trustDomain: td.name, bundleEndpointUrl: params.bundleEndpointUrl, profile: 'https_web' };
  if (params.profile !== 'https_spiffe') throw invalid(`unknown bundle endpoint profile type: ${JSON.stringify(params.profile ?? '')}`);
  let endpointId: SpiffeId;
  try {
    endpointId = SpiffeId.fromString(String(params.endpointSpiffeId ?? ''));
  } catch (err) {
    throw invalid(`failed to convert federation relationship: failed to parse endpoint SPIFFE ID: ${(err as Error).message}`);
  }
  return {
    trustDomain: td.name,
    bundleEndpointUrl: params.bundleEndpointUrl,
    profile: 'https_spiffe',
    endpointSpiffeId: endpointId.toString(),
  };
}

/**
 * A trust domain given as a name or as `spiffe://name` (the `-id` flags of `bundle` and
 * `federation` take both, as SPIRE's do).
 *
 * @throws {@link DevAgentError} `ERR_FEDERATION_INVALID` for something else.
 * @example
 * ```ts
 * trustDomainName('spiffe://partner.org'); // 'partner.org'
 * ```
 */
export function trustDomainName(value: string): string {
  try {
    return TrustDomain.fromString(value).name;
  } catch (err) {
    throw invalid(`"${value}" is not a trust domain: ${(err as Error).message}`);
  }
}

function invalid(message: string): DevAgentError {
  return new DevAgentError('ERR_FEDERATION_INVALID', message);
}
