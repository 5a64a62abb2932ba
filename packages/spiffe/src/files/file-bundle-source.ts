/**
 * The trust bundle of one trust domain read from a file (PEM CA certificates, a SPIFFE bundle,
 * or a JWK Set of JWT signing keys), optionally kept current as the file changes.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { BundleError, FileSourceError, SourceClosedError, SpiffeError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import type { X509Bundle } from '../bundle/x509-bundle.js';
import type { JwtBundle } from '../bundle/jwt-bundle.js';
import type { JwtBundleSource, X509BundleSource } from '../bundle/source.js';
import { defaultWorkloadApiLogger, safeLog, type WorkloadApiLogger } from '../workloadapi/logger.js';
import { checkBundleFormat, parseBundleFile, type BundleFileFormat, type ParsedBundleFile } from './bundle-file.js';
import { checkPath, checkWatchOptions, type FileWatchOptions } from './options.js';
import { FileChangeWatcher } from './watch.js';

/**
 * Options of {@link fileBundleSource}.
 *
 * @example
 * ```ts
 * const options: FileBundleSourceOptions = {
 *   trustDomain: 'example.org',
 *   file: '/etc/spiffe/bundle.json',
 *   format: 'spiffe',
 *   watch: true,
 * };
 * ```
 */
export interface FileBundleSourceOptions extends FileWatchOptions {
  /** The trust domain whose bundle the file holds. */
  trustDomain: string | TrustDomain;
  /** The bundle file. */
  file: string;
  /**
   * `pem` (CA certificates), `spiffe` (a SPIFFE bundle: a JWK Set with `x509-svid` and
   * `jwt-svid` keys, as `spire-server bundle show -format spiffe` prints), `jwks` (a JWK Set of
   * JWT signing keys) or `auto` (default: JSON when the file starts with `{`, PEM otherwise).
   */
  format?: BundleFileFormat;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fileError(text: string, cause?: unknown): SpiffeError {
  return new FileSourceError(`files: ${text}`, cause === undefined ? undefined : { cause });
}

let construct: (options: FileBundleSourceOptions) => FileBundleSource;

/**
 * The bundle of one trust domain from a file: an {@link X509BundleSource} and a
 * {@link JwtBundleSource} (for the parts the file holds) for that trust domain, answering
 * `ERR_BUNDLE_NOT_FOUND` for every other one. Use it to verify peers when the own SVID comes
 * from elsewhere, or to validate JWT-SVIDs against a published SPIFFE bundle.
 *
 * With `watch: true` the file is followed; contents that do not parse (a half-written file)
 * are ignored with one logged reason and an `'ignored'` event, and the previous bundle stays.
 *
 * Events: `'update'` `(source: FileBundleSource)`, `'ignored'` `(err: SpiffeError)`, `'close'`.
 *
 * @example
 * ```ts
 * import { fileBundleSource } from '@spiffe-node/spiffe/files';
 * import { parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
 * const bundles = fileBundleSource({ trustDomain: 'example.org', file: 'bundle.json', watch: true });
 * const svid = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/api']);
 * ```
 */
export class FileBundleSource extends EventEmitter implements X509BundleSource, JwtBundleSource {
  /** The trust domain whose bundle this source holds. */
  readonly trustDomain: TrustDomain;
  readonly #file: string;
  readonly #format: BundleFileFormat;
  readonly #logger: WorkloadApiLogger;
  readonly #watcher: FileChangeWatcher | undefined;
  #current: ParsedBundleFile & { contents: Buffer };
  #lastIgnored: string | undefined;
  #closed = false;

  static {
    construct = (options) => new FileBundleSource(options);
  }

  private constructor(options: FileBundleSourceOptions) {
    super();
    const where = 'fileBundleSource';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: expected { trustDomain, file, format?, watch? }`);
    }
    const td = options.trustDomain;
    if (td instanceof TrustDomain) this.trustDomain = td;
    else if (typeof td === 'string') this.trustDomain = TrustDomain.fromString(td);
    else throw new TypeError(`${where}: trustDomain must be a trust domain name or a TrustDomain`);
    this.#file = checkPath(options.file, 'file', where);
    this.#format = checkBundleFormat(options.format, where);
    checkWatchOptions(options, where);
    this.#logger = options.logger ?? defaultWorkloadApiLogger;
    this.#current = this.#read();
    if (options.watch === true) {
      this.#watcher = new FileChangeWatcher([this.#file], () => this.reload(), { pollIntervalMs: options.pollIntervalMs });
    }
  }

  /** Whether {@link FileBundleSource.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The X.509 bundle, when `trustDomain` is this source's and the file holds CA certificates.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` otherwise.
   * @example
   * ```ts
   * parseAndVerifyX509Svid(peerChain, source); // calls this with the peer's trust domain
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    this.#assertOpen();
    const bundle = this.#current.x509;
    if (!this.trustDomain.equals(trustDomain) || bundle === undefined) {
      throw this.#notFound('X.509', trustDomain);
    }
    return bundle;
  }

  /**
   * The JWT bundle, when `trustDomain` is this source's and the file holds JWT signing keys.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` otherwise.
   * @example
   * ```ts
   * const keys = source.getJwtBundleForTrustDomain(source.trustDomain).jwtAuthorities();
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    this.#assertOpen();
    const bundle = this.#current.jwt;
    if (!this.trustDomain.equals(trustDomain) || bundle === undefined) {
      throw this.#notFound('JWT', trustDomain);
    }
    return bundle;
  }

  /**
   * The X.509 bundle of this source's trust domain (as a list, empty when the file holds none),
   * so that TLS helpers can list the CAs a source trusts.
   *
   * @example
   * ```ts
   * source.x509Bundles().map((b) => b.trustDomain.name); // ['example.org']
   * ```
   */
  x509Bundles(): X509Bundle[] {
    this.#assertOpen();
    return this.#current.x509 === undefined ? [] : [this.#current.x509];
  }

  /**
   * Reads the file now; true when it held a new valid bundle (an `'update'` is emitted).
   *
   * @example
   * ```ts
   * source.reload();
   * ```
   */
  reload(): boolean {
    if (this.#closed) return false;
    let next: ParsedBundleFile & { contents: Buffer };
    try {
      next = this.#read();
    } catch (err) {
      const reason = message(err);
      if (reason !== this.#lastIgnored) {
        this.#lastIgnored = reason;
        safeLog(this.#logger, 'warn', `${reason}; ignored the new contents and kept the previous bundle of "${this.trustDomain.name}"`);
        this.emit('ignored', err instanceof SpiffeError ? err : fileError(reason, err));
      }
      return false;
    }
    this.#lastIgnored = undefined;
    if (next.contents.equals(this.#current.contents)) return false;
    this.#current = next;
    this.emit('update', this);
    return true;
  }

  /**
   * Stops watching. Idempotent.
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

  #read(): ParsedBundleFile & { contents: Buffer } {
    let contents: Buffer;
    try {
      contents = readFileSync(this.#file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw fileError(`cannot read the bundle file ${this.#file}: ${code === 'ENOENT' ? 'it does not exist' : message(err)}`, err);
    }
    let parsed: ParsedBundleFile;
    try {
      parsed = parseBundleFile(this.trustDomain, contents, this.#format);
    } catch (err) {
      throw fileError(`the bundle file ${this.#file} of "${this.trustDomain.name}" cannot be read: ${message(err)}`, err);
    }
    return { ...parsed, contents };
  }

  #notFound(kind: string, trustDomain: TrustDomain): BundleError {
    const why = this.trustDomain.equals(trustDomain)
      ? `${this.#file} holds no ${kind} authorities`
      : `this source holds only the bundle of "${this.trustDomain.name}" (${this.#file})`;
    return new BundleError(
      'ERR_BUNDLE_NOT_FOUND',
      `${kind === 'JWT' ? 'jwtbundle' : 'x509bundle'}: no ${kind} bundle for trust domain "${trustDomain.name}": ${why}`,
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new SourceClosedError('files: the file source is closed');
  }
}

/**
 * Creates a {@link FileBundleSource}: reads the bundle of `trustDomain` from `file` now and,
 * with `watch: true`, keeps following it.
 *
 * @throws {@link FileSourceError} (`ERR_FILE_SOURCE`) when the file cannot be read or is not a
 *   bundle of the format.
 * @throws `TypeError` for malformed options.
 * @example
 * ```ts
 * import { fileBundleSource } from '@spiffe-node/spiffe/files';
 * import { tlsClientOptions } from '@spiffe-node/spiffe/tls';
 * import { authorizeId } from '@spiffe-node/spiffe';
 * const bundle = fileBundleSource({ trustDomain: 'example.org', file: 'bundle.0.pem' });
 * const options = tlsClientOptions(bundle, authorizeId('spiffe://example.org/server'));
 * ```
 */
export function fileBundleSource(options: FileBundleSourceOptions): FileBundleSource {
  return construct(options);
}
