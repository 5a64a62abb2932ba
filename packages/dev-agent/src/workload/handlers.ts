/**
 * The five RPCs of the SPIFFE Workload API, served from the {@link Issuer}. Every call must carry
 * the `workload.spiffe.io: true` metadata (else `InvalidArgument`); a caller with no matching
 * entry gets `PermissionDenied` "no identity issued", except on `ValidateJWTSVID`, which (as
 * SPIRE's agent does) validates its token against the agent's own trust domain bundle. Streams
 * send the full state at once and again after every change that affects the caller.
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import { SpiffeId } from '@spiffe-node/spiffe/spiffeid';
import type { Caller, Issuer } from '../issuer.js';
import type { LogFields, Logger } from '../log.js';
import type { RegistrationEntry } from '../state/entries.js';
import { JwtSvidValidationError } from '../svid/jwt-svid.js';
import { toProtoStruct } from './struct.js';

/** The outcome of attesting the caller of an RPC. */
export interface Attestation {
  /** Who the caller is, or undefined if it could not be attested. */
  caller: Caller | undefined;
  /** What to log about the caller (pid, uid, selectors, socket). */
  fields: LogFields;
}

/** Finds out who is calling. */
export type Attest = (call: { getPeer(): string }) => Promise<Attestation>;

type AnyCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerUnaryCall<unknown, unknown>;

const SECURITY_HEADER = 'workload.spiffe.io';

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

function hasSecurityHeader(call: AnyCall): boolean {
  const values = call.metadata.get(SECURITY_HEADER);
  return values.length === 1 && values[0] === 'true';
}

const noIdentity = (): grpc.ServiceError => statusError(grpc.status.PERMISSION_DENIED, 'no identity issued');
const missingHeader = (): grpc.ServiceError => statusError(grpc.status.INVALID_ARGUMENT, 'security header missing from request');

/**
 * Builds the Workload API handlers.
 *
 * @example
 * ```ts
 * server.addService(service, createWorkloadHandlers(issuer, attest, logger));
 * ```
 */
export function createWorkloadHandlers(issuer: Issuer, attest: Attest, logger: Logger): grpc.UntypedServiceImplementation {
  /** Attests the caller and logs it; undefined when it could not be attested. */
  async function attestCaller(call: AnyCall, method: string): Promise<{ caller: Caller; entries: RegistrationEntry[] } | undefined> {
    const { caller, fields } = await attest(call);
    const entries = caller ? issuer.identitiesFor(caller) : [];
    logger.log('info', 'Workload attested', {
      method,
      ...fields,
      identities: entries.map((e) => e.spiffeId),
    });
    return caller === undefined ? undefined : { caller, entries };
  }

  /** Attests the caller and logs it; undefined when it has no identity. */
  async function identify(call: AnyCall, method: string): Promise<{ caller: Caller; entries: RegistrationEntry[] } | undefined> {
    const attested = await attestCaller(call, method);
    return attested === undefined || attested.entries.length === 0 ? undefined : attested;
  }

  /**
   * Serves a stream: a full message now, another after each change that alters it, and
   * PermissionDenied once the caller has no identity left.
   */
  function serveStream(
    call: grpc.ServerWritableStream<unknown, unknown>,
    method: string,
    build: (entries: RegistrationEntry[]) => Promise<{ version: string; message: unknown }>,
  ): void {
    void (async () => {
      if (!hasSecurityHeader(call)) {
        call.emit('error', missingHeader());
        return;
      }
      const identified = await identify(call, method);
      if (identified === undefined) {
        call.emit('error', noIdentity());
        return;
      }
      const { caller } = identified;
      let lastVersion = '';
      let closed = false;
      let queue: Promise<void> = Promise.resolve();
      const close = (): void => {
        if (closed) return;
        closed = true;
        issuer.off('change', onChange);
      };
      const send = async (): Promise<void> => {
        if (closed) return;
        const entries = issuer.identitiesFor(caller);
        if (entries.length === 0) {
          close();
          logger.log('info', 'Workload lost its last identity; ending the stream', { method });
          call.emit('error', noIdentity());
          return;
        }
        const { version, message } = await build(entries);
        if (closed || version === lastVersion) return;
        lastVersion = version;
        call.write(message);
        logger.log('debug', 'Sent update', { method, identities: entries.map((e) => e.spiffeId) });
      };
      const onChange = (): void => {
        queue = queue.then(send).catch((err: unknown) => {
          logger.log('error', 'Cannot send an update', { method, error: (err as Error).message });
        });
      };
      call.on('cancelled', close);
      call.on('close', close);
      call.on('error', close);
      call.on('finish', close);
      // The first message goes out before any update; a failure there ends the stream.
      const first = send();
      queue = first.catch(() => undefined);
      issuer.on('change', onChange);
      try {
        await first;
      } catch (err) {
        close();
        throw err;
      }
    })().catch((err: unknown) => {
      logger.log('error', 'Stream failed', { method, error: (err as Error).message });
      call.emit('error', statusError(grpc.status.INTERNAL, 'internal error'));
    });
  }

  function bundleVersion(tds: readonly string[]): string {
    return tds.map((td) => issuer.bundleVersion(td)).join(',');
  }

  return {
    FetchX509SVID(call: grpc.ServerWritableStream<unknown, unknown>) {
      serveStream(call, 'FetchX509SVID', async (entries) => {
        const svids = await Promise.all(entries.map((e) => issuer.x509Svid(e)));
        const { own, federated } = issuer.visibleTrustDomains(entries);
        const federatedBundles: Record<string, Buffer> = {};
        for (const td of federated) federatedBundles[`spiffe://${td}`] = issuer.x509BundleDer(td);
        const message = {
          svids: entries.map((e, i) => ({
            spiffe_id: e.spiffeId,
            x509_svid: svids[i]!.certChainDer,
            x509_svid_key: svids[i]!.privateKeyDer,
            bundle: issuer.authority(SpiffeId.fromString(e.spiffeId).trustDomain.name)!.bundleDer(),
            hint: e.hint,
          })),
          crl: [],
          federated_bundles: federatedBundles,
        };
        const version = `${svids.map((s) => s.serial).join(',')}|${bundleVersion([...own, ...federated])}`;
        return { version, message };
      });
    },

    FetchX509Bundles(call: grpc.ServerWritableStream<unknown, unknown>) {
      serveStream(call, 'FetchX509Bundles', async (entries) => {
        const { own, federated } = issuer.visibleTrustDomains(entries);
        const tds = [...own, ...federated];
        const bundles: Record<string, Buffer> = {};
        for (const td of tds) bundles[`spiffe://${td}`] = issuer.x509BundleDer(td);
        return { version: bundleVersion(tds), message: { crl: [], bundles } };
      });
    },

    FetchJWTBundles(call: grpc.ServerWritableStream<unknown, unknown>) {
      serveStream(call, 'FetchJWTBundles', async (entries) => {
        const { own, federated } = issuer.visibleTrustDomains(entries);
        const tds = [...own, ...federated];
        const bundles: Record<string, Buffer> = {};
        for (const td of tds) bundles[`spiffe://${td}`] = Buffer.from(issuer.jwks(td));
        return { version: bundleVersion(tds), message: { bundles } };
      });
    },

    FetchJWTSVID(call: grpc.ServerUnaryCall<{ audience?: string[]; spiffe_id?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      void (async () => {
        if (!hasSecurityHeader(call)) return callback(missingHeader());
        const audience = (call.request.audience ?? []).filter((a) => a !== '');
        if (audience.length === 0) return callback(statusError(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
        let wanted: string | undefined;
        if (call.request.spiffe_id) {
          try {
            wanted = SpiffeId.fromString(call.request.spiffe_id).toString();
          } catch (err) {
            return callback(statusError(grpc.status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${(err as Error).message}`));
          }
        }
        const identified = await identify(call, 'FetchJWTSVID');
        if (identified === undefined) return callback(noIdentity());
        const seen = new Set<string>();
        const entries = identified.entries.filter((e) => {
          if (seen.has(e.spiffeId) || (wanted !== undefined && e.spiffeId !== wanted)) return false;
          seen.add(e.spiffeId);
          return true;
        });
        if (entries.length === 0) return callback(noIdentity());
        const svids = [];
        for (const e of entries) {
          const { token } = await issuer.jwtSvid(e, audience);
          svids.push({ spiffe_id: e.spiffeId, svid: token, hint: e.hint });
        }
        return callback(null, { svids });
      })().catch((err: unknown) => {
        logger.log('error', 'FetchJWTSVID failed', { error: (err as Error).message });
        callback(statusError(grpc.status.INTERNAL, 'internal error'));
      });
    },

    ValidateJWTSVID(call: grpc.ServerUnaryCall<{ audience?: string; svid?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      void (async () => {
        if (!hasSecurityHeader(call)) return callback(missingHeader());
        const audience = call.request.audience ?? '';
        const token = call.request.svid ?? '';
        if (audience === '') return callback(statusError(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
        if (token === '') return callback(statusError(grpc.status.INVALID_ARGUMENT, 'svid must be specified'));
        const attested = await attestCaller(call, 'ValidateJWTSVID');
        if (attested === undefined) return callback(noIdentity());
        // A caller with entries validates against their bundles; one without (a pure verifier,
        // as SPIRE allows) against the bundle of the agent's own trust domain.
        const { own, federated } = issuer.visibleTrustDomains(attested.entries);
        const trustDomains = attested.entries.length > 0 ? [...own, ...federated] : [issuer.config.trustDomain.name];
        try {
          const { spiffeId, claims } = await issuer.validateJwtSvid(token, audience, trustDomains);
          logger.log('info', 'Validated JWT-SVID', { spiffe_id: spiffeId, audience });
          return callback(null, { spiffe_id: spiffeId, claims: toProtoStruct(claims) });
        } catch (err) {
          if (err instanceof JwtSvidValidationError) {
            logger.log('info', 'Rejected JWT-SVID', { audience, reason: err.message });
            return callback(statusError(grpc.status.INVALID_ARGUMENT, err.message));
          }
          throw err;
        }
      })().catch((err: unknown) => {
        logger.log('error', 'ValidateJWTSVID failed', { error: (err as Error).message });
        callback(statusError(grpc.status.INTERNAL, 'internal error'));
      });
    },
  };
}
