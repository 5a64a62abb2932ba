/**
 * Which Workload API endpoint a command talks to: `-socketPath` (a path, or a `unix://` or
 * `tcp://` address), else `SPIFFE_ENDPOINT_SOCKET`, else SPIRE's default socket.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { parseWorkloadApiAddress, type WorkloadApiAddress } from '@spiffe-node/spiffe/workloadapi';

/**
 * SPIRE's default agent socket (since SPIRE 1.0), used when neither `-socketPath` nor
 * `SPIFFE_ENDPOINT_SOCKET` is set.
 *
 * @example
 * ```ts
 * resolveEndpoint(undefined, {}).address === `unix://${DEFAULT_SOCKET_PATH}`; // true
 * ```
 */
export const DEFAULT_SOCKET_PATH = '/tmp/spire-agent/public/api.sock';
/**
 * The standard environment variable naming the Workload API endpoint.
 *
 * @example
 * ```ts
 * process.env[ENDPOINT_ENV] = 'unix:///run/spire/agent.sock';
 * ```
 */
const ENDPOINT_ENV = 'SPIFFE_ENDPOINT_SOCKET';

/**
 * A resolved endpoint: the address the client dials, and where it came from.
 *
 * @example
 * ```ts
 * const ep: Endpoint = resolveEndpoint('/run/agent.sock', {});
 * ep.address;   // 'unix:///run/agent.sock'
 * ep.origin;    // 'flag'
 * ```
 */
export interface Endpoint {
  address: string;
  parsed: WorkloadApiAddress;
  origin: 'flag' | 'env' | 'default';
  /** How the flag or key that sets the address is called (`-socketPath`, `agent_address`). */
  setting: string;
}

function toAddress(value: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(value)) return value;
  return `unix://${isAbsolute(value) ? value : resolve(value)}`;
}

/**
 * Resolves the endpoint from the `-socketPath` flag (if given), the environment and SPIRE's
 * default.
 *
 * @param setting - the name of the flag or key `socketPath` came from, for messages.
 * @throws `WorkloadApiError` `ERR_WORKLOADAPI_ADDRESS` for an address that is not valid.
 * @example
 * ```ts
 * resolveEndpoint(undefined, { SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/agent.sock' }).origin; // 'env'
 * resolveEndpoint(undefined, {}).address; // 'unix:///tmp/spire-agent/public/api.sock'
 * ```
 */
export function resolveEndpoint(
  socketPath: string | undefined,
  env: Record<string, string | undefined>,
  setting = '-socketPath',
): Endpoint {
  if (socketPath !== undefined && socketPath !== '') {
    const address = toAddress(socketPath);
    return { address, parsed: parseWorkloadApiAddress(address, 'option'), origin: 'flag', setting };
  }
  const fromEnv = env[ENDPOINT_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { address: fromEnv, parsed: parseWorkloadApiAddress(fromEnv, 'env'), origin: 'env', setting };
  }
  const address = `unix://${DEFAULT_SOCKET_PATH}`;
  return { address, parsed: parseWorkloadApiAddress(address, 'option'), origin: 'default', setting };
}

/**
 * Names an endpoint for messages: `socket /path (from SPIFFE_ENDPOINT_SOCKET)`.
 *
 * @example
 * ```ts
 * describeEndpoint(resolveEndpoint('/run/a.sock', {})); // 'socket /run/a.sock (from -socketPath)'
 * ```
 */
export function describeEndpoint(endpoint: Endpoint): string {
  const p = endpoint.parsed;
  const where = p.kind === 'unix' ? `socket ${p.socketPath}` : `tcp endpoint ${p.host?.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  const from =
    endpoint.origin === 'flag'
      ? endpoint.setting
      : endpoint.origin === 'env'
        ? ENDPOINT_ENV
        : `SPIRE's default; set ${endpoint.setting} or ${ENDPOINT_ENV} for another`;
  return `${where} (${from})`;
}
