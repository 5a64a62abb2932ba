/**
 * Test-only fixtures of the TLS tests: a small PKI with every defect the tests need, SVID
 * sources that rotate, and socket helpers.
 *
 * @internal
 */
import { EventEmitter, once } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { X509BundleSet, type X509Bundle, type X509BundleSource } from '../../bundle/index.js';
import { BundleError } from '../../errors.js';
import type { TrustDomain } from '../../spiffeid/index.js';
import { X509Svid } from '../../svid/x509/index.js';
import { TestCa, type TestSvid } from '../../testing/ca.js';

/** An X509Svid from a minted test SVID. */
export function toSvid(minted: TestSvid): X509Svid {
  return X509Svid.parse(minted.certPem, minted.keyPem);
}

const HOUR = 3600_000;

/** Everything the TLS tests mint, once per test file. */
export function makePki() {
  const ca = TestCa.create({ trustDomain: 'example.org' });
  const otherCa = TestCa.create({ trustDomain: 'other.org' });
  /** Same trust domain name, but in no bundle. */
  const rogueCa = TestCa.create({ trustDomain: 'example.org' });
  const intermediate = ca.intermediate();
  const bundles = new X509BundleSet(ca.bundle(), otherCa.bundle());
  const past = new Date(Date.now() - 2 * HOUR);
  const expiredAt = new Date(Date.now() - HOUR);
  const minted = {
    server: ca.svid('/server'),
    client: ca.svid('/client'),
    other: ca.svid('/other'),
    clientViaIntermediate: intermediate.svid('/client'),
    rogueServer: rogueCa.svid('/server'),
    rogueClient: rogueCa.svid('/client'),
    expiredServer: ca.svid('/server', { notBefore: past, notAfter: expiredAt }),
    expiredClient: ca.svid('/client', { notBefore: past, notAfter: expiredAt }),
    /** A leaf claiming other.org, signed by example.org's CA. */
    crossServer: ca.svid('spiffe://other.org/server'),
    crossClient: ca.svid('spiffe://other.org/client'),
    /** A genuine other.org workload. */
    otherTdClient: otherCa.svid('/client'),
  };
  /** A Web PKI server certificate for "localhost", from a CA that is in no SPIFFE bundle. */
  const webCa = TestCa.create({ trustDomain: 'web.test' });
  const web = webCa.leaf('/unused', { uris: [], dnsNames: ['localhost'], subject: { commonName: 'localhost' } });
  return {
    ca,
    otherCa,
    rogueCa,
    intermediate,
    bundles,
    minted,
    svids: {
      server: toSvid(minted.server),
      client: toSvid(minted.client),
      other: toSvid(minted.other),
      clientViaIntermediate: toSvid(minted.clientViaIntermediate),
      rogueServer: toSvid(minted.rogueServer),
      rogueClient: toSvid(minted.rogueClient),
      expiredServer: toSvid(minted.expiredServer),
      expiredClient: toSvid(minted.expiredClient),
      crossServer: toSvid(minted.crossServer),
      crossClient: toSvid(minted.crossClient),
      otherTdClient: toSvid(minted.otherTdClient),
    },
    web: { cert: web.pem, key: web.keyPem, ca: webCa.pem },
  };
}

/** An SVID source whose SVID can be replaced; emits `update` like the Workload API source. */
export class RotatingSvidSource extends EventEmitter {
  #svid: X509Svid;
  constructor(svid: X509Svid) {
    super();
    this.#svid = svid;
  }
  getX509Svid(): X509Svid {
    return this.#svid;
  }
  set(svid: X509Svid): void {
    this.#svid = svid;
    this.emit('update');
  }
}

/** An SVID source without events: rotation must be noticed by asking it. */
export class SilentSvidSource {
  svid: X509Svid;
  constructor(svid: X509Svid) {
    this.svid = svid;
  }
  getX509Svid(): X509Svid {
    return this.svid;
  }
}

/** Waits for `server` to listen on 127.0.0.1 and returns the port. */
export async function listenLocal(server: NetServer): Promise<number> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  return (server.address() as AddressInfo).port;
}

/** Closes a server, destroying its open connections. */
export async function closeServer(server: NetServer & { closeAllConnections?: () => void }): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections?.();
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  await closed;
}

const openSockets = new WeakMap<NetServer, Set<{ destroy(): void }>>();

/** Tracks the raw sockets of a server so {@link closeServer} can end them. */
export function trackSockets<S extends NetServer>(server: S): S {
  const set = new Set<{ destroy(): void; once(e: string, f: () => void): void }>();
  openSockets.set(server, set);
  server.on('connection', (socket) => {
    set.add(socket);
    socket.once('close', () => set.delete(socket));
  });
  return server;
}

export { delay } from '@spiffe-node/test-kit';

/** Resolves when the socket closes, with what it received meanwhile. */
export function collect(socket: NodeJS.ReadableStream & EventEmitter): Promise<{ data: string; error: Error | undefined }> {
  return new Promise((resolve) => {
    let data = '';
    let error: Error | undefined;
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', (err: Error) => (error = err));
    socket.on('close', () => resolve({ data, error }));
  });
}

/** A bundle source whose bundle the test swaps (one trust domain). */
export class SwappableSource implements X509BundleSource {
  constructor(public bundle: X509Bundle) {}
  getX509BundleForTrustDomain(td: TrustDomain): X509Bundle {
    if (td.name !== this.bundle.trustDomain.name) throw new BundleError('ERR_BUNDLE_NOT_FOUND', `x509bundle: no bundle for "${td.name}"`);
    return this.bundle;
  }
}
