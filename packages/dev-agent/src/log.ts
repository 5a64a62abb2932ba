/**
 * A small levelled logger writing logfmt lines (`time=... level=info msg="..." key=value`), as
 * SPIRE does. Callers pass only what is safe to log: never keys, never whole tokens.
 *
 * @module
 */

/**
 * Log levels, from the most to the least verbose.
 *
 * @example
 * ```ts
 * await startDevAgent({ logLevel: 'debug' });
 * ```
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Structured fields of a log line.
 *
 * @example
 * ```ts
 * logger.log('info', 'Issued X509-SVID', { spiffe_id: 'spiffe://example.org/web' });
 * ```
 */
export type LogFields = Record<string, string | number | boolean | undefined | readonly string[]>;

/**
 * The logger interface the agent writes to. Pass your own to {@link startDevAgent} to capture
 * or silence the agent's log.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const logger: Logger = { log: (level, msg) => lines.push(`${level} ${msg}`) };
 * ```
 */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

/** Whether `value` is a log level name. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(ORDER, value);
}

function quote(value: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * A logger that writes logfmt lines at `level` and above to a stream (stderr by default).
 *
 * @example
 * ```ts
 * const logger = createLogger('debug');
 * logger.log('info', 'started', { trust_domain: 'example.org' });
 * ```
 */
export function createLogger(level: LogLevel, out: NodeJS.WritableStream = process.stderr): Logger {
  const min = ORDER[level];
  return {
    log(lineLevel, msg, fields) {
      if (ORDER[lineLevel] < min) return;
      let line = `time=${new Date().toISOString()} level=${lineLevel} msg=${quote(msg)}`;
      for (const [key, value] of Object.entries(fields ?? {})) {
        if (value === undefined) continue;
        const text = Array.isArray(value) ? value.join(',') : String(value);
        line += ` ${key}=${quote(text)}`;
      }
      out.write(`${line}\n`);
    },
  };
}
