/**
 * `@spiffe-node/cli`: the `spiffe` command (`api fetch|validate|watch`, `helper`) and its parts
 * for programmatic use: the helper daemon, its configuration parser and the HCL parser.
 *
 * @example
 * ```ts
 * import { main } from '@spiffe-node/cli';
 * process.exitCode = await main(['api', 'fetch', 'x509', '-silent', '-write', '/run/svids']);
 * ```
 *
 * @module
 */
export { main, USAGE, type MainOptions } from './main.js';
export { processIo, type CliIo } from './io.js';
export { parseHcl, hclToJson, HclSyntaxError, type HclEntry, type HclObject, type HclPos, type HclValue } from './hcl/parse.js';
export {
  parseHelperConfig,
  splitCommandArgs,
  HelperConfigError,
  type HelperConfig,
  type HelperHealthChecks,
  type HelperJwtSvidConfig,
} from './helper/config.js';
export { SpiffeHelper, jwtRefreshDelay, type SpiffeHelperOptions } from './helper/helper.js';
export { CertDir, DATA_LINK, type CertDirFile } from './helper/cert-dir.js';
export { writeFileAtomic } from './files/atomic.js';
export { writeSvidFiles } from './files/svid-files.js';
export { formatGoDuration, formatGoTime, parseGoDuration } from './go-format.js';
export { resolveEndpoint, DEFAULT_SOCKET_PATH, type Endpoint } from './endpoint.js';
