/**
 * `fetch` with SPIFFE through an undici dispatcher.
 *
 * This entry point is the only one whose types import `undici` (an optional peer dependency:
 * `npm install undici`, >= 7). undici is loaded when {@link createSpiffeDispatcher} is first
 * called, never by importing this module.
 *
 * @example
 * ```ts
 * import { fetch } from 'undici';
 * import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
 * const dispatcher = createSpiffeDispatcher({ svidSource: source, bundleSource: source, authorizer });
 * await fetch('https://localhost:8443/', { dispatcher });
 * ```
 *
 * @module
 */
export { createSpiffeDispatcher } from '../tls/undici.js';
export type { SpiffeDispatcherOptions } from '../tls/undici.js';
