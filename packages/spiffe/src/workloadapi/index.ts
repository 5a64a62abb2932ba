/**
 * The SPIFFE Workload API: a client ({@link WorkloadApiClient}) and self-renewing sources of
 * X509-SVIDs ({@link X509Source}), JWT-SVIDs ({@link JwtSource}) and trust bundles
 * ({@link BundleSource}).
 *
 * @example
 * ```ts
 * import { X509Source } from '@spiffe-node/spiffe/workloadapi';
 * const source = await X509Source.create(); // reads SPIFFE_ENDPOINT_SOCKET
 * console.log(source.getX509Svid().id.toString());
 * await source.close();
 * ```
 *
 * @module
 */
export {
  ENDPOINT_SOCKET_ENV,
  parseWorkloadApiAddress,
  resolveWorkloadApiAddress,
  describeWorkloadApiAddress,
  type WorkloadApiAddress,
} from './address.js';
export { defaultWorkloadApiLogger, type WorkloadApiLogger } from './logger.js';
export {
  WorkloadApiClient,
  type WorkloadApiClientOptions,
  type X509ContextWatcher,
  type X509BundlesWatcher,
  type JwtBundlesWatcher,
} from './client.js';
export type { X509Context } from './responses.js';
export type { WorkloadApiSourceOptions } from './source-base.js';
export { X509Source, type X509SourceOptions } from './x509-source.js';
export { JwtSource, type JwtSourceOptions } from './jwt-source.js';
export { BundleSource, type BundleSourceOptions, type BundleSourceUpdate } from './bundle-source.js';
