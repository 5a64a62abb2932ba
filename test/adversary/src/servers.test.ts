// The attacks on the defending servers, generated from the table (src/attacks.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openOnMain, serverAttacks, testName, type ServerAttack } from './attacks.js';
import { Fixtures } from './fixtures.js';
import { runHostileClient, type ConnectionResult } from './python.js';
import { serverTargets, type DefendingServer, type ServerTarget } from './servers.js';
import { serverAttackApplies, serverRow } from './table.js';

let fx: Fixtures;
before(() => {
  fx = Fixtures.create();
});
after(() => fx?.remove());

const show = (r: ConnectionResult | undefined): string => JSON.stringify(r);

async function attack(target: ServerTarget, a: ServerAttack, server: DefendingServer): Promise<void> {
  const results = await runHostileClient({
    port: server.port,
    request: target.request,
    ...(target.alpn ? { alpn: target.alpn } : {}),
    ...(a.present ? { present: fx.pair(a.present) } : {}),
    ...(a.renegotiateTo ? { renegotiateTo: fx.pair(a.renegotiateTo) } : {}),
    ...(a.resumeAfter ? { resumeAfter: () => (a.resumeAfter === 'refuseAll' ? server.refuseAll() : server.rotateBundles()) } : {}),
  });
  const [first, second] = results;
  if (a.renegotiateTo || a.resumeAfter) {
    // The legitimate client gets in first; otherwise the attack proves nothing.
    assert.ok(
      a.renegotiateTo ? first?.handshake === true : first?.response.includes('WHOAMI'),
      `the legitimate client was not served before the attack: ${show(first)}\nserver log: ${server.log.join('\n')}`,
    );
  }
  if (a.renegotiateTo) {
    assert.ok(
      !first!.response.includes('example.org/admin') && !(first!.renegotiated && first!.response.includes('WHOAMI')),
      `the server served the client after it renegotiated to a forged certificate: ${show(first)}`,
    );
  } else {
    const attacked = a.resumeAfter ? second : first;
    assert.ok(attacked !== undefined, 'the hostile client made no attacking connection');
    assert.ok(!attacked.response.includes('WHOAMI'), `the attacker was served: ${show(attacked)}`);
  }
  if (!target.logsTo.startsWith('none')) {
    assert.ok(
      server.log.some((line) => a.reason.test(line)),
      `the defending server reported no reason matching ${a.reason}; it logged:\n${server.log.join('\n') || '(nothing)'}`,
    );
  }
}

for (const target of serverTargets) {
  describe(`server ${target.id}`, () => {
    // The control: the legitimate client is served, so a refused attack means something.
    const controlTodo = openOnMain('server', 'control', target.id);
    test('control: the legitimate client (spiffe://example.org/client) is served', { todo: controlTodo }, async () => {
      const server = await target.start(fx);
      try {
        const [result] = await runHostileClient({
          port: server.port,
          request: target.request,
          present: fx.pair('client'),
          ...(target.alpn ? { alpn: target.alpn } : {}),
        });
        assert.ok(result?.response.includes('WHOAMI'), `not served: ${show(result)}\nserver log: ${server.log.join('\n')}`);
      } finally {
        await server.stop();
      }
    });
    for (const a of serverAttacks) {
      if (!serverAttackApplies(a, target)) continue;
      test(testName(serverRow(a, target)), { todo: openOnMain('server', a.id, target.id) }, async () => {
        const server = await target.start(fx);
        try {
          await attack(target, a, server);
        } finally {
          await server.stop();
        }
      });
    }
  });
}
