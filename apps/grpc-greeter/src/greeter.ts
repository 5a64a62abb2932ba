// The Greeter service of proto/greeter.proto, loaded at run time: its definition for the server
// and its client constructor, and the message types both sides use.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** `HelloRequest` of proto/greeter.proto. */
export interface HelloRequest {
  name: string;
  /** SayHelloStream only: how many greetings (1 to 10; 0 means 3). */
  count: number;
}

/** `HelloReply` of proto/greeter.proto: the greeting and the IDs the server authenticated. */
export interface HelloReply {
  message: string;
  /** The client's ID from its X509-SVID. */
  peerId: string;
  /** The subject of the client's JWT-SVID. */
  tokenId: string;
  /** The server's own ID. */
  serverId: string;
}

/** The client of the Greeter service, as grpc-js builds it from the proto. */
export interface GreeterClient extends grpc.Client {
  sayHello(request: Partial<HelloRequest>, options: grpc.CallOptions, callback: grpc.requestCallback<HelloReply>): grpc.ClientUnaryCall;
  sayHelloStream(request: Partial<HelloRequest>, options: grpc.CallOptions): grpc.ClientReadableStream<HelloReply>;
}

/** The handlers a Greeter server implements. */
export interface GreeterHandlers extends grpc.UntypedServiceImplementation {
  sayHello: grpc.handleUnaryCall<HelloRequest, HelloReply>;
  sayHelloStream: grpc.handleServerStreamingCall<HelloRequest, HelloReply>;
}

const PROTO = fileURLToPath(new URL('../proto/greeter.proto', import.meta.url));

/** Loads proto/greeter.proto: the service definition and the client constructor of `greeter.Greeter`. */
export function loadGreeter(): {
  service: grpc.ServiceDefinition;
  Client: new (address: string, credentials: grpc.ChannelCredentials) => GreeterClient;
} {
  // Field names in camelCase (peer_id -> peerId); absent fields read as their defaults.
  const definition = loadSync(PROTO, { keepCase: false, defaults: true });
  const Greeter = (grpc.loadPackageDefinition(definition).greeter as grpc.GrpcObject).Greeter as grpc.ServiceClientConstructor;
  return {
    service: Greeter.service,
    Client: Greeter as unknown as new (address: string, credentials: grpc.ChannelCredentials) => GreeterClient,
  };
}
