// gRPC greeter server: serves greeter.Greeter over SPIFFE mTLS, accepting only the client
// spiffe://example.org/client, and also requires in each call's metadata a JWT-SVID for the
// audience spiffe://example.org/server (`authorization: Bearer <token>`) whose subject that
// client is. Each reply names the client by both credentials, and the server.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { JwtSource, SpiffeId, X509Source, authorizeId, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
import { formatTlsHandshakeError } from '@spiffe-node/spiffe/tls';
import { grpcServerCredentials, peerIdFromGrpcCall } from '@spiffe-node/spiffe/grpc';
import { loadGreeter, type GreeterHandlers, type HelloReply, type HelloRequest } from './greeter.js';

/** The settings: flags, else environment variables, else the defaults. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '0.0.0.0' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '50051' },
      'client-id': { type: 'string', default: process.env.CLIENT_SPIFFE_ID ?? 'spiffe://example.org/client' },
      audience: { type: 'string', default: process.env.JWT_AUDIENCE ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const CLIENT_ID = SpiffeId.fromString(flags['client-id']);
  const AUDIENCES = [flags.audience];
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, CLIENT_ID, AUDIENCES, SOCKET, STARTUP_TIMEOUT_MS };
}

/** SayHelloStream sends this many greetings when the request asks for none, and at most MAX_GREETINGS. */
const DEFAULT_GREETINGS = 3;
const MAX_GREETINGS = 10;

/** A refused call: why (for the server's log), and the status the client gets (no more detail than needed). */
class Refused extends Error {
  constructor(
    readonly reason: string,
    readonly status: { code: grpc.status; details: string },
  ) {
    super(reason);
  }
}

/** A call of either RPC, as a handler gets it. */
type GreeterCall = grpc.ServerUnaryCall<HelloRequest, HelloReply> | grpc.ServerWritableStream<HelloRequest, HelloReply>;

/** The token of an `authorization: Bearer <token>` metadata entry, if there is exactly one. */
function bearerToken(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  return /^Bearer +(\S+)$/i.exec(values[0])?.[1];
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, CLIENT_ID, AUDIENCES, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  // This workload's X509-SVID and X.509 bundles, and the JWT bundles, kept current.
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource = await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const authorizeClient = authorizeId(CLIENT_ID);

  /**
   * Who is calling, by both credentials. The client's X509-SVID was verified and authorized by
   * the server credentials at the TLS handshake, before any call; its JWT-SVID must verify
   * against the JWT bundle of its trust domain, name our audience, and pass the same authorizer.
   */
  async function caller(call: GreeterCall): Promise<{ peerId: string; tokenId: string }> {
    const peerId = peerIdFromGrpcCall(call);
    if (peerId === undefined) {
      throw new Refused('no verified client X509-SVID', { code: grpc.status.UNAUTHENTICATED, details: 'no client X509-SVID' });
    }
    const token = bearerToken(call.metadata);
    if (token === undefined) {
      throw new Refused(`${peerId} sent no "authorization: Bearer <JWT-SVID>" metadata`, {
        code: grpc.status.UNAUTHENTICATED,
        details: 'missing JWT-SVID',
      });
    }
    try {
      const svid = await parseAndValidateJwtSvid(token, jwtSource, AUDIENCES);
      authorizeClient(svid.id, []);
      return { peerId: peerId.toString(), tokenId: svid.id.toString() };
    } catch (err) {
      throw new Refused(`invalid JWT-SVID from ${peerId}: ${err instanceof Error ? err.message : String(err)}`, {
        code: grpc.status.UNAUTHENTICATED,
        details: 'invalid JWT-SVID',
      });
    }
  }

  const serverId = (): string => x509Source.getX509Svid().id.toString();
  const refuse = (method: string, err: unknown): Partial<grpc.StatusObject> => {
    if (err instanceof Refused) {
      console.log(`${method} refused: ${err.reason}`);
      return err.status;
    }
    console.log(`${method} failed: ${err instanceof Error ? err.message : String(err)}`);
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  };

  const handlers: GreeterHandlers = {
    sayHello(call, callback) {
      caller(call).then(
        (who) => {
          console.log(`SayHello from ${who.peerId} (JWT-SVID ${who.tokenId})`);
          callback(null, { message: `Hello ${call.request.name}`, ...who, serverId: serverId() });
        },
        (err: unknown) => callback(refuse('SayHello', err)),
      );
    },
    sayHelloStream(call) {
      caller(call).then(
        (who) => {
          const count = call.request.count || DEFAULT_GREETINGS;
          if (count > MAX_GREETINGS) {
            call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `count must be at most ${MAX_GREETINGS}, not ${count}` });
            return;
          }
          console.log(`SayHelloStream from ${who.peerId} (JWT-SVID ${who.tokenId}): ${count} greetings`);
          for (let i = 1; i <= count; i++) {
            call.write({ message: `Hello ${call.request.name} (${i} of ${count})`, ...who, serverId: serverId() });
          }
          call.end();
        },
        (err: unknown) => call.emit('error', refuse('SayHelloStream', err)),
      );
    },
  };

  const server = new grpc.Server();
  server.addService(loadGreeter().service, handlers);
  // SPIFFE mTLS: present our SVID (rotating), require the client's, authorize only CLIENT_ID.
  // A refused client's connection is closed at the handshake: no call, no handler.
  const credentials = grpcServerCredentials({
    svidSource: x509Source,
    bundleSource: x509Source,
    authorizer: authorizeClient,
    onRejected: (err, socket) => console.log(formatTlsHandshakeError(err, socket)),
  });
  await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${HOST}:${PORT}`, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
  console.log(`Server listening on ${HOST}:${PORT} as ${serverId()}`);

  const stop = (): void => {
    server.forceShutdown();
    void x509Source.close();
    void jwtSource.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(`Server failed: ${String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' ')}`);
  process.exit(1);
});
