/**
 * The helper's health listener: liveness and readiness over HTTP, with spiffe-helper's answers
 * (`{"status":"OK","health":{"file_write_statuses":{...}}}`, 200 or 503).
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { HelperHealthChecks } from './config.js';

/** A file's state: not yet written, written, or its last write failed. */
export type WriteStatus = 'unwritten' | 'written' | 'failed';

/**
 * The write state of every file the helper keeps.
 *
 * @example
 * ```ts
 * const health: HelperHealth = { x509: 'written', jwt: new Map([['/run/certs/db.token', 'written']]) };
 * ```
 */
export interface HelperHealth {
  /** Undefined when no X.509 files are configured. */
  x509: WriteStatus | undefined;
  /** JWT-SVID and JWT bundle files, by path. */
  jwt: Map<string, WriteStatus>;
}

/**
 * Live: no write has failed. Ready: every file is written.
 *
 * @example
 * ```ts
 * const { live, ready } = healthOf(health);
 * ```
 */
export function healthOf(health: HelperHealth): { live: boolean; ready: boolean } {
  const statuses = [...(health.x509 === undefined ? [] : [health.x509]), ...health.jwt.values()];
  return { live: !statuses.includes('failed'), ready: statuses.every((s) => s === 'written') };
}

/**
 * Starts the listener; resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startHealthServer(config.healthChecks, () => health);
 * server.close();
 * ```
 */
export async function startHealthServer(options: HelperHealthChecks, current: () => HelperHealth): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const check = path === options.livenessPath ? 'live' : path === options.readinessPath ? 'ready' : undefined;
    if (check === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const health = current();
    const good = healthOf(health)[check];
    const body = JSON.stringify({
      status: good ? 'OK' : 'Service Unavailable',
      health: {
        file_write_statuses: {
          ...(health.x509 === undefined ? {} : { x509_write_status: health.x509 }),
          jwt_write_status: Object.fromEntries(health.jwt),
        },
      },
    });
    res.writeHead(good ? 200 : 503, { 'content-type': 'application/json' }).end(body);
  });
  server.listen(options.bindPort, options.bindAddress === '' ? undefined : options.bindAddress);
  await once(server, 'listening');
  return server;
}
