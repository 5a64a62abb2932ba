/**
 * The Workload API server: grpc-js serving {@link createWorkloadHandlers} over Unix sockets that
 * the agent accepts itself (a `net.Server` per socket), so it can read each caller's peer
 * credentials at accept time before handing the connection to grpc-js through a connection
 * injector.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { PeerCredentialReader } from '../attest/peercred.js';
import { bootTicks, CallerProcessError, captureCallerProcess } from '../attest/caller-process.js';
import { attestUnix } from '../attest/unix.js';
import type { Issuer } from '../issuer.js';
import type { Logger } from '../log.js';
import { DevAgentError } from '../errors.js';
import { ensurePrivateDir, removeSocket, untrustedSymlinkOnPath } from '../state/secure-fs.js';
import { ensureSocketDirectory, listenUnixSocket, unsafeSocketDirectory } from '../state/unix-socket.js';
import { ConnectionRegistry, type ConnectionOrigin } from './connections.js';
import { createWorkloadHandlers, type Attest } from './handlers.js';

/**
 * A socket that hands out one SPIFFE ID to whoever can connect to it (the fallback without peer
 * credentials).
 *
 * @example
 * ```ts
 * await startDevAgent({ identitySockets: [{ spiffeId: 'spiffe://example.org/server', socketPath: '/run/spiffe/server/api.sock' }] });
 * ```
 */
export interface IdentitySocket {
  spiffeId: string;
  socketPath: string;
}

/** Settings of the {@link WorkloadApiServer}. */
export interface WorkloadApiServerOptions {
  /** The public Workload API socket (mode 0777, in a 0755 directory). */
  socketPath: string;
  identitySockets: readonly IdentitySocket[];
  issuer: Issuer;
  logger: Logger;
  /** Reads peer credentials; without it, public-socket callers cannot be attested. */
  peerCredentials: PeerCredentialReader | undefined;
  /** Why there is no peer credential reader (logged for each unattested caller). */
  peerCredentialsError: string | undefined;
  /** Derive `unix:sha256` selectors. */
  attestSha256: boolean;
}

/**
 * Loads the Workload API service definition from `@spiffe-node/spiffe/proto/workload.proto`.
 *
 * @example
 * ```ts
 * const service = loadWorkloadService();
 * ```
 */
export function loadWorkloadService(): grpc.ServiceDefinition {
  const protoPath = createRequire(import.meta.url).resolve('@spiffe-node/spiffe/proto/workload.proto');
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    SpiffeWorkloadAPI: { service: grpc.ServiceDefinition };
  };
  return pkg.SpiffeWorkloadAPI.service;
}

/**
 * The running Workload API.
 *
 * @example
 * ```ts
 * const server = await WorkloadApiServer.start(options);
 * await server.stop();
 * ```
 */
export class WorkloadApiServer {
  readonly #grpc: grpc.Server;
  readonly #injector: ReturnType<grpc.Server['createConnectionInjector']>;
  readonly #listeners: { server: Server; path: string }[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #connections = new ConnectionRegistry();
  readonly #options: WorkloadApiServerOptions;

  private constructor(options: WorkloadApiServerOptions) {
    this.#options = options;
    this.#grpc = new grpc.Server({ 'grpc.enable_channelz': 0 });
    this.#grpc.addService(loadWorkloadService(), createWorkloadHandlers(options.issuer, this.#attest, options.logger));
    this.#injector = this.#grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  /** Starts listening on the public socket and on every identity socket. */
  static async start(options: WorkloadApiServerOptions): Promise<WorkloadApiServer> {
    const server = new WorkloadApiServer(options);
    try {
      await ensurePrivateDir(dirname(options.socketPath), 0o755);
      await server.#listen(options.socketPath, (socket) => server.#publicOrigin(socket));
      for (const id of options.identitySockets) {
        // The directory of an identity socket is the operator's access control: created 0700 if
        // missing (only this agent's user and root get in), otherwise left as the operator made
        // it (e.g. 0700, owned by the workload's user), unless others could replace the socket.
        const dir = dirname(id.socketPath);
        const planted = await untrustedSymlinkOnPath(dir);
        if (planted !== undefined) {
          options.logger.log('error', 'Refused an unsafe socket directory', {
            socket_path: id.socketPath,
            directory: dir,
            reason: planted,
          });
          throw new DevAgentError('ERR_AGENT_STATE', `cannot serve the identity socket ${id.socketPath}: ${planted}`);
        }
        if (await ensureSocketDirectory(dir)) {
          options.logger.log('info', "Created the identity socket directory, reachable only by this agent's user", {
            directory: dir,
            mode: '0700',
          });
        }
        // The parent too: whoever may rename entries there could replace the whole directory.
        const unsafe = (await unsafeSocketDirectory(dir)) ?? (await unsafeSocketDirectory(dirname(dir)));
        if (unsafe !== undefined) {
          options.logger.log('error', 'Refused an unsafe socket directory', { socket_path: id.socketPath, directory: dir, reason: unsafe });
          throw new DevAgentError('ERR_AGENT_STATE', `cannot serve the identity socket ${id.socketPath}: ${unsafe}`);
        }
        const origin: ConnectionOrigin = { kind: 'identity', spiffeId: id.spiffeId, socketPath: id.socketPath };
        await server.#listen(id.socketPath, () => origin);
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** The number of open Workload API connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  async #listen(path: string, originOf: (socket: Socket) => ConnectionOrigin): Promise<void> {
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      this.#connections.register(socket, originOf(socket));
      this.#injector.injectConnection(socket);
    });
    // Like SPIRE's agent socket: every local user may connect; attestation decides what they get
    // (an identity socket's directory decides who reaches it).
    await listenUnixSocket(server, path, 0o777);
    this.#listeners.push({ server, path });
  }

  #publicOrigin(socket: Socket): ConnectionOrigin {
    const reader = this.#options.peerCredentials;
    if (reader === undefined) {
      return { kind: 'unattested', reason: this.#options.peerCredentialsError ?? 'peer credentials are not available' };
    }
    try {
      // Taken first: the caller's process must have started before its connection was accepted.
      const acceptedAt = bootTicks();
      const cred = reader.read(socket);
      // A PID of 0: the caller is in another PID namespace, only the kernel's uid and gid apply.
      const caller = cred.pid > 0 ? captureCallerProcess(cred, acceptedAt, () => reader.currentPeerPid(socket)) : undefined;
      return { kind: 'peercred', cred, process: caller };
    } catch (err) {
      if (err instanceof CallerProcessError) {
        this.#options.logger.log('warn', 'Refused a workload connection whose process cannot be identified', { reason: err.message });
      }
      return { kind: 'unattested', reason: (err as Error).message };
    }
  }

  readonly #attest: Attest = async (call) => {
    const origin = this.#connections.lookup(call.getPeer());
    if (origin === undefined) return { caller: undefined, fields: { reason: 'unknown connection' } };
    switch (origin.kind) {
      case 'identity':
        return { caller: { kind: 'identity', spiffeId: origin.spiffeId }, fields: { identity_socket: origin.socketPath } };
      case 'unattested':
        return { caller: undefined, fields: { reason: `caller not attested: ${origin.reason}` } };
      case 'peercred': {
        const { cred } = origin;
        const result = await attestUnix(cred, origin.process, this.#options.peerCredentials!, {
          sha256: this.#options.attestSha256,
        });
        if (result.refused !== undefined) {
          this.#options.logger.log('warn', 'Refused a workload whose process changed since it connected', {
            pid: cred.pid,
            change: result.refused,
          });
          return {
            caller: undefined,
            fields: { pid: cred.pid, uid: cred.uid, gid: cred.gid, reason: `caller refused: ${result.refused}` },
          };
        }
        return {
          caller: { kind: 'selectors', selectors: new Set(result.selectors) },
          fields: { pid: cred.pid, uid: cred.uid, gid: cred.gid, selectors: result.selectors },
        };
      }
    }
  };

  /** Stops serving: ends every call and connection and removes the sockets. */
  async stop(): Promise<void> {
    this.#grpc.forceShutdown();
    this.#injector.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(
      this.#listeners.map(({ server, path }) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
        }).then(() => removeSocket(path)),
      ),
    );
    this.#listeners.length = 0;
  }
}
