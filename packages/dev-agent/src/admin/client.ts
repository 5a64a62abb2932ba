/**
 * A client of the admin API of a running agent (used by the `spire-server`-compatible CLI).
 *
 * @module
 */
import { request } from 'node:http';
import { DevAgentError, type DevAgentErrorCode } from '../errors.js';
import type { FederationRelationship } from '../federation/relationship.js';
import type { EntryParams, RegistrationEntry } from '../state/entries.js';

/**
 * Talks to the admin socket of a running agent.
 *
 * @example
 * ```ts
 * const admin = new AdminClient('/tmp/spiffe-dev-agent/private/admin.sock');
 * const entries = await admin.listEntries();
 * ```
 */
export class AdminClient {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** Whether the agent answers. */
  async health(): Promise<{ status: string; trustDomains: string[] }> {
    return (await this.#call('GET', '/v1/health')) as { status: string; trustDomains: string[] };
  }

  /** All registration entries, in creation order. */
  async listEntries(): Promise<RegistrationEntry[]> {
    return ((await this.#call('GET', '/v1/entries')) as { entries: RegistrationEntry[] }).entries;
  }

  /** Creates an entry. @throws {@link DevAgentError} with the agent's code (`ERR_ENTRY_EXISTS`, ...). */
  async createEntry(params: EntryParams): Promise<RegistrationEntry> {
    return ((await this.#call('POST', '/v1/entries', params)) as { entry: RegistrationEntry }).entry;
  }

  /** Deletes an entry. @throws {@link DevAgentError} `ERR_ENTRY_NOT_FOUND`. */
  async deleteEntry(id: string): Promise<RegistrationEntry> {
    return ((await this.#call('DELETE', `/v1/entries/${encodeURIComponent(id)}`)) as { entry: RegistrationEntry }).entry;
  }

  /**
   * The bundle of a trust domain (the agent's own by default) as PEM, a SPIFFE bundle document, a
   * JWK Set, or (not for the agent's own) the JSON shape of SPIRE's `-output json`.
   */
  async bundle(format: 'pem' | 'spiffe' | 'jwks' | 'json', trustDomain?: string): Promise<string> {
    const query = new URLSearchParams({ format });
    if (trustDomain !== undefined) query.set('trustDomain', trustDomain);
    return (await this.#call('GET', `/v1/bundle?${query}`)) as string;
  }

  /** The trust domains other than the agent's own that it has a bundle for (local CAs and foreign bundles), sorted. */
  async federatedTrustDomains(): Promise<string[]> {
    return ((await this.#call('GET', '/v1/federated-bundles')) as { trustDomains: string[] }).trustDomains;
  }

  /**
   * Sets the bundle of a foreign trust domain (`spire-server bundle set`).
   *
   * @param bundle - A SPIFFE bundle document (parsed JSON).
   * @throws {@link DevAgentError} `ERR_FEDERATION_INVALID`.
   */
  async setBundle(trustDomain: string, bundle: unknown): Promise<Record<string, unknown>> {
    const path = `/v1/bundle?${new URLSearchParams({ trustDomain })}`;
    return (JSON.parse((await this.#call('PUT', path, { bundle })) as string) as { bundle: Record<string, unknown> }).bundle;
  }

  /** Deletes the bundle of a foreign trust domain. @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND`, `ERR_FEDERATION_IN_USE`. */
  async deleteBundle(trustDomain: string): Promise<void> {
    await this.#call('DELETE', `/v1/bundle?${new URLSearchParams({ trustDomain })}`);
  }

  /** The federation relationships, each with the bundle held for its trust domain (SPIRE's JSON shape). */
  async listFederation(): Promise<Array<FederationRelationship & { bundle?: Record<string, unknown> }>> {
    return (
      (await this.#call('GET', '/v1/federation')) as { relationships: Array<FederationRelationship & { bundle?: Record<string, unknown> }> }
    ).relationships;
  }

  /**
   * Creates (or with `replace`, updates) a federation relationship, with the partner's bundle when given.
   *
   * @throws {@link DevAgentError} `ERR_FEDERATION_INVALID`, `ERR_FEDERATION_EXISTS`, `ERR_FEDERATION_NOT_FOUND`.
   */
  async putFederation(
    relationship: FederationRelationship,
    replace: boolean,
    bundle?: unknown,
  ): Promise<FederationRelationship & { bundle?: Record<string, unknown> }> {
    return (
      (await this.#call('POST', '/v1/federation', { relationship, replace, bundle })) as {
        relationship: FederationRelationship & { bundle?: Record<string, unknown> };
      }
    ).relationship;
  }

  /** Deletes a federation relationship. @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND`. */
  async deleteFederation(trustDomain: string): Promise<void> {
    await this.#call('DELETE', `/v1/federation/${encodeURIComponent(trustDomain)}`);
  }

  /** Fetches a partner's bundle now. @throws {@link DevAgentError} `ERR_FEDERATION_NOT_FOUND`, `ERR_FEDERATION_FETCH`. */
  async refreshFederation(trustDomain: string): Promise<void> {
    await this.#call('POST', `/v1/federation/${encodeURIComponent(trustDomain)}/refresh`);
  }

  /** Re-mints every X509-SVID now. */
  async rotateX509(): Promise<void> {
    await this.#call('POST', '/v1/rotate/x509');
  }

  /** Mints new JWT signing keys, active at once. */
  async rotateJwt(): Promise<void> {
    await this.#call('POST', '/v1/rotate/jwt');
  }

  #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const json = (res.headers['content-type'] ?? '').startsWith('application/json');
            if ((res.statusCode ?? 500) >= 400) {
              let code: DevAgentErrorCode = 'ERR_ADMIN_API';
              let message = text;
              try {
                const parsed = JSON.parse(text) as { error?: { code?: DevAgentErrorCode; message?: string } };
                code = parsed.error?.code ?? code;
                message = parsed.error?.message ?? text;
              } catch {
                // Not JSON: keep the text.
              }
              reject(new DevAgentError(code, message));
              return;
            }
            if (json && !path.startsWith('/v1/bundle')) {
              try {
                resolve(JSON.parse(text) as unknown);
              } catch (err) {
                reject(new DevAgentError('ERR_ADMIN_API', `the agent sent invalid JSON: ${(err as Error).message}`));
              }
              return;
            }
            resolve(text);
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(
          new DevAgentError(
            'ERR_ADMIN_API',
            `cannot reach the agent's admin socket ${this.socketPath}: ${err.code ?? err.message}; is the agent running (pnpm agent), and are you its user or root?`,
            { cause: err },
          ),
        );
      });
      req.end(payload);
    });
  }
}
