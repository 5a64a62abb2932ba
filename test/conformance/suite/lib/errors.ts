/**
 * How a conformance case ends when it does not pass (catalogue §1.2): a plain `Error` is a
 * finding about the SDK (`FAIL`); {@link ExecError} means the case could not run (`ERROR`:
 * the harness did not start, a fixture failed, the control port broke the contract);
 * {@link SkipError} means the harness answered `unsupported` (`SKIP`).
 *
 * @module
 */

/**
 * The case could not be executed; nothing was learned about the SDK.
 *
 * @example
 * ```ts
 * throw new ExecError('the harness did not become ready');
 * ```
 */
export class ExecError extends Error {
  override readonly name = 'ExecError';
}

/**
 * The harness reported the operation as unsupported.
 *
 * @example
 * ```ts
 * throw new SkipError('/v1/x509/dial: unsupported');
 * ```
 */
export class SkipError extends Error {
  override readonly name = 'SkipError';
}
