import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { authorizeAny, authorizeId, authorizeMatch, authorizeMemberOf, authorizeOneOf, type Authorizer } from './index.js';
import { AuthorizationError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/verify.js';
import { TestCa } from '../testing/ca.js';

const id = (s: string): SpiffeId => SpiffeId.fromString(s);
const server = id('spiffe://example.org/server');
const client = id('spiffe://example.org/client');
const foreign = id('spiffe://other.org/server');
const chains: X509Certificate[][] = [];

interface Case {
  name: string;
  authorizer: () => Authorizer;
  accepts: SpiffeId[];
  rejects: Array<[SpiffeId, string]>;
}

const cases: Case[] = [
  { name: 'authorizeAny', authorizer: authorizeAny, accepts: [server, client, foreign], rejects: [] },
  {
    name: 'authorizeId(SpiffeId)',
    authorizer: () => authorizeId(client),
    accepts: [client, id('SPIFFE://Example.ORG/client')],
    rejects: [
      [server, 'unexpected ID "spiffe://example.org/server"'],
      [id('spiffe://example.org/Client'), 'unexpected ID "spiffe://example.org/Client"'],
      [id('spiffe://other.org/client'), 'unexpected ID "spiffe://other.org/client"'],
    ],
  },
  {
    name: 'authorizeId(string)',
    authorizer: () => authorizeId('spiffe://example.org/client'),
    accepts: [client],
    rejects: [[server, 'unexpected ID "spiffe://example.org/server"']],
  },
  {
    name: 'authorizeOneOf',
    authorizer: () => authorizeOneOf(client, 'spiffe://other.org/server'),
    accepts: [client, foreign],
    rejects: [
      [server, 'unexpected ID "spiffe://example.org/server"'],
      [id('spiffe://example.org/client/sub'), 'unexpected ID "spiffe://example.org/client/sub"'],
    ],
  },
  {
    name: 'authorizeMemberOf(TrustDomain)',
    authorizer: () => authorizeMemberOf(TrustDomain.fromString('example.org')),
    accepts: [server, client],
    rejects: [[foreign, 'unexpected trust domain "other.org" of ID "spiffe://other.org/server"; expected "example.org"']],
  },
  {
    name: 'authorizeMemberOf(string)',
    authorizer: () => authorizeMemberOf('other.org'),
    accepts: [foreign],
    rejects: [[server, 'unexpected trust domain "example.org" of ID "spiffe://example.org/server"; expected "other.org"']],
  },
  {
    name: 'authorizeMatch',
    authorizer: () => authorizeMatch((peer) => peer.path.startsWith('/ns/prod/')),
    accepts: [id('spiffe://example.org/ns/prod/web')],
    rejects: [[id('spiffe://example.org/ns/dev/web'), 'unexpected ID "spiffe://example.org/ns/dev/web"']],
  },
  {
    name: 'authorizeMatch with a predicate returning a truthy non-boolean',
    authorizer: () => authorizeMatch(((peer: SpiffeId) => (peer.path === '/a' ? true : 'yes')) as (id: SpiffeId) => boolean),
    accepts: [id('spiffe://example.org/a')],
    rejects: [[id('spiffe://example.org/b'), 'unexpected ID "spiffe://example.org/b"']],
  },
];

describe('authorizers', () => {
  for (const c of cases) {
    for (const peer of c.accepts) {
      it(`${c.name} accepts ${peer}`, () => {
        assert.doesNotThrow(() => c.authorizer()(peer, chains));
      });
    }
    for (const [peer, message] of c.rejects) {
      it(`${c.name} rejects ${peer}`, () => {
        assert.throws(
          () => c.authorizer()(peer, chains),
          (err: unknown) => {
            assert.ok(err instanceof AuthorizationError);
            assert.equal(err.code, 'ERR_UNAUTHORIZED_ID');
            assert.equal(err.message, message);
            assert.equal(err.peerId, peer.toString());
            return true;
          },
        );
      });
    }
  }

  it('lets an exception from the predicate refuse the peer', () => {
    const authorize = authorizeMatch(() => {
      throw new Error('policy store down');
    });
    assert.throws(() => authorize(server, chains), /policy store down/);
  });

  it('works on the output of parseAndVerifyX509Svid', () => {
    const ca = TestCa.create({ trustDomain: 'example.org' });
    const { id: peer, verifiedChains } = parseAndVerifyX509Svid(ca.svid('/server').chainDer, ca.bundle());
    assert.doesNotThrow(() => authorizeId('spiffe://example.org/server')(peer, verifiedChains));
    assert.throws(() => authorizeId('spiffe://example.org/client')(peer, verifiedChains), {
      message: 'unexpected ID "spiffe://example.org/server"',
    });
  });

  const misuse: Array<[string, () => unknown, ErrorConstructor | { code: string }]> = [
    ['authorizeId(number)', () => authorizeId(5 as unknown as string), TypeError],
    ['authorizeId(invalid ID)', () => authorizeId('https://example.org/x'), { code: 'ERR_SPIFFEID_INVALID' }],
    ['authorizeOneOf()', () => authorizeOneOf(), TypeError],
    ['authorizeOneOf(object)', () => authorizeOneOf({} as SpiffeId), TypeError],
    ['authorizeMemberOf(null)', () => authorizeMemberOf(null as unknown as string), TypeError],
    ['authorizeMatch(non-function)', () => authorizeMatch('yes' as unknown as () => boolean), TypeError],
  ];
  for (const [name, fn, expected] of misuse) {
    it(`refuses ${name} when building the authorizer`, () => assert.throws(fn, expected));
  }
});
