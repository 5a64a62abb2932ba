import { createServer } from 'node:net';

/** `n` distinct TCP ports that are free on 127.0.0.1 right now. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * The environment that moves every app off its seed ports: a server (mtls-echo, https-mtls,
 * jwt-proxy's server) on the first port, jwt-proxy's proxy on the second.
 */
export function portEnv([server, proxy]: number[]): Record<string, string> {
  return {
    SERVER_PORT: String(server),
    SERVER_URL: `https://localhost:${server}/`,
    UPSTREAM_URL: `https://localhost:${server}`,
    PROXY_PORT: String(proxy),
    PROXY_URL: `https://localhost:${proxy}/`,
  };
}
