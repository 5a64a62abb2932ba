/** Free TCP ports: the test kit's, re-exported for the demo and the suites that use the harness. */
export { freePort, freePorts } from '@spiffe-node/test-kit';

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
