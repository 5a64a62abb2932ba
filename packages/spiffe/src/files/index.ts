/**
 * File sources: an X509-SVID and trust bundles read from files (and followed as they change),
 * for workloads whose identity is written to disk by `spiffe api fetch x509 -write`,
 * `spiffe helper`, spiffe-helper or a secret mount. They implement the same one-method source
 * interfaces as the Workload API sources, so every TLS helper takes them.
 *
 * @example
 * ```ts
 * import { fileX509Source } from '@spiffe-node/spiffe/files';
 * const source = fileX509Source({ certFile: 'svid.0.pem', keyFile: 'svid.0.key', bundleFile: 'bundle.0.pem', watch: true });
 * source.on('update', (svid) => console.log(`rotated: ${svid.id}`));
 * ```
 *
 * @module
 */
export { FileX509Source, fileX509Source, type FileX509SourceOptions } from './file-x509-source.js';
export { FileBundleSource, fileBundleSource, type FileBundleSourceOptions } from './file-bundle-source.js';
export type { BundleFileFormat } from './bundle-file.js';
export type { FileWatchOptions } from './options.js';
