/**
 * The kit's own helpers, on real sockets and files: polling returns what it waited for and says
 * what it waited for when it gives up; free ports are distinct and bindable; a replaced file has
 * the new content and mode, and no temporary file is left behind.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { typedOutcomes } from './fuzz.js';
import { freePorts, poll, replaceFileAtomic, tempDir, until } from './index.js';

describe('until', () => {
  it('resolves once a condition, sync or async, holds', async () => {
    let calls = 0;
    await until(() => ++calls === 3);
    assert.equal(calls, 3);
    await until(async () => ++calls === 5);
    assert.equal(calls, 5);
  });

  it('rejects naming what it waited for when the condition never holds', async () => {
    await assert.rejects(
      until(() => false, 50, 'the moon'),
      { message: 'timed out waiting for the moon' },
    );
  });
});

describe('poll', () => {
  it('returns the first value the test accepts', async () => {
    let n = 0;
    assert.equal(
      await poll(
        'n to reach 3',
        () => ++n,
        (v) => v >= 3,
        { intervalMs: 1 },
      ),
      3,
    );
  });

  it('fails at once when the probe throws, unless told to retry', async () => {
    let n = 0;
    const probe = (): number => {
      if (++n < 3) throw new Error(`not yet ${n}`);
      return n;
    };
    await assert.rejects(
      poll('a value', probe, () => true, { intervalMs: 1 }),
      { message: 'not yet 1' },
    );
    assert.equal(await poll('a value', probe, () => true, { intervalMs: 1, retryErrors: true }), 3);
  });

  it('rejects with what it waited for and the last value it saw', async () => {
    await assert.rejects(
      poll(
        'two SVIDs',
        () => ({ svids: 1 }),
        (v) => v.svids === 2,
        { timeoutMs: 50, intervalMs: 5 },
      ),
      {
        message: 'timed out after 50 ms: two SVIDs; last: {"svids":1}',
      },
    );
  });
});

describe('freePorts', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('gives distinct ports that can be listened on', async () => {
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
    for (const port of ports) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
    }
  });
});

describe('replaceFileAtomic', () => {
  const dir = tempDir('kit-');
  after(() => dir.remove());

  it('replaces the content, with mode 0600 unless told otherwise, and leaves no temporary file', () => {
    const path = join(dir.path, 'bundle.pem');
    writeFileSync(path, 'old', { mode: 0o644 });
    replaceFileAtomic(path, 'new');
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    replaceFileAtomic(path, new Uint8Array([1, 2]), 0o640);
    assert.deepEqual([...readFileSync(path)], [1, 2]);
    const mode = statSync(path).mode & 0o777;
    assert.equal(mode & 0o700, 0o600, 'the owner reads and writes');
    assert.equal(mode & ~0o640, 0, 'nobody gets more than 0640 (less, under a umask)');
    assert.deepEqual(readdirSync(dir.path), ['bundle.pem']);
  });
});

describe('FakeAgent', () => {
  it('refuses to start without a Workload API service definition, and says how to bind one', async () => {
    const { FakeAgent } = await import('./fake-agent.js');
    await assert.rejects(FakeAgent.start(), (err: unknown) => err instanceof TypeError && /workloadApiService\(/.test(err.message));
  });
});

describe('typedOutcomes', () => {
  class LibraryError extends Error {}
  const { typedOutcome, typedOutcomeAsync } = typedOutcomes(LibraryError);

  it('passes values and the library’s errors (message starting with its area) through', async () => {
    assert.deepEqual(
      typedOutcome(() => 1, 'one'),
      { ok: true, value: 1 },
    );
    const thrown = new LibraryError('x509svid: no URI SAN');
    assert.deepEqual(
      typedOutcome(() => {
        throw thrown;
      }, 'parse'),
      { ok: false, error: thrown },
    );
    assert.deepEqual(
      await typedOutcomeAsync(async () => {
        throw thrown;
      }, 'parse'),
      { ok: false, error: thrown },
    );
    const misuse = new TypeError('expected a string');
    assert.deepEqual(
      typedOutcome(
        () => {
          throw misuse;
        },
        'parse',
        true,
      ),
      { ok: false, error: misuse },
    );
  });

  it('fails on any other error, a TypeError where misuse is impossible, or a message without its area', async () => {
    assert.throws(
      () =>
        typedOutcome(() => {
          throw new Error('boom');
        }, 'parse'),
      /parse threw Error, not a LibraryError: boom/,
    );
    assert.throws(
      () =>
        typedOutcome(() => {
          throw new TypeError('t');
        }, 'parse'),
      /not a LibraryError/,
    );
    assert.throws(
      () =>
        typedOutcome(() => {
          throw new LibraryError('No area');
        }, 'parse'),
      /message starts with its area/,
    );
    await assert.rejects(
      typedOutcomeAsync(async () => {
        throw new RangeError('r');
      }, 'parse'),
      /parse threw RangeError/,
    );
  });
});
