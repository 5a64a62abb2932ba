// The attacks on the defending clients, generated from the table (src/attacks.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientAttacks, openOnMain, testName, type ClientAttack } from './attacks.js';
import { clientTargets, type ClientTarget, type DefendingClient } from './clients.js';
import { Fixtures } from './fixtures.js';
import { PWNED, startHostileServer } from './hostile-servers.js';
import { clientAttackApplies, clientRow } from './table.js';

let fx: Fixtures;
before(() => {
  fx = Fixtures.create();
});
after(() => fx?.remove());

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

async function attack(target: ClientTarget, a: ClientAttack): Promise<void> {
  const hostile = await startHostileServer(target.protocol, fx.pair(a.present));
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

for (const target of clientTargets) {
  describe(`client ${target.id}`, () => {
    // The control: the helper talks to a server with a valid SVID, so a refusal means something.
    test('control: a server with a valid SVID (spiffe://example.org/server) is reached', async () => {
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
      test(testName(clientRow(a, target)), { todo: openOnMain('client', a.id, target.id) }, () => attack(target, a));
    }
  });
}
