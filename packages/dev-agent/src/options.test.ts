import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseDurationSeconds } from './duration.js';
import { DevAgentError } from './errors.js';
import { parseIdentitySocket, resolveOptions } from './options.js';

describe('options', () => {
  it('parses durations as seconds or with Go units', () => {
    const cases: Array<[string | number, number]> = [
      ['3600', 3600],
      ['90s', 90],
      ['5m', 300],
      ['1h30m', 5400],
      ['1500ms', 1],
      ['1.5m', 90],
      ['1m30s500ms', 90],
      [42, 42],
    ];
    for (const [input, seconds] of cases) assert.equal(parseDurationSeconds(input, 't'), seconds, String(input));
    for (const bad of ['', 'abc', '5 m', '1d', '-5', '-5s', '.s', -1]) {
      assert.throws(
        () => parseDurationSeconds(bad, 't'),
        (err: unknown) => err instanceof DevAgentError && err.code === 'ERR_AGENT_CONFIG',
        String(bad),
      );
    }
  });

  it('applies SPIRE-like defaults', () => {
    const o = resolveOptions({ logger: { log: () => undefined } });
    assert.equal(o.socketPath, '/tmp/spiffe-dev-agent/public/api.sock');
    assert.equal(o.adminSocketPath, '/tmp/spiffe-dev-agent/private/admin.sock');
    assert.equal(o.dataDir, '/tmp/spiffe-dev-agent/data');
    assert.equal(o.trustDomain.name, 'example.org');
    assert.equal(o.x509SvidTtl, 3600);
    assert.equal(o.jwtSvidTtl, 300);
    assert.equal(o.keyType, 'ec-p256');
    // The intermediate always outlives two X509-SVID lifetimes.
    assert.equal(resolveOptions({ x509SvidTtl: '20h', logger: o.logger }).intermediateTtl, 40 * 3600);
  });

  it('rejects bad options', () => {
    const cases: Array<[Parameters<typeof resolveOptions>[0], RegExp]> = [
      [{ trustDomain: 'Not Valid' }, /trustDomain/],
      [{ federatedTrustDomains: ['example.org'] }, /own trust domain/],
      [{ x509SvidTtl: 0 }, /at least 1 second/],
      [{ keyType: 'dsa' as never }, /keyType/],
      [{ logLevel: 'loud' as never }, /logLevel/],
      [{ socketPath: '/tmp/x.sock', adminSocketPath: '/tmp/x.sock' }, /different paths/],
      [{ identitySockets: [{ spiffeId: 'nope', socketPath: '/tmp/y.sock' }] }, /not a SPIFFE ID/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(
        () => resolveOptions(opts),
        (err: unknown) => err instanceof DevAgentError && message.test(err.message),
        message.source,
      );
    }
  });

  it('parses -identitySocket id=path', () => {
    assert.deepEqual(parseIdentitySocket('spiffe://example.org/a=/tmp/a.sock'), {
      spiffeId: 'spiffe://example.org/a',
      socketPath: '/tmp/a.sock',
    });
    assert.throws(() => parseIdentitySocket('/tmp/a.sock'), /must be formatted/);
  });
});
