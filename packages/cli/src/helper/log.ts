/**
 * The helper's log: one line per event, `time=... level=... msg="..."` (logfmt, as SPIRE and
 * spiffe-helper write), filtered by `log_level`.
 *
 * @module
 */

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Where the helper reports; never given key material or tokens.
 *
 * @example
 * ```ts
 * const log = helperLog((line) => process.stderr.write(line), 'info');
 * log.info('X.509 certificates updated');
 * ```
 */
export interface HelperLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A {@link HelperLog} writing logfmt lines through `write`.
 *
 * @example
 * ```ts
 * helperLog((line) => io.stderr(line), config.logLevel).warn('renew_signal is set but cmd is not');
 * ```
 */
export function helperLog(write: (line: string) => void, level: (typeof LEVELS)[number] = 'info'): HelperLog {
  const min = LEVELS.indexOf(level);
  const at = (l: (typeof LEVELS)[number]) => (message: string) => {
    if (LEVELS.indexOf(l) < min) return;
    write(`time=${new Date().toISOString()} level=${l} msg=${JSON.stringify(message)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
