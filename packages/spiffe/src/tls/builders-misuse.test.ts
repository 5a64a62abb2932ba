import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizeAny, authorizeId } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import {
  createSpiffeHttpsAgent,
  mtlsClientOptions,
  mtlsServerOptions,
  mtlsWebClientOptions,
  mtlsWebServerOptions,
  tlsClientOptions,
  tlsServerOptions,
} from './index.js';
import { connectHttp2 } from '../http2/index.js';
import { grpcChannelCredentials, grpcServerCredentials } from '../grpc/index.js';
import { spiffeAuth } from '../express/index.js';
import { createSpiffeDispatcher } from './undici.js';
import { makePki } from './testing/fixtures.js';

const pki = makePki();
const { svids, bundles } = pki;
const SERVER = 'spiffe://example.org/server';

describe('builders refuse missing pieces', () => {
  const auth = authorizeId(SERVER);
  const cases: Array<{ name: string; run: () => unknown; message: RegExp }> = [
    {
      name: 'mtlsServerOptions without authorizer',
      run: () => mtlsServerOptions(svids.server, bundles, undefined as never),
      message: /authorizer is required/,
    },
    {
      name: 'mtlsServerOptions without bundles',
      run: () => mtlsServerOptions(svids.server, undefined as never, auth),
      message: /X509BundleSource/,
    },
    { name: 'tlsServerOptions without SVID source', run: () => tlsServerOptions({} as never), message: /X509SvidSource/ },
    {
      name: 'mtlsWebServerOptions without authorizer',
      run: () => mtlsWebServerOptions({ cert: pki.web.cert, key: pki.web.key }, bundles, undefined as never),
      message: /authorizer is required/,
    },
    {
      name: 'mtlsWebServerOptions without key',
      run: () => mtlsWebServerOptions({ cert: pki.web.cert } as never, bundles, auth),
      message: /cert, key/,
    },
    {
      name: 'tlsClientOptions without authorizer',
      run: () => tlsClientOptions(bundles, undefined as never),
      message: /authorizer is required/,
    },
    {
      name: 'mtlsClientOptions without authorizer',
      run: () => mtlsClientOptions(svids.client, bundles, undefined as never),
      message: /authorizer is required/,
    },
    { name: 'mtlsWebClientOptions without SVID source', run: () => mtlsWebClientOptions(undefined as never), message: /X509SvidSource/ },
    {
      name: 'createSpiffeHttpsAgent without authorizer',
      run: () => createSpiffeHttpsAgent({ bundleSource: bundles } as never),
      message: /authorizer is required/,
    },
    {
      name: 'createSpiffeDispatcher without authorizer',
      run: () => createSpiffeDispatcher({ bundleSource: bundles } as never),
      message: /authorizer is required/,
    },
    {
      name: 'grpcChannelCredentials without authorizer',
      run: () => grpcChannelCredentials({ bundleSource: bundles } as never),
      message: /authorizer is required/,
    },
    {
      name: 'grpcServerCredentials with bundles but no authorizer',
      run: () => grpcServerCredentials({ svidSource: svids.server, bundleSource: bundles }),
      message: /authorizer is required/,
    },
    { name: 'spiffeAuth with a non-function authorizer', run: () => spiffeAuth({ authorizer: 'x' as never }), message: /authorizer/ },
    {
      name: 'tuning that sets the certificate',
      run: () => mtlsServerOptions(svids.server, bundles, auth, { tlsOptions: { cert: 'x', rejectUnauthorized: true } }),
      message: /may not set cert, rejectUnauthorized/,
    },
    {
      name: 'plain client options over a source that cannot list its bundles',
      run: () => tlsClientOptions({ getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td) }, auth),
      message: /cannot list its bundles/,
    },
    {
      // The spellings that were guessed at before x509Bundles() are not listings any more.
      name: 'plain client options over a source that lists only through bundles() or getX509BundleSet()',
      run: () =>
        tlsClientOptions(
          {
            getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td),
            bundles: () => bundles.bundles(),
            getX509BundleSet: () => bundles,
          } as X509BundleSource,
          auth,
        ),
      message: /no x509Bundles\(\)/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      assert.throws(c.run, (err: Error) => err instanceof TypeError && c.message.test(err.message));
    });
  }
  it('connectHttp2 refuses a missing authorizer', async () => {
    await assert.rejects(connectHttp2('https://localhost:1', { bundleSource: bundles } as never), TypeError);
  });
  it('accepts the valid counterparts', () => {
    assert.ok(mtlsServerOptions(svids.server, bundles, auth, { resumption: true, tlsOptions: { ALPNProtocols: ['h2'] } }));
    assert.ok(
      tlsClientOptions(
        { getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td), x509Bundles: () => bundles.bundles() },
        auth,
      ),
    );
    assert.ok(
      createSpiffeHttpsAgent({
        bundleSource: { getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td) },
        authorizer: auth,
      }),
    );
    assert.ok(spiffeAuth({ authorizer: authorizeAny() }));
  });
});
