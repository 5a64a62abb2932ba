import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, usage, type FlagSpec } from './flags.js';

// Parsing itself is tested in @spiffe-node/go-cli; here, what the spiffe commands print.

const specs: FlagSpec[] = [
  { name: 'socketPath', kind: 'string', usage: 'socket', default: '/tmp/a.sock' },
  { name: 'silent', kind: 'bool', usage: 'quiet' },
  { name: 'audience', kind: 'list', usage: 'aud' },
  { name: 'timeout', kind: 'duration', usage: 'time', default: '1s' },
];

describe('spiffe command flags', () => {
  it('prints usage with defaults, as spire-agent api does', () => {
    const text = usage('api fetch x509', specs);
    assert.match(text, /^Usage of api fetch x509:/);
    assert.match(text, /-socketPath string\n\s+\tsocket \(default "\/tmp\/a\.sock"\)/);
    assert.match(text, /-timeout value\n\s+\ttime \(default 1s\)/);
    assert.match(text, /-silent\n\s+\tquiet\n/);
  });

  it('parses with the shared Go-style parser', () => {
    assert.equal(parseFlags(['-timeout=2s'], specs).durations.get('timeout'), 2000);
    assert.throws(() => parseFlags(['-nope'], specs), FlagError);
  });
});
