/**
 * An express (or plain `node:http`-style) middleware that puts the authenticated client's
 * SPIFFE ID on `req.spiffeId`.
 *
 * Importing this entry point (and only this one) adds `spiffeId?: SpiffeId` to express's
 * `Express.Request` type by declaration merging; `@types/express` is not needed to compile
 * against it.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { spiffeAuth } from '@spiffe-node/spiffe/express';
 * const app = express();
 * app.use(spiffeAuth());
 * app.get('/', (req, res) => res.send(`hello ${req.spiffeId}`));
 * ```
 *
 * @module
 */
export { spiffeAuth } from '../tls/express.js';
export type { SpiffeAuthOptions } from '../tls/express.js';
