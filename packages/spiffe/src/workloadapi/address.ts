/**
 * The Workload API endpoint address: parsing, validation and conversion to a gRPC target.
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { WorkloadApiError } from '../errors.js';

/**
 * The environment variable that names the Workload API endpoint when no address is configured.
 *
 * @example
 * ```ts
 * process.env[ENDPOINT_SOCKET_ENV] = 'unix:///tmp/spire-agent/public/api.sock';
 * ```
 */
export const ENDPOINT_SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';

const UNIX_EXAMPLE = 'unix:///tmp/spire-agent/public/api.sock';
const TCP_EXAMPLE = 'tcp://127.0.0.1:8081';

/**
 * A validated Workload API endpoint address.
 *
 * @example
 * ```ts
 * import { parseWorkloadApiAddress } from '@spiffe-node/spiffe/workloadapi';
 * const addr = parseWorkloadApiAddress('unix:///tmp/spire-agent/public/api.sock');
 * addr.kind;       // 'unix'
 * addr.socketPath; // '/tmp/spire-agent/public/api.sock'
 * addr.target;     // 'unix:///tmp/spire-agent/public/api.sock' (for @grpc/grpc-js)
 * ```
 */
export interface WorkloadApiAddress {
  /** `unix` for a Unix domain socket, `tcp` for a TCP endpoint. */
  readonly kind: 'unix' | 'tcp';
  /** The address exactly as given. */
  readonly url: string;
  /** The gRPC target for `@grpc/grpc-js`: `unix:///path`, `ipv4:1.2.3.4:port` or `ipv6:[::1]:port`. */
  readonly target: string;
  /** The absolute socket path (unix endpoints only). */
  readonly socketPath?: string;
  /** The IP address (tcp endpoints only). */
  readonly host?: string;
  /** The port (tcp endpoints only). */
  readonly port?: number;
  /** Where the address came from: a configured option, or the `SPIFFE_ENDPOINT_SOCKET` variable. */
  readonly from: 'option' | 'env';
}

function addressError(address: string, from: 'option' | 'env', problem: string): WorkloadApiError {
  const origin = from === 'env' ? `${ENDPOINT_SOCKET_ENV}=${JSON.stringify(address)}` : JSON.stringify(address);
  return new WorkloadApiError(
    'ERR_WORKLOADAPI_ADDRESS',
    `workloadapi: invalid Workload API address ${origin}: ${problem}; ` + `use e.g. ${UNIX_EXAMPLE} or ${TCP_EXAMPLE}`,
  );
}

function parseUnix(address: string, from: 'option' | 'env'): WorkloadApiAddress {
  // address starts with "unix:" (any case).
  const rest = address.slice('unix:'.length);
  let rawPath: string;
  if (rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    if (!afterSlashes.startsWith('/')) {
      const host = afterSlashes.split('/')[0] ?? '';
      throw addressError(
        address,
        from,
        host === ''
          ? 'the socket path is empty'
          : `a unix address has no host part (found "${host}"); write three slashes before an absolute path`,
      );
    }
    rawPath = afterSlashes;
  } else if (rest.startsWith('/')) {
    rawPath = rest;
  } else {
    throw addressError(address, from, rest === '' ? 'the socket path is empty' : 'the socket path must be absolute');
  }
  if (rawPath.includes('?')) throw addressError(address, from, 'a unix address has no query');
  if (rawPath.includes('#')) throw addressError(address, from, 'a unix address has no fragment');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw addressError(address, from, 'the socket path has an invalid percent-escape');
  }
  if (path.includes('\0')) throw addressError(address, from, 'the socket path contains a NUL byte');
  if (/^\/+$/.test(path)) throw addressError(address, from, 'the socket path is empty');
  if (path.endsWith('/')) throw addressError(address, from, 'the socket path names a directory');
  return { kind: 'unix', url: address, target: `unix://${path}`, socketPath: path, from };
}

function parseTcp(address: string, from: 'option' | 'env'): WorkloadApiAddress {
  const rest = address.slice('tcp:'.length);
  if (!rest.startsWith('//')) {
    throw addressError(address, from, 'a tcp address is written tcp://IP:port');
  }
  const hostPort = rest.slice(2);
  if (hostPort.includes('@')) throw addressError(address, from, 'a tcp address has no user info');
  if (hostPort.includes('?')) throw addressError(address, from, 'a tcp address has no query');
  if (hostPort.includes('#')) throw addressError(address, from, 'a tcp address has no fragment');
  if (hostPort.includes('/')) throw addressError(address, from, 'a tcp address has no path');
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) throw addressError(address, from, 'the IPv6 address has no closing "]"');
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw addressError(address, from, 'expected ":port" after the IPv6 address');
    }
    portText = after === '' ? undefined : after.slice(1);
    if (!isIPv6(host)) throw addressError(address, from, `"${host}" is not an IPv6 address`);
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    portText = colon === -1 ? undefined : hostPort.slice(colon + 1);
    if (host === '') throw addressError(address, from, 'the host is empty');
    if (host.includes(':')) {
      throw addressError(address, from, 'write an IPv6 address in brackets, e.g. tcp://[::1]:8081');
    }
    if (!isIPv4(host)) {
      throw addressError(address, from, `the host must be an IP address, not a name ("${host}")`);
    }
  }
  if (portText === undefined || portText === '') {
    throw addressError(address, from, 'the port is missing');
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw addressError(address, from, `invalid port "${portText}"`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw addressError(address, from, `port ${port} is out of range`);
  const target = isIPv6(host) ? `ipv6:[${host}]:${port}` : `ipv4:${host}:${port}`;
  return { kind: 'tcp', url: address, target, host, port, from };
}

/**
 * Parses and validates a Workload API endpoint address.
 *
 * Accepted forms: `unix:///absolute/path` (no host part; `unix:/absolute/path` is accepted too)
 * and `tcp://IP:port` (an IPv4 address or a bracketed IPv6 address, never a host name; no path,
 * query or user info).
 *
 * @param address - the address.
 * @param from - where it came from; errors for `'env'` name the `SPIFFE_ENDPOINT_SOCKET` variable.
 * @throws {@link WorkloadApiError} with code `ERR_WORKLOADAPI_ADDRESS`.
 * @example
 * ```ts
 * parseWorkloadApiAddress('tcp://127.0.0.1:8081').target; // 'ipv4:127.0.0.1:8081'
 * parseWorkloadApiAddress('unix:/run/agent.sock').socketPath; // '/run/agent.sock'
 * ```
 */
export function parseWorkloadApiAddress(address: string, from: 'option' | 'env' = 'option'): WorkloadApiAddress {
  if (typeof address !== 'string') {
    throw new TypeError(`parseWorkloadApiAddress: expected a string, got ${typeof address}`);
  }
  if (address === '') throw addressError(address, from, 'the address is empty');
  const colon = address.indexOf(':');
  const scheme = colon === -1 ? '' : address.slice(0, colon).toLowerCase();
  if (scheme === 'unix') return parseUnix(address, from);
  if (scheme === 'tcp') return parseTcp(address, from);
  if (address.startsWith('/')) {
    throw addressError(address, from, 'the scheme is missing (write unix:// before the socket path)');
  }
  throw addressError(address, from, scheme === '' ? 'the scheme is missing' : `unsupported scheme "${scheme}" (use unix or tcp)`);
}

/**
 * Resolves the Workload API address to use: the given one, else the `SPIFFE_ENDPOINT_SOCKET`
 * environment variable.
 *
 * @param address - the configured address, if any.
 * @param env - the environment to read (defaults to `process.env`).
 * @throws {@link WorkloadApiError} with code `ERR_WORKLOADAPI_ADDRESS` when there is no address
 *   or it is invalid.
 * @example
 * ```ts
 * // SPIFFE_ENDPOINT_SOCKET=unix:///tmp/spire-agent/public/api.sock
 * resolveWorkloadApiAddress().socketPath; // '/tmp/spire-agent/public/api.sock'
 * resolveWorkloadApiAddress('tcp://10.0.0.1:8081').target; // 'ipv4:10.0.0.1:8081'
 * ```
 */
export function resolveWorkloadApiAddress(address?: string, env: Record<string, string | undefined> = process.env): WorkloadApiAddress {
  if (address !== undefined) return parseWorkloadApiAddress(address, 'option');
  const fromEnv = env[ENDPOINT_SOCKET_ENV];
  if (fromEnv === undefined || fromEnv === '') {
    throw new WorkloadApiError(
      'ERR_WORKLOADAPI_ADDRESS',
      `workloadapi: no Workload API address: set ${ENDPOINT_SOCKET_ENV} (e.g. ` +
        `${ENDPOINT_SOCKET_ENV}=${UNIX_EXAMPLE}) or pass the address option`,
    );
  }
  return parseWorkloadApiAddress(fromEnv, 'env');
}

/**
 * Describes an address for humans: the socket path or `host:port`, and where it came from.
 *
 * @example
 * ```ts
 * describeWorkloadApiAddress(parseWorkloadApiAddress('unix:///run/a.sock')); // 'socket /run/a.sock'
 * ```
 */
export function describeWorkloadApiAddress(address: WorkloadApiAddress): string {
  let where: string;
  if (address.kind === 'unix') {
    where = `socket ${address.socketPath}`;
  } else {
    const host = address.host?.includes(':') ? `[${address.host}]` : address.host;
    where = `tcp endpoint ${host}:${address.port}`;
  }
  return address.from === 'env' ? `${where} (from ${ENDPOINT_SOCKET_ENV})` : where;
}
