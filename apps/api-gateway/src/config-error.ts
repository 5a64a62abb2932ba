/**
 * The error of a configuration the gateway refuses: which file, which field, what is allowed.
 *
 * @module
 */

/**
 * A gateway configuration or API definition that cannot be used. The message names the file
 * and the field (`EmployeeServiceAPI.apk-conf: authentication[0].required: must be "mandatory"
 * or "optional", got "sometimes"`); `file` and `field` hold them apart for programs.
 *
 * @example
 * ```ts
 * try {
 *   await loadGatewayConfig('config/gateway.yaml');
 * } catch (err) {
 *   if (err instanceof GatewayConfigError) console.error(`Invalid configuration: ${err.message}`);
 * }
 * ```
 */
export class GatewayConfigError extends Error {
  /** The file at fault. */
  readonly file: string;
  /** The field at fault (`operations[1].verb`), or `''` for the file as a whole. */
  readonly field: string;

  constructor(file: string, field: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${field === '' ? '' : `${field}: `}${problem}`, options);
    this.name = 'GatewayConfigError';
    this.file = file;
    this.field = field;
  }
}
