/**
 * The generated tests: one `describe` per target, one test per applicable attack (named after
 * its table row), and a control per target (the legitimate peer is served).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientAttacks, serverAttacks, testName, type ClientAttack, type ServerAttack } from './attacks.js';
import type { ClientTarget, DefendingClient } from './clients.js';
import { Fixtures } from './fixtures.js';
import { PWNED, startHostileServer, startRenegotiatingServer } from './hostile-servers.js';
import { runHostileClient, type ConnectionResult } from './python.js';
import { wasServed, type DefendingServer, type ServerTarget } from './servers.js';
import { clientAttackApplies, clientRow, serverAttackApplies, serverRow } from './table.js';

/** The fixtures of one test file, built before its tests and removed after. */
function useFixtures(): () => Fixtures {
  let fx: Fixtures | undefined;
  before(() => {
    fx = Fixtures.create();
  });
  after(() => fx?.remove());
  return () => fx as Fixtures;
}

const show = (r: ConnectionResult | undefined): string => JSON.stringify(r);

async function attackServer(fx: Fixtures, target: ServerTarget, a: ServerAttack, server: DefendingServer): Promise<void> {
  const logStart = server.log.length;
  const results = await runHostileClient({
    port: server.port,
    request: target.request,
    ...(target.alpn ? { alpn: target.alpn } : {}),
    ...(target.path ? { path: target.path } : {}),
    ...(a.present ? { present: fx.pair(a.present) } : {}),
    ...(a.renegotiateTo ? { renegotiateTo: fx.pair(a.renegotiateTo) } : {}),
    ...(a.resumeAfter ? { resumeAfter: () => (a.resumeAfter === 'refuseAll' ? server.refuseAll() : server.rotateBundles()) } : {}),
  });
  const [first, second] = results;
  if (a.renegotiateTo || a.resumeAfter) {
    // The legitimate client gets in first; otherwise the attack proves nothing.
    assert.ok(
      a.renegotiateTo ? first?.handshake === true : wasServed(target, first?.response ?? ''),
      `the legitimate client was not served before the attack: ${show(first)}\nserver log: ${server.log.join('\n')}`,
    );
  }
  const attacked = a.resumeAfter ? second : first;
  assert.ok(attacked !== undefined, 'the hostile client made no attacking connection');
  if (a.renegotiateTo) {
    assert.ok(
      !attacked.response.includes('example.org/admin') && !(attacked.renegotiated && wasServed(target, attacked.response)),
      `the server served the client after it renegotiated to a forged certificate: ${show(attacked)}`,
    );
  } else {
    assert.ok(!wasServed(target, attacked.response), `the attacker was served: ${show(attacked)}`);
  }
  if (target.logsTo.startsWith('none')) return;
  const evidence = target.reasonInResponse ? [attacked.response] : server.log.slice(logStart);
  // A diagnostics server lets every handshake through and judges each request: after a
  // renegotiation its answer must judge the forged certificate invalid.
  const reason = a.renegotiateTo && target.reasonInResponse ? /"mTLSValid": false/ : a.reason;
  assert.ok(
    evidence.some((line) => reason.test(line)),
    `the defending server reported no reason matching ${reason}; it said:\n${evidence.join('\n') || '(nothing)'}`,
  );
}

/**
 * The attacks on defending servers (the hostile peer is a client). A server that the tests
 * cannot change (an app process) is started once per target; the others once per test.
 */
export function serverSuite(targets: ServerTarget[]): void {
  const fixtures = useFixtures();
  for (const target of targets) {
    describe(`server ${target.id}`, () => {
      let shared: DefendingServer | undefined;
      if (!target.switchable) {
        before(async () => {
          shared = await target.start(fixtures());
        });
        after(() => shared?.stop());
      }
      const withServer = async (run: (server: DefendingServer) => Promise<void>): Promise<void> => {
        if (shared) return run(shared);
        const server = await target.start(fixtures());
        try {
          await run(server);
        } finally {
          await server.stop();
        }
      };
      test('control: the legitimate client (spiffe://example.org/client) is served', () =>
        withServer(async (server) => {
          const [result] = await runHostileClient({
            port: server.port,
            request: target.request,
            present: fixtures().pair('client'),
            ...(target.alpn ? { alpn: target.alpn } : {}),
            ...(target.path ? { path: target.path } : {}),
          });
          assert.ok(wasServed(target, result?.response ?? ''), `not served: ${show(result)}\nserver log: ${server.log.join('\n')}`);
        }));
      for (const a of serverAttacks) {
        if (!serverAttackApplies(a, target)) continue;
        test(testName(serverRow(a, target)), () => withServer((server) => attackServer(fixtures(), target, a, server)));
      }
    });
  }
}

async function outcome(client: DefendingClient, port: number): Promise<{ data?: string; error?: Error }> {
  try {
    return { data: await client.call(port) };
  } catch (err) {
    return { error: err as Error };
  }
}

function describeError(err: Error | undefined): string {
  if (err === undefined) return '(none)';
  const cause = (err as { cause?: unknown }).cause;
  return `${(err as { code?: string }).code ?? ''} ${err.message}${cause instanceof Error ? ` (cause: ${cause.message})` : ''}`;
}

async function attackClient(fx: Fixtures, target: ClientTarget, a: ClientAttack): Promise<void> {
  const hostile = a.renegotiateTo
    ? await startRenegotiatingServer(fx.pair(a.present), fx.pair(a.renegotiateTo))
    : await startHostileServer(target.protocol, fx.pair(a.present));
  const client = target.create(fx);
  try {
    if (a.resumeAfter) {
      const legit = await outcome(client, hostile.port);
      assert.ok(legit.data?.includes(PWNED), `the client did not reach the server before the attack: ${describeError(legit.error)}`);
      if (a.resumeAfter === 'refuseAll') client.refuseAll();
      else client.rotateBundles();
    }
    const result = await outcome(client, hostile.port);
    assert.ok(!result.data?.includes(PWNED), `the client talked to the attacker: it received ${JSON.stringify(result.data)}`);
    assert.ok(result.error !== undefined, `the client neither refused nor got data: ${JSON.stringify(result.data)}`);
    assert.match(describeError(result.error), a.reason, `the client's error does not say why`);
  } finally {
    await client.close();
    await hostile.stop();
  }
}

/** The attacks on defending clients (the hostile peer is a server). */
export function clientSuite(targets: ClientTarget[]): void {
  const fixtures = useFixtures();
  for (const target of targets) {
    describe(`client ${target.id}`, () => {
      test('control: a server with a valid SVID (spiffe://example.org/server) is reached', async () => {
        const fx = fixtures();
        const server = await startHostileServer(target.protocol, fx.pair('server'));
        const client = target.create(fx);
        try {
          const result = await outcome(client, server.port);
          assert.ok(result.data?.includes(PWNED), `not reached: ${describeError(result.error)}`);
        } finally {
          await client.close();
          await server.stop();
        }
      });
      for (const a of clientAttacks) {
        if (!clientAttackApplies(a, target)) continue;
        test(testName(clientRow(a, target)), () => attackClient(fixtures(), target, a));
      }
    });
  }
}
