/**
 * Free TCP ports for tests that start servers which must be told their port in advance.
 *
 * @module
 */
import { createServer, type Server } from 'node:net';

/**
 * `n` distinct TCP ports that were free on 127.0.0.1 a moment ago: all are bound at once (so
 * the kernel hands out different ones), then released.
 *
 * @example
 * ```ts
 * const [server, proxy] = await freePorts(2);
 * ```
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('freePorts: the kernel assigned no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it).
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
