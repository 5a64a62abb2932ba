/**
 * Turning a failed Workload API call into a message that says what to check: the socket, the
 * registration entry, the timeout.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { SpiffeError, WorkloadApiError } from '@spiffe-node/spiffe';
import { describeEndpoint, type Endpoint } from './endpoint.js';

/**
 * An error a command reports and exits 1 with (its message is printed as `Error: <message>`).
 *
 * @example
 * ```ts
 * throw new CommandError('audience must be specified');
 * ```
 */
export class CommandError extends Error {
  override name = 'CommandError';
}

/**
 * A command that took longer than its `-timeout`.
 *
 * @example
 * ```ts
 * throw new TimeoutError(1000);
 * ```
 */
class TimeoutError extends Error {
  override name = 'TimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

function whoAmI(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  const parts = [uid === undefined ? undefined : `uid ${uid}`, user === undefined ? undefined : `user "${user}"`].filter(Boolean);
  return parts.length === 0 ? 'this process' : `this process (${parts.join(', ')})`;
}

function grpcDetails(err: WorkloadApiError): string {
  const cause = err.cause as { details?: unknown } | undefined;
  return typeof cause?.details === 'string' ? cause.details : err.message;
}

/**
 * Describes why a Workload API call failed and what to check.
 *
 * @example
 * ```ts
 * try { await client.fetchX509Context(); }
 * catch (err) { io.stderr(`Error: ${describeFailure(err, endpoint)}\n`); }
 * ```
 */
export function describeFailure(err: unknown, endpoint: Endpoint, timeoutMs?: number): string {
  const where = describeEndpoint(endpoint);
  const socket = endpoint.parsed.kind === 'unix' ? endpoint.parsed.socketPath : undefined;
  if (err instanceof TimeoutError) {
    return `no answer from the Workload API at ${where} within ${timeoutMs ?? err.timeoutMs} ms; check that the agent is healthy, or give it longer with -timeout`;
  }
  if (err instanceof WorkloadApiError) {
    switch (err.code) {
      case 'ERR_WORKLOADAPI_UNAVAILABLE': {
        if (socket !== undefined && !existsSync(socket)) {
          return `cannot reach the Workload API: the ${where} does not exist; check that the agent is running and that ${endpoint.setting} or SPIFFE_ENDPOINT_SOCKET names its socket`;
        }
        if (socket !== undefined) {
          try {
            if (!statSync(socket).isSocket()) return `cannot reach the Workload API: ${socket} is not a socket; check ${endpoint.setting}`;
          } catch {
            // Fall through to the generic message.
          }
        }
        return `cannot reach the Workload API at ${where}: ${grpcDetails(err)}; check that the agent is running and listening there`;
      }
      case 'ERR_WORKLOADAPI_PERMISSION_DENIED':
        return `the agent at ${where} issued no identity to ${whoAmI()} (PermissionDenied: ${grpcDetails(err)}); check that a registration entry matches this process (for example -selector unix:uid:${process.getuid?.() ?? 'N'}) and that the agent has received it (SPIRE agents sync about every 5 s)`;
      case 'ERR_WORKLOADAPI_INVALID_ARGUMENT':
        return `the agent at ${where} rejected the request (InvalidArgument: ${grpcDetails(err)})`;
      default:
        return err.message;
    }
  }
  if (err instanceof SpiffeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Races `promise` against a timer; rejects with {@link TimeoutError} (and calls `onTimeout`)
 * when it fires first. `timeoutMs` of 0 means no limit.
 *
 * @example
 * ```ts
 * const ctx = await withTimeout(client.fetchX509Context(), 1000, () => client.close());
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  if (timeoutMs <= 0) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new TimeoutError(timeoutMs));
    }, timeoutMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
