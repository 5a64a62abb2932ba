// gRPC greeter client: calls greeter.Greeter over SPIFFE mTLS, accepting only the server
// spiffe://example.org/server, with a JWT-SVID for the audience given as first argument (default
// spiffe://example.org/server) in each call's metadata; makes one SayHello and one
// SayHelloStream call and prints every reply.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { JwtSource, SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { grpcChannelCredentials } from '@spiffe-node/spiffe/grpc';
import { loadGreeter, type GreeterClient, type HelloReply } from './greeter.js';

/** The settings: flags, else environment variables, else the defaults. */
function settings() {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '50051' },
      'server-id': { type: 'string', default: process.env.SERVER_SPIFFE_ID ?? 'spiffe://example.org/server' },
      'no-token': { type: 'boolean', default: false },
      name: { type: 'string', default: 'world' },
      count: { type: 'string', default: '3' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const TARGET = `${flags.host}:${flags.port}`;
  const SERVER_ID = SpiffeId.fromString(flags['server-id']);
  const AUDIENCE = positionals[0] ?? 'spiffe://example.org/server';
  const SEND_TOKEN = !flags['no-token'];
  const NAME = flags.name;
  const COUNT = Number(flags.count);
  if (!Number.isSafeInteger(COUNT) || COUNT < 0) throw new Error(`--count must be a whole number, not "${flags.count}"`);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { TARGET, SERVER_ID, AUDIENCE, SEND_TOKEN, NAME, COUNT, SOCKET, STARTUP_TIMEOUT_MS };
}

/** How long each call may take, connection included. */
const CALL_TIMEOUT_MS = 30_000;

/** Call credentials that put a JWT-SVID for `audience` in each call's `authorization` metadata. */
function jwtSvidCallCredentials(source: JwtSource, audience: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    source.fetchJwtSvid({ audience }).then(
      (svid) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${svid.token}`);
        callback(null, metadata);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

function sayHello(client: GreeterClient, name: string): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    client.sayHello({ name }, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, reply) => {
      if (err) reject(err);
      else if (reply) resolve(reply);
      else reject(new Error('SayHello: the call ended with neither a reply nor an error'));
    });
  });
}

function describeReply(reply: HelloReply): string {
  return `"${reply.message}" from ${reply.serverId} to ${reply.peerId} (JWT-SVID ${reply.tokenId})`;
}

/** `UNAUTHENTICATED: invalid JWT-SVID` for a gRPC status error, else the error's message. */
function describeError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError> | undefined;
  if (e && typeof e.code === 'number' && typeof e.details === 'string') {
    // grpc-js ends connection failures with an empty "Resolution note:".
    return `${grpc.status[e.code]}: ${e.details.replace(/\s*Resolution note:\s*$/, '')}`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { TARGET, SERVER_ID, AUDIENCE, SEND_TOKEN, NAME, COUNT, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource = SEND_TOKEN ? await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS }) : undefined;

  // SPIFFE mTLS: present our SVID, and talk only to a server whose SVID is SERVER_ID.
  const mtls = grpcChannelCredentials({ svidSource: x509Source, bundleSource: x509Source, authorizer: authorizeId(SERVER_ID) });
  const credentials = jwtSource ? grpc.credentials.combineChannelCredentials(mtls, jwtSvidCallCredentials(jwtSource, AUDIENCE)) : mtls;
  const client = new (loadGreeter().Client)(TARGET, credentials);
  let method = 'SayHello';
  try {
    console.log(`SayHello: ${describeReply(await sayHello(client, NAME))}`);
    method = 'SayHelloStream';
    const stream = client.sayHelloStream({ name: NAME, count: COUNT }, { deadline: Date.now() + CALL_TIMEOUT_MS });
    for await (const reply of stream as AsyncIterable<HelloReply>) console.log(`SayHelloStream: ${describeReply(reply)}`);
  } catch (err) {
    throw new Error(`${method} failed: ${describeError(err)}`);
  } finally {
    client.close();
    void x509Source.close();
    void jwtSource?.close();
  }
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' '));
  process.exit(1);
});
