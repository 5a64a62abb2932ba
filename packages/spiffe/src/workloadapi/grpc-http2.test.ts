import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseWorkloadApiAddress } from './address.js';
import { GrpcHttp2Channel, GrpcStatus, MAX_RECEIVE_MESSAGE_BYTES, type GrpcCallStatus } from './grpc-http2.js';

// The gRPC client of the Workload API against raw node:http2 servers that behave as the gRPC
// protocol allows, and as it does not.

const dir = mkdtempSync(join(tmpdir(), 'spiffe-grpc-http2-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP/2 server on a fresh Unix socket; `handle` answers each stream once its request body is in. */
async function serve(handle: (stream: ServerHttp2Stream, received: Received) => void) {
  const path = join(dir, `s${serial++}.sock`);
  const requests: Received[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const received = { headers, body: Buffer.concat(chunks) };
      requests.push(received);
      handle(stream, received);
    });
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    address: parseWorkloadApiAddress(`unix://${path}`),
    requests,
    sessions,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A length-prefixed gRPC message. */
function grpcFrame(payload: Buffer, compressed = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Runs one call; resolves with what the handlers heard. */
function run(channel: GrpcHttp2Channel, request = Buffer.from('req'), onCall?: (cancel: () => void) => void) {
  return new Promise<{ messages: Buffer[]; status: GrpcCallStatus; ends: number }>((resolve) => {
    const messages: Buffer[] = [];
    let ends = 0;
    const call = channel.call(
      '/SpiffeWorkloadAPI/FetchX509SVID',
      request,
      { 'workload.spiffe.io': 'true' },
      {
        message: (m) => messages.push(Buffer.from(m)),
        end: (status) => {
          ends++;
          // Let anything that would arrive late arrive before answering.
          setTimeout(() => resolve({ messages, status, ends }), 50);
        },
      },
    );
    onCall?.(() => call.cancel());
  });
}

function okResponse(stream: ServerHttp2Stream, body: Buffer | Buffer[], trailers: Record<string, string> = { 'grpc-status': '0' }) {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  const parts = Array.isArray(body) ? body : [body];
  for (const part of parts) stream.write(part);
  stream.end();
}

describe('GrpcHttp2Channel', () => {
  it('sends a gRPC request: POST, application/grpc, te: trailers, the metadata, one framed message', async () => {
    const server = await serve((stream) => okResponse(stream, grpcFrame(Buffer.from('answer'))));
    const channel = new GrpcHttp2Channel(server.address);
    try {
      const { messages, status } = await run(channel, Buffer.from('hello'));
      assert.deepEqual(status, { code: 0, details: '' });
      assert.deepEqual(messages.map(String), ['answer']);
      const { headers, body } = server.requests[0]!;
      assert.equal(headers[':method'], 'POST');
      assert.equal(headers[':path'], '/SpiffeWorkloadAPI/FetchX509SVID');
      assert.equal(headers['content-type'], 'application/grpc');
      assert.equal(headers.te, 'trailers');
      assert.equal(headers['workload.spiffe.io'], 'true');
      assert.deepEqual(body, grpcFrame(Buffer.from('hello')));
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('splits messages whatever the chunking: byte by byte, and several in one chunk', async () => {
    const frames = Buffer.concat([grpcFrame(Buffer.from('one')), grpcFrame(Buffer.alloc(0)), grpcFrame(Buffer.from('three'))]);
    const server = await serve((stream, { headers }) => {
      if (headers['x-mode'] === 'bytes')
        okResponse(
          stream,
          [...frames].map((b) => Buffer.from([b])),
        );
      else okResponse(stream, frames);
    });
    const channel = new GrpcHttp2Channel(server.address);
    try {
      for (const mode of ['bytes', 'whole']) {
        const heard = await new Promise<string[]>((resolve) => {
          const got: string[] = [];
          channel.call('/S/M', Buffer.alloc(0), { 'x-mode': mode }, { message: (m) => got.push(String(m)), end: () => resolve(got) });
        });
        assert.deepEqual(heard, ['one', '', 'three'], mode);
      }
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('reads the status of a trailers-only response and percent-decodes grpc-message', async () => {
    const server = await serve((stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'no%20identity%20issued%3A%20%C3%A9' },
        { endStream: true },
      );
    });
    const channel = new GrpcHttp2Channel(server.address);
    try {
      const { status, messages } = await run(channel);
      assert.deepEqual(status, { code: GrpcStatus.PERMISSION_DENIED, details: 'no identity issued: é' });
      assert.equal(messages.length, 0);
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('maps HTTP failures and non-gRPC responses to their gRPC status', async () => {
    const cases: Array<[number, string, number]> = [
      [404, 'application/grpc', GrpcStatus.UNIMPLEMENTED],
      [503, 'application/grpc', GrpcStatus.UNAVAILABLE],
      [401, 'text/plain', GrpcStatus.UNAUTHENTICATED],
      [500, 'text/plain', GrpcStatus.UNKNOWN],
      [200, 'text/html', GrpcStatus.UNKNOWN],
    ];
    for (const [httpStatus, contentType, expected] of cases) {
      const server = await serve((stream) => {
        stream.respond({ ':status': httpStatus, 'content-type': contentType });
        stream.end('<html>not grpc</html>');
      });
      const channel = new GrpcHttp2Channel(server.address);
      try {
        const { status, messages, ends } = await run(channel);
        assert.equal(status.code, expected, `${httpStatus} ${contentType}: ${status.details}`);
        assert.equal(messages.length, 0);
        assert.equal(ends, 1);
      } finally {
        channel.close();
        await server.close();
      }
    }
  });

  it('refuses compressed messages, oversized messages and a response cut inside a message', async () => {
    const cases: Array<[string, Buffer, number, RegExp]> = [
      ['compressed', grpcFrame(Buffer.from('x'), 1), GrpcStatus.INTERNAL, /compressed/],
      ['oversized', Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), GrpcStatus.RESOURCE_EXHAUSTED, new RegExp(String(MAX_RECEIVE_MESSAGE_BYTES))],
      ['cut', grpcFrame(Buffer.from('whole message')).subarray(0, 9), GrpcStatus.INTERNAL, /inside a message/],
    ];
    for (const [name, body, code, details] of cases) {
      const server = await serve((stream) => okResponse(stream, body));
      const channel = new GrpcHttp2Channel(server.address);
      try {
        const { status, messages } = await run(channel);
        assert.equal(status.code, code, name);
        assert.match(status.details, details, name);
        assert.equal(messages.length, 0, name);
      } finally {
        channel.close();
        await server.close();
      }
    }
  });

  it('maps a stream reset by the server, and a connection that drops, to Internal and Unavailable', async () => {
    // Node's server sends RST_STREAM with the code given to close() only before it responded;
    // after, destroy() resets with INTERNAL_ERROR, and close() would end the stream first.
    const resets: Array<[string, (stream: ServerHttp2Stream) => void, number, string[]]> = [
      [
        'INTERNAL_ERROR after a message',
        (stream) => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          stream.write(grpcFrame(Buffer.from('first')));
          setTimeout(() => stream.destroy(new Error('cut')), 20);
        },
        GrpcStatus.INTERNAL,
        ['first'],
      ],
      ['REFUSED_STREAM', (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM), GrpcStatus.UNAVAILABLE, []],
      ['ENHANCE_YOUR_CALM', (stream) => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), GrpcStatus.RESOURCE_EXHAUSTED, []],
      [
        'ended without trailers',
        (stream) => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          stream.end(grpcFrame(Buffer.from('first')));
        },
        GrpcStatus.INTERNAL,
        ['first'],
      ],
    ];
    for (const [name, behave, code, expected] of resets) {
      const server = await serve(behave);
      const channel = new GrpcHttp2Channel(server.address);
      try {
        const { status, messages } = await run(channel);
        assert.equal(status.code, code, `${name}: ${status.details}`);
        assert.deepEqual(messages.map(String), expected, name);
      } finally {
        channel.close();
        await server.close();
      }
    }
    const server = await serve((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(grpcFrame(Buffer.from('first')));
      setTimeout(() => stream.session?.destroy(), 20);
    });
    const channel = new GrpcHttp2Channel(server.address);
    try {
      const { status } = await run(channel);
      assert.equal(status.code, GrpcStatus.UNAVAILABLE, status.details);
      // The next call opens a new connection.
      server.requests.length = 0;
      const again = await Promise.race([run(channel), new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))]);
      assert.equal(server.requests.length, 1, 'a second call reached the server on a new connection');
      void again;
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('answers Unavailable, naming the cause, when nothing listens on the socket', async () => {
    const channel = new GrpcHttp2Channel(parseWorkloadApiAddress(`unix://${join(dir, 'missing.sock')}`));
    try {
      const { status, ends } = await run(channel);
      assert.equal(status.code, GrpcStatus.UNAVAILABLE);
      assert.match(status.details, /ENOENT/);
      assert.equal(ends, 1);
    } finally {
      channel.close();
    }
  });

  it('cancels a call: Cancelled once, nothing delivered after, the server sees the stream reset', async () => {
    let serverStream: ServerHttp2Stream | undefined;
    const server = await serve((stream) => {
      serverStream = stream;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(grpcFrame(Buffer.from('first')));
    });
    const channel = new GrpcHttp2Channel(server.address);
    try {
      let cancel: (() => void) | undefined;
      const result = run(channel, Buffer.from('r'), (c) => (cancel = c));
      while (serverStream === undefined) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 30));
      cancel!();
      cancel!();
      const closed = once(serverStream, 'close');
      serverStream.write(grpcFrame(Buffer.from('late')));
      const { status, messages, ends } = await result;
      await closed;
      assert.equal(status.code, GrpcStatus.CANCELLED);
      assert.equal(ends, 1);
      assert.deepEqual(messages.map(String), ['first']);
      assert.equal(serverStream.rstCode, http2.constants.NGHTTP2_CANCEL);
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('delivers nothing after the caller aborted the call, not even the rest of the same chunk', async () => {
    const frames = Buffer.concat([grpcFrame(Buffer.from('one')), grpcFrame(Buffer.from('two')), grpcFrame(Buffer.from('three'))]);
    const server = await serve((stream) => okResponse(stream, frames));
    const channel = new GrpcHttp2Channel(server.address);
    try {
      const heard: string[] = [];
      const status = await new Promise<GrpcCallStatus>((resolve) => {
        const call = channel.call(
          '/S/M',
          Buffer.alloc(0),
          {},
          {
            message: (m) => {
              heard.push(String(m));
              call.abort({ code: GrpcStatus.INTERNAL, details: 'refused by the caller' });
            },
            end: resolve,
          },
        );
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(heard, ['one']);
      assert.deepEqual(status, { code: GrpcStatus.INTERNAL, details: 'refused by the caller' });
    } finally {
      channel.close();
      await server.close();
    }
  });

  it('does not keep the process alive once no call is open', async () => {
    const server = await serve((stream) => okResponse(stream, grpcFrame(Buffer.from('x'))));
    try {
      const module = fileURLToPath(new URL('./grpc-http2.ts', import.meta.url));
      const address = fileURLToPath(new URL('./address.ts', import.meta.url));
      const script = `
        const { GrpcHttp2Channel } = await import(${JSON.stringify(module)});
        const { parseWorkloadApiAddress } = await import(${JSON.stringify(address)});
        const channel = new GrpcHttp2Channel(parseWorkloadApiAddress(${JSON.stringify(server.address.url)}));
        channel.call('/S/M', Buffer.alloc(0), {}, { message: () => {}, end: (s) => console.log('status', s.code) });
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code, signal] = await once(child, 'exit');
      clearTimeout(timer);
      assert.equal(signal, null, 'the child had to be killed: the idle connection kept it alive');
      assert.equal(code, 0);
      assert.match(out, /status 0/);
    } finally {
      await server.close();
    }
  });

  it('connects to tcp:// endpoints, IPv4 and IPv6, with their host and port as the authority', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const authorities: Array<string | undefined> = [];
      const server = http2.createServer();
      server.on('stream', (stream, headers) => {
        authorities.push(headers[':authority']);
        stream.on('data', () => undefined);
        stream.on('end', () => okResponse(stream, grpcFrame(Buffer.from(host))));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, host, resolve);
        });
      } catch (err) {
        if (host === '::1' && (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') continue; // no IPv6 loopback here
        throw err;
      }
      const port = (server.address() as { port: number }).port;
      const url = host.includes(':') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
      const channel = new GrpcHttp2Channel(parseWorkloadApiAddress(url));
      try {
        const { status, messages } = await run(channel);
        assert.equal(status.code, GrpcStatus.OK, `${url}: ${status.details}`);
        assert.deepEqual(messages.map(String), [host]);
        assert.deepEqual(authorities, [host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`]);
      } finally {
        channel.close();
        await new Promise((r) => server.close(r));
      }
    }
  });

  it('ends calls made after close() with Cancelled', async () => {
    const server = await serve((stream) => okResponse(stream, grpcFrame(Buffer.from('x'))));
    const channel = new GrpcHttp2Channel(server.address);
    channel.close();
    try {
      const { status } = await run(channel);
      assert.equal(status.code, GrpcStatus.CANCELLED);
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });
});
