/**
 * Hostile servers for the client helpers, on node's own TLS stack (tls, https, http2, gRPC on http2):
 * each presents the chain it is given, speaks the protocol of the client under attack, and
 * answers every request with `PWNED`. A client helper that gets `PWNED` talked to the attacker.
 * Session tickets are on (Node's defaults), so a client can resume a session with them.
 */
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { PemPair } from './fixtures.js';
import { pythonPath, pyScript } from './python.js';
import { listenOnLoopback, type Listening } from './listening.js';

export const PWNED = 'PWNED';
export const GRPC_PWNED_PATH = '/adversary.Hostile/Pwn';
/** apps/grpc-greeter's methods, answered as {@link GRPC_PWNED_PATH} is. */
const GREETER_PATHS = new Set(['/greeter.Greeter/SayHello', '/greeter.Greeter/SayHelloStream']);

export type ClientProtocol = 'tls' | 'https' | 'h2' | 'grpc';

export type HostileServer = Listening;

/** Starts a hostile server of `protocol` presenting `identity`. */
export async function startHostileServer(protocol: ClientProtocol, identity: PemPair): Promise<HostileServer> {
  // Security level 0: an attacker's stack loads the SHA-1-signed chain that OpenSSL's default refuses.
  const creds = { cert: identity.chain, key: identity.key, ciphers: 'DEFAULT:@SECLEVEL=0' };
  switch (protocol) {
    case 'tls': {
      const server = tls.createServer(creds, (socket) => {
        socket.on('error', () => {});
        socket.end(`${PWNED}\n`);
      });
      server.on('tlsClientError', () => {});
      return listenOnLoopback(server);
    }
    case 'https': {
      const server = https.createServer(creds, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(`${PWNED}\n`);
      });
      server.on('tlsClientError', () => {});
      return listenOnLoopback(server);
    }
    case 'h2': {
      const server = http2.createSecureServer({ ...creds, allowHTTP1: false }, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${PWNED}\n`);
      });
      server.on('tlsClientError', () => {});
      return listenOnLoopback(server);
    }
    case 'grpc': {
      // gRPC over node:http2 by hand (grpc-js cannot lower its security level for the SHA-1 chain).
      const server = http2.createSecureServer(creds);
      server.on('stream', (stream, headers) => {
        stream.on('error', () => {});
        stream.resume();
        if (headers[':path'] !== GRPC_PWNED_PATH && !GREETER_PATHS.has(String(headers[':path']))) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
          return;
        }
        // A protobuf message whose field 1 (a string) is PWNED: apps/grpc-greeter's HelloReply
        // (its `message`), and still PWNED as text to the clients that read raw bytes.
        const text = Buffer.from(`${PWNED}\n`);
        const message = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      });
      server.on('tlsClientError', () => {});
      return listenOnLoopback(server);
    }
  }
}

/**
 * A TLS 1.2 server (py/hostile_server.py, pyOpenSSL) that presents `first`, then renegotiates
 * presenting `then`, and only then sends `PWNED`.
 */
export async function startRenegotiatingServer(first: PemPair, then: PemPair): Promise<HostileServer> {
  const child = spawn(
    pythonPath(),
    [
      pyScript('hostile_server.py'),
      '--chain',
      first.chainPath,
      '--key',
      first.keyPath,
      '--renegotiate-chain',
      then.chainPath,
      '--renegotiate-key',
      then.keyPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONWARNINGS: 'ignore' } },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit');
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line') as Promise<[string]>,
    exited.then(() => {
      throw new Error(`hostile_server.py exited before listening: ${stderr}`);
    }),
  ]);
  return {
    port: Number(line),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** How the table names the hostile server of each protocol. */
export const PEER_OF_PROTOCOL: Record<ClientProtocol, string> = {
  tls: 'node:tls server',
  https: 'node:https server',
  h2: 'node:http2 server',
  grpc: 'node:http2 server speaking gRPC',
};
