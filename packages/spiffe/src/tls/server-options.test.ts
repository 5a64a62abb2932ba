import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { createHttpsServer, createTlsServer, mtlsServerOptions, mtlsWebServerOptions, tlsServerOptions } from './index.js';
import { createHttp2SecureServer } from '../http2/index.js';
import { makePki } from './testing/fixtures.js';

const pki = makePki();
const { svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';

describe('plain server options fail closed', () => {
  const builders = [
    { name: 'tlsServerOptions', make: () => tlsServerOptions(svids.server) },
    { name: 'mtlsServerOptions', make: () => mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)) },
    {
      name: 'mtlsWebServerOptions',
      make: () => mtlsWebServerOptions({ cert: pki.web.cert, key: pki.web.key }, bundles, authorizeId(CLIENT)),
    },
  ];
  const misuses: Array<{ name: string; use: (opts: tls.TlsOptions) => unknown }> = [
    { name: 'https.createServer(opts)', use: (opts) => https.createServer(opts) },
    { name: 'tls.createServer(opts)', use: (opts) => tls.createServer(opts) },
    { name: 'http2.createSecureServer(opts)', use: (opts) => http2.createSecureServer(opts) },
    { name: 'tls.createServer({ ...opts })', use: (opts) => tls.createServer({ ...opts }) },
  ];
  for (const b of builders) {
    for (const m of misuses) {
      it(`${m.name} with ${b.name}() throws a TypeError`, () => {
        assert.throws(
          () => m.use(b.make()),
          (err: Error) =>
            err instanceof TypeError && err.message.startsWith(`tls: options from ${b.name}() must be passed to createTlsServer()`),
        );
      });
    }
    it(`the creators accept ${b.name}() (valid counterpart)`, async () => {
      const server = createTlsServer(b.make());
      assert.ok(server instanceof tls.Server);
      const httpsServer = createHttpsServer(b.make());
      assert.ok(httpsServer instanceof https.Server);
      const h2 = createHttp2SecureServer(b.make());
      assert.ok(h2 instanceof tls.Server);
    });
  }
});
