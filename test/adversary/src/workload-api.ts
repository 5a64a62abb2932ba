/**
 * A Workload API endpoint the suite controls (gRPC on a Unix socket, the real protocol): it hands
 * every caller the identity and bundles it is given, so the apps run as real processes with the
 * suite's certificates, and a test can play a hostile agent.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { PemPair } from './fixtures.js';

function der(pems: string): Buffer {
  const blocks = pems.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return Buffer.concat(blocks.map((b) => new X509Certificate(b).raw));
}

function service(): grpc.ServiceDefinition {
  const protoPath = createRequire(import.meta.url).resolve('@spiffe-node/spiffe/proto/workload.proto');
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as unknown as { SpiffeWorkloadAPI: { service: grpc.ServiceDefinition } }).SpiffeWorkloadAPI
    .service;
}

export interface ServedIdentity {
  spiffeId: string;
  svid: PemPair;
  /** PEM roots of the workload's own trust domain. */
  bundle: string;
  /** PEM roots of other trust domains, by `spiffe://<td>`. */
  federated: Record<string, string>;
}

export class FixtureWorkloadApi {
  readonly #server = new grpc.Server();
  readonly #dir = mkdtempSync(join(tmpdir(), 'spiffe-adversary-agent-'));
  readonly socketPath = join(this.#dir, 'api.sock');

  private constructor() {}

  /** Serves `identity` to every caller until {@link FixtureWorkloadApi.stop}. */
  static async start(identity: ServedIdentity): Promise<FixtureWorkloadApi> {
    const api = new FixtureWorkloadApi();
    const x509 = {
      svids: [
        {
          spiffe_id: identity.spiffeId,
          x509_svid: der(identity.svid.chain),
          x509_svid_key: createPrivateKey(identity.svid.key).export({ type: 'pkcs8', format: 'der' }),
          bundle: der(identity.bundle),
          hint: '',
        },
      ],
      crl: [],
      federated_bundles: Object.fromEntries(Object.entries(identity.federated).map(([td, pem]) => [td, der(pem)])),
    };
    const bundles = {
      crl: [],
      bundles: { [`spiffe://${new URL(identity.spiffeId).host}`]: der(identity.bundle), ...x509.federated_bundles },
    };
    // Streams stay open (as an agent's do) until the call ends.
    const stream = (message: unknown) => (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write(message);
      call.on('cancelled', () => call.end());
    };
    api.#server.addService(service(), {
      FetchX509SVID: stream(x509),
      FetchX509Bundles: stream(bundles),
      // An empty JWK Set of the workload's trust domain: no JWT-SVID verifies, but the source starts.
      FetchJWTBundles: stream({ bundles: { [`spiffe://${new URL(identity.spiffeId).host}`]: Buffer.from('{"keys":[]}') } }),
      FetchJWTSVID: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'not served here' }),
      ValidateJWTSVID: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'not served here' }),
    });
    await new Promise<void>((resolve, reject) =>
      api.#server.bindAsync(`unix://${api.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return api;
  }

  get address(): string {
    return `unix://${this.socketPath}`;
  }

  stop(): void {
    this.#server.forceShutdown();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
