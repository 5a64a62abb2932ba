/**
 * SPIFFE Federation: fetch a foreign trust domain's bundle from its bundle endpoint
 * ({@link fetchBundle}), keep it current as a bundle source ({@link FederatedBundleSource}), and
 * serve a trust domain's bundle as a bundle endpoint ({@link bundleEndpointHandler}), with the
 * `https_web` and `https_spiffe` endpoint profiles of the SPIFFE Federation specification.
 *
 * @module
 */
export { fetchBundle } from './fetch.js';
export type { FetchBundleOptions } from './fetch.js';
export { FederatedBundleSource } from './source.js';
export type { FederatedBundleSourceOptions } from './source.js';
export { bundleEndpointHandler } from './handler.js';
export type { BundleEndpointHandler, BundleEndpointHandlerOptions } from './handler.js';
export type { BundleEndpoint, BundleEndpointProfile, HttpsWebProfile, HttpsSpiffeProfile } from './endpoint.js';
