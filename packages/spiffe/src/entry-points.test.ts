import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consumerProject, packDeclarations, tsc, type PackedTypes } from './testing/declarations.js';

// A TypeScript user without the optional peers (@grpc/grpc-js, undici, @types/express) and with
// `skipLibCheck: false`, compiling against the package's emitted declarations.
describe('entry points, as a TypeScript user without the optional peers sees them', () => {
  let packed: PackedTypes;
  before(() => {
    packed = packDeclarations();
  });
  after(() => packed?.remove());

  it('compiles against the root and every subpath without an optional peer, with no global Express type', () => {
    const dir = consumerProject(packed, 'no-peers', {
      'main.ts': `
import * as spiffe from '@spiffe-node/spiffe';
import { SpiffeId } from '@spiffe-node/spiffe/spiffeid';
import { X509BundleSet } from '@spiffe-node/spiffe/bundle';
import { parseAndVerifyX509Svid } from '@spiffe-node/spiffe/svid/x509';
import { parseInsecureJwtSvid } from '@spiffe-node/spiffe/svid/jwt';
import { authorizeAny } from '@spiffe-node/spiffe/authorize';
import { X509Source } from '@spiffe-node/spiffe/workloadapi';
import { createHttpsServer, dial, listen, mtlsServerOptions, type SpiffeClientParams } from '@spiffe-node/spiffe/tls';
import { connectHttp2, createHttp2SecureServer } from '@spiffe-node/spiffe/http2';
import { FileX509Source } from '@spiffe-node/spiffe/files';
import { fetchBundle } from '@spiffe-node/spiffe/federation';
import { SpiffeError } from '@spiffe-node/spiffe/errors';

export const used = [spiffe.SpiffeId, SpiffeId, X509BundleSet, parseAndVerifyX509Svid, parseInsecureJwtSvid, authorizeAny,
  X509Source, createHttpsServer, dial, listen, mtlsServerOptions, connectHttp2, createHttp2SecureServer, FileX509Source, fetchBundle, SpiffeError];
export type Params = SpiffeClientParams;
// No entry point above augments express's global namespace.
// @ts-expect-error Express is not declared without @types/express or the /express entry point.
export type Request = Express.Request;
`,
    });
    const result = tsc(['-p', '.'], dir);
    assert.equal(result.status, 0, result.output);
  });

  it('compiles against /express without @types/express, which adds req.spiffeId', () => {
    const dir = consumerProject(packed, 'express', {
      'main.ts': `
import { spiffeAuth, type SpiffeAuthOptions } from '@spiffe-node/spiffe/express';
import type { SpiffeId } from '@spiffe-node/spiffe';
const options: SpiffeAuthOptions = { onMissing: 'close' };
export const middleware = spiffeAuth(options);
export function idOf(req: Express.Request): SpiffeId | undefined { return req.spiffeId; }
`,
    });
    const result = tsc(['-p', '.'], dir);
    assert.equal(result.status, 0, result.output);
  });

  it('needs the peer only in /undici and /grpc (the peers are really not visible here)', () => {
    const dir = consumerProject(packed, 'peers', {
      'main.ts': `
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { grpcChannelCredentials } from '@spiffe-node/spiffe/grpc';
export const used = [createSpiffeDispatcher, grpcChannelCredentials];
`,
    });
    const result = tsc(['-p', '.'], dir);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /Cannot find module 'undici'/);
    assert.match(result.output, /Cannot find module '@grpc\/grpc-js'/);
  });
});
