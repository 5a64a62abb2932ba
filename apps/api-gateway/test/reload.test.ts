// SIGHUP reload of a running gateway under load: new configurations apply, invalid ones are
// refused with the old one kept, and no request fails nor connection drops meanwhile.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { request, type Agent } from 'undici';
import { AppProcess, CLIENT_ID, GATEWAY_ID, TestAgent, writeFile } from './helpers.js';

const agent = new TestAgent();
const dir = join(agent.dir, 'reload');
let echo: http.Server;
let echoPort: number;
let gateway: AppProcess;
let base: string;
let client: X509Source;
let dispatcher: Agent;
let connects = 0;

function api(name: string, basePath: string): string {
  return `
name: ${name}
basePath: ${basePath}
version: "1.0"
endpointConfigurations: { production: { endpoint: "http://127.0.0.1:${echoPort}" } }
operations: [{ target: /ping, verb: GET }]
authentication:
  - authType: mTLS
    spiffeIds: [${CLIENT_ID}]
`;
}

async function status(path: string): Promise<number> {
  const res = await request(`${base}${path}`, { dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
  await res.body.text();
  return res.statusCode;
}

/** Sends SIGHUP and waits for the gateway's answer to it. */
async function reload(expect: RegExp): Promise<string> {
  const from = gateway.lines.length;
  gateway.signal('SIGHUP');
  return gateway.waitForLine(/^(Configuration reloaded|Reload refused)/, from, 10_000).then((line) => {
    assert.match(line, expect);
    return line;
  });
}

before(async () => {
  await agent.start();
  echo = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url })));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  writeFile(join(dir, 'apis', 'stable.apk-conf'), api('Stable', '/stable'));
  writeFile(join(dir, 'gateway.yaml'), 'apis: [apis]\n');
  gateway = new AppProcess('gateway', { SPIFFE_ENDPOINT_SOCKET: agent.socket('gateway') }, [
    '--config',
    join(dir, 'gateway.yaml'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
  ]);
  base = `https://127.0.0.1:${await gateway.port()}`;
  client = await X509Source.create({ address: agent.socket('client'), timeoutMs: 20_000 });
  dispatcher = createSpiffeDispatcher({
    svidSource: client,
    bundleSource: client,
    authorizer: authorizeId(GATEWAY_ID),
    agentOptions: { connections: 4, keepAliveTimeout: 60_000 },
  });
  dispatcher.on('connect', () => connects++);
});

after(async () => {
  await dispatcher?.close();
  await client?.close();
  await gateway?.stop();
  echo?.close();
  await agent.stop();
});

describe('SIGHUP', () => {
  it(
    'reloads under load without a failed request or a dropped connection, and refuses invalid configurations',
    { timeout: 60_000 },
    async () => {
      const statuses: number[] = [];
      const errors: string[] = [];
      let running = true;
      const worker = async (): Promise<void> => {
        while (running && errors.length < 5) {
          statuses.push(
            await status('/stable/1.0/ping').catch((err: Error) => {
              errors.push(`${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`);
              return -1;
            }),
          );
        }
      };
      const workers = [worker(), worker(), worker(), worker()];
      await sleep(300);

      // A new API appears.
      writeFile(join(dir, 'apis', 'added.apk-conf'), api('Added', '/added'));
      await reload(/^Configuration reloaded: 2 APIs$/);
      assert.equal(await status('/added/1.0/ping'), 200);

      // Broken YAML: refused, the running configuration stays (Added still served).
      writeFile(join(dir, 'apis', 'added.apk-conf'), 'name: [oops\n');
      const broken = await reload(/^Reload refused, keeping the running configuration: .*added\.apk-conf: is not valid YAML/);
      assert.ok(broken.length > 0);
      assert.equal(await status('/added/1.0/ping'), 200);

      // A field with a value that is not allowed: refused, naming the file, the field and the choices.
      writeFile(
        join(dir, 'apis', 'added.apk-conf'),
        api('Added', '/added').replace('authType: mTLS', 'authType: mTLS\n    required: sometimes'),
      );
      await reload(/added\.apk-conf: authentication\[0\]\.required: must be "mandatory" or "optional", got "sometimes"$/);
      assert.equal(await status('/added/1.0/ping'), 200);

      // Two APIs on one path: refused.
      writeFile(join(dir, 'apis', 'added.apk-conf'), api('Added', '/stable'));
      await reload(/basePath: "\/stable\/1\.0" is already served by API "(Added|Stable)"/);

      // The API goes away.
      rmSync(join(dir, 'apis', 'added.apk-conf'));
      await reload(/^Configuration reloaded: 1 API$/);
      assert.equal(await status('/added/1.0/ping'), 404);

      // Reload after reload, the load running all along.
      for (let i = 0; i < 3; i++) await reload(/^Configuration reloaded: 1 API$/);
      await sleep(300);
      running = false;
      await Promise.all(workers);

      const failed = statuses.filter((s) => s !== 200);
      assert.deepEqual(errors, []);
      assert.equal(failed.length, 0, `${failed.length} of ${statuses.length} requests failed: statuses ${[...new Set(failed)].join(', ')}`);
      assert.ok(statuses.length >= 40, `only ${statuses.length} requests ran`);
      assert.ok(connects <= 4, `${connects} connections were opened for a pool of 4: some were dropped`);
    },
  );
});
