/**
 * An X509-SVID (and the bundles to verify peers with) read from PEM files, optionally kept
 * current as the files change: the files `spiffe api fetch x509 -write`, `spiffe helper`,
 * spiffe-helper, cert-manager's csi-driver-spiffe or a Kubernetes secret mount provide.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { BundleError, FileSourceError, SourceClosedError, SpiffeError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import type { X509Bundle } from '../bundle/x509-bundle.js';
import { X509BundleSet } from '../bundle/x509-bundle-set.js';
import type { X509BundleSource } from '../bundle/source.js';
import { X509Svid, type X509SvidSource } from '../svid/x509/index.js';
import { defaultWorkloadApiLogger, safeLog, type WorkloadApiLogger } from '../workloadapi/logger.js';
import { parseBundleFile } from './bundle-file.js';
import { checkPath, checkWatchOptions, type FileWatchOptions } from './options.js';
import { FileChangeWatcher } from './watch.js';

/**
 * Options of {@link fileX509Source}.
 *
 * @example
 * ```ts
 * const options: FileX509SourceOptions = {
 *   certFile: '/run/svid/svid.0.pem',
 *   keyFile: '/run/svid/svid.0.key',
 *   bundleFile: '/run/svid/bundle.0.pem',
 *   federatedBundleFiles: { 'partner.org': '/run/svid/federated_bundle.0.0.pem' },
 *   watch: true,
 * };
 * ```
 */
export interface FileX509SourceOptions extends FileWatchOptions {
  /** The certificate chain, PEM, leaf first (`svid.0.pem`). */
  certFile: string;
  /** The leaf's private key, PEM (`PRIVATE KEY` PKCS#8; SEC1 and PKCS#1 are read too). */
  keyFile: string;
  /**
   * The bundle of the SVID's own trust domain, to verify peers with: PEM CA certificates
   * (`bundle.0.pem`) or a SPIFFE bundle (JSON). Without it the source holds no bundle.
   */
  bundleFile?: string;
  /** Bundles of other trust domains, by trust domain name (PEM or SPIFFE bundle JSON each). */
  federatedBundleFiles?: Readonly<Record<string, string>>;
}

interface Snapshot {
  svid: X509Svid;
  bundles: X509BundleSet;
  contents: Buffer[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fileError(text: string, cause?: unknown): SpiffeError {
  return new FileSourceError(`files: ${text}`, cause === undefined ? undefined : { cause });
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EACCES'
          ? 'permission denied (check the file mode and the user this process runs as)'
          : message(err);
    throw fileError(`cannot read the ${what} ${path}: ${why}`, err);
  }
}

let construct: (options: FileX509SourceOptions) => FileX509Source;

/**
 * An X509-SVID read from files, with the bundles of its own and federated trust domains: an
 * {@link X509SvidSource} and {@link X509BundleSource} that every TLS helper takes, like the
 * Workload API's `X509Source`.
 *
 * With `watch: true`, changes on disk are picked up (directory watch plus polling). New
 * contents are used only when they hold a valid X509-SVID whose key matches its leaf, that has
 * not expired, and whose bundle files parse; anything else (a half-written file, a new
 * certificate next to the old key) is ignored with one logged reason and an `'ignored'` event,
 * and the previous SVID and bundles stay in use until a consistent set appears. Each accepted
 * change emits `'update'` with the new SVID.
 *
 * Writers should replace files atomically (write a temporary file, then rename), as `spiffe api
 * fetch x509 -write` and `spiffe helper` do; a certificate file cut exactly between two PEM
 * blocks cannot be told from a shorter chain.
 *
 * Events: `'update'` `(svid: X509Svid)`, `'ignored'` `(err: SpiffeError)`, `'close'`.
 *
 * @example
 * ```ts
 * import { fileX509Source } from '@spiffe-node/spiffe/files';
 * import { createHttpsServer, mtlsServerOptions } from '@spiffe-node/spiffe/tls';
 * import { authorizeMemberOf, TrustDomain } from '@spiffe-node/spiffe';
 * const source = fileX509Source({
 *   certFile: 'svid.0.pem', keyFile: 'svid.0.key', bundleFile: 'bundle.0.pem', watch: true,
 * });
 * source.on('update', (svid) => console.log(`now serving ${svid.id}, until ${svid.expiresAt.toISOString()}`));
 * const server = createHttpsServer(
 *   mtlsServerOptions(source, source, authorizeMemberOf(TrustDomain.fromString('example.org'))),
 *   (req, res) => res.end('hello'),
 * );
 * ```
 */
export class FileX509Source extends EventEmitter implements X509SvidSource, X509BundleSource {
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #bundleFile: string | undefined;
  readonly #federated: ReadonlyArray<[TrustDomain, string]>;
  readonly #logger: WorkloadApiLogger;
  readonly #watcher: FileChangeWatcher | undefined;
  #current: Snapshot;
  #lastIgnored: string | undefined;
  #closed = false;

  static {
    construct = (options) => new FileX509Source(options);
  }

  private constructor(options: FileX509SourceOptions) {
    super();
    const where = 'fileX509Source';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: expected { certFile, keyFile, bundleFile?, federatedBundleFiles?, watch? }`);
    }
    this.#certFile = checkPath(options.certFile, 'certFile', where);
    this.#keyFile = checkPath(options.keyFile, 'keyFile', where);
    this.#bundleFile = options.bundleFile === undefined ? undefined : checkPath(options.bundleFile, 'bundleFile', where);
    const federated = options.federatedBundleFiles ?? {};
    if (typeof federated !== 'object' || federated === null || Array.isArray(federated)) {
      throw new TypeError(`${where}: federatedBundleFiles must map trust domain names to file paths`);
    }
    this.#federated = Object.entries(federated).map(([name, path]) => [
      TrustDomain.fromString(name),
      checkPath(path, `federatedBundleFiles["${name}"]`, where),
    ]);
    checkWatchOptions(options, where);
    this.#logger = options.logger ?? defaultWorkloadApiLogger;
    // The first read must succeed: a source without an SVID is of no use to anyone.
    this.#current = this.#read();
    if (this.#current.svid.expiresAt.getTime() <= Date.now()) {
      throw fileError(
        `the certificate in ${this.#certFile} (${this.#current.svid.id}) expired at ${this.#current.svid.expiresAt.toISOString()}; fetch a new SVID (spiffe api fetch x509 -write, or run spiffe helper)`,
      );
    }
    if (options.watch === true) {
      this.#watcher = new FileChangeWatcher(this.#files(), () => this.reload(), { pollIntervalMs: options.pollIntervalMs });
    }
  }

  /**
   * The trust domain of the current SVID.
   *
   * @example
   * ```ts
   * source.trustDomain.name; // 'example.org'
   * ```
   */
  get trustDomain(): TrustDomain {
    return this.#current.svid.id.trustDomain;
  }

  /** Whether {@link FileX509Source.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The current X509-SVID.
   *
   * @throws {@link SourceClosedError} after close, {@link FileSourceError} when the SVID
   *   in use has expired and the files hold nothing newer.
   * @example
   * ```ts
   * const { certificates, privateKey } = source.getX509Svid().marshal();
   * ```
   */
  getX509Svid(): X509Svid {
    this.#assertOpen();
    const svid = this.#current.svid;
    if (svid.expiresAt.getTime() <= Date.now()) {
      throw fileError(
        `the SVID ${svid.id} from ${this.#certFile} expired at ${svid.expiresAt.toISOString()} and no newer one was written; check that the process keeping the files current (spiffe helper) is running`,
      );
    }
    return svid;
  }

  /**
   * The X.509 bundle of `trustDomain`: from `bundleFile` for the SVID's own trust domain, from
   * `federatedBundleFiles` for the others.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` when no file gives that trust domain's bundle.
   * @example
   * ```ts
   * const bundle = source.getX509BundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    this.#assertOpen();
    try {
      return this.#current.bundles.getX509BundleForTrustDomain(trustDomain);
    } catch (err) {
      if (err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND') {
        throw new BundleError(
          'ERR_BUNDLE_NOT_FOUND',
          `x509bundle: no X.509 bundle for trust domain "${trustDomain.name}" in the files of this source (${this.#bundleFiles().join(', ') || 'no bundle file was given'})`,
        );
      }
      throw err;
    }
  }

  /**
   * Every X.509 bundle the source holds (own trust domain first).
   *
   * @example
   * ```ts
   * for (const b of source.x509Bundles()) console.log(b.trustDomain.name, b.authorities().length);
   * ```
   */
  x509Bundles(): X509Bundle[] {
    this.#assertOpen();
    return this.#current.bundles.bundles();
  }

  /**
   * Reads the files now. Returns true when they held a new, consistent SVID or new bundles (an
   * `'update'` is emitted), false when nothing changed or the new contents were ignored.
   * Watching sources call this by themselves.
   *
   * @example
   * ```ts
   * await writeNewFiles();
   * source.reload(); // do not wait for the watcher
   * ```
   */
  reload(): boolean {
    if (this.#closed) return false;
    let next: Snapshot;
    try {
      next = this.#read();
      const svid = next.svid;
      if (svid.expiresAt.getTime() <= Date.now()) {
        throw fileError(`the certificate (${svid.id}) expired at ${svid.expiresAt.toISOString()}`);
      }
    } catch (err) {
      this.#ignore(err);
      return false;
    }
    this.#lastIgnored = undefined;
    const previous = this.#current;
    if (next.contents.length === previous.contents.length && next.contents.every((c, i) => c.equals(previous.contents[i]!))) {
      return false;
    }
    this.#current = next;
    this.emit('update', next.svid);
    return true;
  }

  /**
   * Stops watching. Idempotent; later calls to the getters throw `ERR_SOURCE_CLOSED`.
   *
   * @example
   * ```ts
   * await source.close();
   * ```
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#watcher?.close();
      this.emit('close');
    }
    return Promise.resolve();
  }

  #files(): string[] {
    return [this.#certFile, this.#keyFile, ...this.#bundleFiles()];
  }

  #bundleFiles(): string[] {
    return [...(this.#bundleFile === undefined ? [] : [this.#bundleFile]), ...this.#federated.map(([, path]) => path)];
  }

  #read(): Snapshot {
    const cert = readFile(this.#certFile, 'certificate file');
    const key = readFile(this.#keyFile, 'key file');
    let svid: X509Svid;
    try {
      svid = X509Svid.parse(cert, key);
    } catch (err) {
      throw fileError(`${this.#certFile} and ${this.#keyFile} do not hold a usable X509-SVID: ${message(err)}`, err);
    }
    const contents = [cert, key];
    const bundles = new X509BundleSet();
    const readBundle = (td: TrustDomain, path: string): void => {
      const data = readFile(path, `bundle file of "${td.name}"`);
      contents.push(data);
      let x509: X509Bundle | undefined;
      try {
        x509 = parseBundleFile(td, data, 'auto').x509;
      } catch (err) {
        throw fileError(`the bundle file ${path} of "${td.name}" cannot be read: ${message(err)}`, err);
      }
      if (x509 === undefined || x509.authorities().length === 0) {
        throw fileError(`the bundle file ${path} of "${td.name}" holds no X.509 authority`);
      }
      bundles.add(x509);
    };
    if (this.#bundleFile !== undefined) readBundle(svid.id.trustDomain, this.#bundleFile);
    for (const [td, path] of this.#federated) {
      if (td.equals(svid.id.trustDomain)) {
        throw fileError(`federatedBundleFiles names "${td.name}", the SVID's own trust domain; give its bundle as bundleFile`);
      }
      readBundle(td, path);
    }
    return { svid, bundles, contents };
  }

  #ignore(err: unknown): void {
    const reason = message(err);
    if (reason === this.#lastIgnored) return;
    this.#lastIgnored = reason;
    const keeping = this.#current.svid;
    safeLog(
      this.#logger,
      'warn',
      `${reason}; ignored the new contents and kept the SVID ${keeping.id} (expires ${keeping.expiresAt.toISOString()})`,
    );
    this.emit('ignored', err instanceof SpiffeError ? err : fileError(reason, err));
  }

  #assertOpen(): void {
    if (this.#closed) throw new SourceClosedError('files: the file source is closed');
  }
}

/**
 * Creates a {@link FileX509Source}: reads the SVID (and bundles) from files now, and with
 * `watch: true` keeps following them.
 *
 * @throws {@link FileSourceError} (`ERR_FILE_SOURCE`) when the files cannot be read, do not hold a
 *   valid X509-SVID with its key, the certificate has expired, or a bundle file is invalid.
 * @throws `TypeError` for malformed options.
 * @example
 * ```ts
 * import { fileX509Source } from '@spiffe-node/spiffe/files';
 * const source = fileX509Source({ certFile: 'svid.pem', keyFile: 'svid_key.pem', bundleFile: 'svid_bundle.pem', watch: true });
 * console.log(source.getX509Svid().id.toString());
 * await source.close();
 * ```
 */
export function fileX509Source(options: FileX509SourceOptions): FileX509Source {
  return construct(options);
}
