/**
 * Turns gRPC call failures into {@link WorkloadApiError}s and classifies them for retrying.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { WorkloadApiError, type WorkloadApiErrorCode } from '../errors.js';
import { GrpcStatus } from './grpc-http2.js';

const STATUS_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};

/**
 * The canonical name of a gRPC status code, as SPIRE and go-spiffe print it (`PermissionDenied`).
 *
 * @example
 * ```ts
 * grpcStatusName(14); // 'Unavailable'
 * ```
 * @internal
 */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES[code] ?? `Code(${code})`;
}

/**
 * Whether a failed watch must stop instead of retrying: the server rejected the request itself
 * (`InvalidArgument`) or does not implement the method (`Unimplemented`).
 *
 * @example
 * ```ts
 * isTerminalStatus(3);  // InvalidArgument: true
 * isTerminalStatus(14); // Unavailable: false
 * ```
 * @internal
 */
export function isTerminalStatus(code: number | undefined): boolean {
  return code === GrpcStatus.INVALID_ARGUMENT || code === GrpcStatus.UNIMPLEMENTED;
}

function codeFor(status: number): WorkloadApiErrorCode {
  switch (status) {
    case GrpcStatus.UNAVAILABLE:
      return 'ERR_WORKLOADAPI_UNAVAILABLE';
    case GrpcStatus.PERMISSION_DENIED:
      return 'ERR_WORKLOADAPI_PERMISSION_DENIED';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'ERR_WORKLOADAPI_INVALID_ARGUMENT';
    default:
      return 'ERR_WORKLOADAPI_RPC';
  }
}

function adviceFor(status: number, where: string): string {
  switch (status) {
    case GrpcStatus.UNAVAILABLE:
      return `; check that an agent is running and listening on ${where}`;
    case GrpcStatus.PERMISSION_DENIED:
      return '; check that a registration entry matches this process (its uid/user or other selectors)';
    case GrpcStatus.INVALID_ARGUMENT:
      return '; the agent rejected the request';
    case GrpcStatus.UNIMPLEMENTED:
      return `; the server on ${where} does not implement this Workload API method`;
    default:
      return '';
  }
}

/**
 * Converts a gRPC call failure into a {@link WorkloadApiError} carrying the gRPC code.
 *
 * @param err - the failed call's error (a `GrpcCallError`, or any error with a gRPC `code`).
 * @param method - the RPC, e.g. `FetchX509SVID`.
 * @param where - the endpoint, for the message (e.g. `socket /tmp/agent.sock`).
 * @example
 * ```ts
 * call.on('error', (err) => watcher.onError(fromGrpcError(err, 'FetchX509SVID', 'socket /tmp/a.sock')));
 * ```
 * @internal
 */
export function fromGrpcError(err: Error & { code?: unknown; details?: string }, method: string, where: string): WorkloadApiError {
  const status = typeof err.code === 'number' ? err.code : GrpcStatus.UNKNOWN;
  const details = err.details ?? err.message;
  return new WorkloadApiError(
    codeFor(status),
    `workloadapi: ${method} failed: ${grpcStatusName(status)} ${JSON.stringify(details)}${adviceFor(status, where)}`,
    { cause: err, grpcCode: status },
  );
}
