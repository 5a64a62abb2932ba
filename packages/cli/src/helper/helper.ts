/**
 * The helper daemon: keeps SVID files current from the Workload API for software that reads
 * certificates, keys and tokens from disk, and tells that software when they change.
 *
 * @module
 */
import type { Server } from 'node:http';
import { isAbsolute, join, resolve } from 'node:path';
import type { JwtSvid, WorkloadApiError } from '@spiffe-node/spiffe';
import { WorkloadApiClient } from '@spiffe-node/spiffe/workloadapi';
import { describeEndpoint, resolveEndpoint, type Endpoint } from '../endpoint.js';
import { describeFailure } from '../failure.js';
import { CertDir, type CertDirFile } from './cert-dir.js';
import { ManagedCommand, signalPidFile } from './child.js';
import type { HelperConfig, HelperJwtSvidConfig } from './config.js';
import { jwtBundleFile, x509Files } from './contents.js';
import { healthOf, startHealthServer, type HelperHealth } from './health.js';
import { helperLog, type HelperLog } from './log.js';

/**
 * Options of {@link SpiffeHelper}.
 *
 * @example
 * ```ts
 * const options: SpiffeHelperOptions = { env: process.env, cwd: process.cwd() };
 * ```
 */
export interface SpiffeHelperOptions {
  /** The environment (`SPIFFE_ENDPOINT_SOCKET`); default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Where to log; default logfmt lines on stderr at the configured `log_level`. */
  log?: HelperLog;
  /** Relative `cert_dir` and `pid_file_name` are resolved against this; default `process.cwd()`. */
  cwd?: string;
}

/** The shortest wait before fetching a JWT-SVID again, in ms. */
const MIN_JWT_REFRESH_MS = 1000;
/** Retry delays after a failed JWT-SVID fetch: 1 s doubling up to 60 s (spiffe-helper's). */
const JWT_RETRY_INITIAL_MS = 1000;
const JWT_RETRY_MAX_MS = 60_000;

/**
 * When to fetch a JWT-SVID again, in ms from `now`.
 *
 * A new token is fetched again shortly before half of its lifetime (from its `iat`, else from
 * now) has passed: a tenth of the lifetime early, at most a second. An agent may hand out the
 * same token until then (SPIRE's agent re-issues a JWT-SVID only once less than half of its
 * lifetime is left): when the token fetched is the one already held (`unchanged`), the next
 * fetch is just after its half-life. Never sooner than a second.
 *
 * @example
 * ```ts
 * const now = Date.now();
 * const svid = { expiry: new Date(now + 300_000), claims: { iat: Math.floor(now / 1000) } };
 * jwtRefreshDelay(svid, { now });                   // about 149 s
 * jwtRefreshDelay(svid, { now, unchanged: true });  // about 150.1 s
 * ```
 */
export function jwtRefreshDelay(
  svid: { expiry: Date; claims?: Record<string, unknown> },
  options: { now?: number; unchanged?: boolean } = {},
): number {
  const now = options.now ?? Date.now();
  const exp = svid.expiry.getTime();
  const claimed = svid.claims?.['iat'];
  const iat =
    typeof claimed === 'number' && Number.isFinite(claimed) && claimed * 1000 <= now && claimed * 1000 < exp ? claimed * 1000 : now;
  const lifetime = Math.max(0, exp - iat);
  const halfLife = iat + lifetime / 2;
  const target = options.unchanged === true ? halfLife + 100 : halfLife - Math.min(1000, lifetime / 10);
  return Math.max(MIN_JWT_REFRESH_MS, Math.floor(target - now));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function sameData(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * spiffe-helper, in Node: reads its configuration ({@link parseHelperConfig}), then
 *
 * - in daemon mode (the default) watches the X.509 context and the JWT bundles, and fetches each
 *   configured JWT-SVID again before half its lifetime has passed; every change is written to
 *   `cert_dir` so that all files switch together (see {@link CertDir}); once every file has
 *   been written it starts `cmd` (with `cmd_args`), and after each later change sends it
 *   `renew_signal` (starting it again if it had exited) and signals the pid in `pid_file_name`;
 *   with `exit_when_ready` it exits once every file is written (leaving `cmd` running);
 * - with `daemon_mode = false` fetches everything once, writes it, and exits.
 *
 * Optional health listener (`health_checks { listener_enabled = true }`): `/live` answers 200
 * while no write has failed, `/ready` once every file is written.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { SpiffeHelper, parseHelperConfig } from '@spiffe-node/cli';
 * const config = parseHelperConfig(readFileSync('helper.conf', 'utf8'), 'helper.conf');
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * process.exitCode = await new SpiffeHelper(config).run(stop.signal);
 * ```
 */
export class SpiffeHelper {
  readonly #config: HelperConfig;
  readonly #env: Record<string, string | undefined>;
  readonly #log: HelperLog;
  readonly #certDir: CertDir;
  readonly #pidFile: string;
  readonly #files = new Map<string, CertDirFile>();
  readonly #health: HelperHealth;
  readonly #command: ManagedCommand | undefined;
  #queue: Promise<void> = Promise.resolve();
  #ready = false;
  #readyResolve: (() => void) | undefined;

  constructor(config: HelperConfig, options: SpiffeHelperOptions = {}) {
    this.#config = config;
    this.#env = options.env ?? process.env;
    this.#log = options.log ?? helperLog((line) => void process.stderr.write(line), config.logLevel);
    const cwd = options.cwd ?? process.cwd();
    const dir = isAbsolute(config.certDir) ? config.certDir : resolve(cwd, config.certDir);
    this.#certDir = new CertDir(dir);
    this.#pidFile = config.pidFileName === '' ? '' : resolve(cwd, config.pidFileName);
    this.#health = { x509: this.#x509Enabled ? 'unwritten' : undefined, jwt: new Map() };
    if (config.jwtBundleFileName !== '') this.#health.jwt.set(join(dir, config.jwtBundleFileName), 'unwritten');
    for (const jwt of config.jwtSvids) this.#health.jwt.set(join(dir, jwt.fileName), 'unwritten');
    this.#command = config.cmd !== '' && config.daemonMode ? new ManagedCommand(config.cmd, config.cmdArgs, this.#log) : undefined;
  }

  /** The directory the files are kept in. */
  get certDir(): string {
    return this.#certDir.path;
  }

  /**
   * The write state of every file (what the health listener reports).
   *
   * @example
   * ```ts
   * helper.health().x509; // 'written'
   * ```
   */
  health(): HelperHealth {
    return { x509: this.#health.x509, jwt: new Map(this.#health.jwt) };
  }

  get #x509Enabled(): boolean {
    return this.#config.svidFileName !== '';
  }

  /**
   * Runs until `signal` aborts (daemon mode), until every file is written (`exit_when_ready`),
   * or once (`daemon_mode = false`).
   *
   * @returns the exit code: 0, or 1 after an error that ends the helper (an unusable endpoint,
   *   a one-shot fetch that failed, a Workload API that refuses the request for good).
   * @example
   * ```ts
   * const code = await helper.run(controller.signal);
   * ```
   */
  async run(signal: AbortSignal): Promise<number> {
    for (const warning of this.#config.warnings) this.#log.warn(warning);
    let endpoint: Endpoint;
    try {
      endpoint = resolveEndpoint(this.#config.agentAddress === '' ? undefined : this.#config.agentAddress, this.#env, 'agent_address');
    } catch (err) {
      this.#log.error((err as Error).message);
      return 1;
    }
    const client = new WorkloadApiClient({ address: endpoint.address, logger: this.#log, maxBackoffMs: 10_000 });
    try {
      return this.#config.daemonMode ? await this.#runDaemon(client, endpoint, signal) : await this.#runOnce(client, endpoint);
    } finally {
      client.close();
    }
  }

  async #runOnce(client: WorkloadApiClient, endpoint: Endpoint): Promise<number> {
    const files: CertDirFile[] = [];
    try {
      if (this.#x509Enabled) files.push(...x509Files(await client.fetchX509Context(), this.#config));
      if (this.#config.jwtBundleFileName !== '') files.push(jwtBundleFile(await client.fetchJwtBundles(), this.#config));
      for (const jwt of this.#config.jwtSvids) files.push(this.#jwtFile(jwt, await this.#fetchJwt(client, jwt)));
    } catch (err) {
      this.#log.error(`Unable to fetch from the Workload API: ${describeFailure(err, endpoint)}`);
      return 1;
    }
    try {
      await this.#certDir.write(files);
    } catch (err) {
      this.#log.error(`Unable to write the files to ${this.#certDir.path}: ${(err as Error).message}`);
      return 1;
    }
    this.#log.info(`Wrote ${files.map((f) => f.name).join(', ')} to ${this.#certDir.path}`);
    return 0;
  }

  async #runDaemon(client: WorkloadApiClient, endpoint: Endpoint, outer: AbortSignal): Promise<number> {
    const stop = new AbortController();
    const onAbort = (): void => {
      this.#log.info('Stopping');
      stop.abort();
    };
    outer.addEventListener('abort', onAbort, { once: true });
    let exitCode = 0;
    const fatal = (what: string) => (err: unknown) => {
      if (stop.signal.aborted) return;
      this.#log.error(`${what}: ${describeFailure(err, endpoint)}`);
      exitCode = 1;
      stop.abort();
    };
    const ready = new Promise<void>((resolve) => (this.#readyResolve = resolve));
    let health: Server | undefined;
    try {
      this.#log.info(`Connecting to the Workload API at ${describeEndpoint(endpoint)}; keeping files in ${this.#certDir.path}`);
      if (this.#config.healthChecks.listenerEnabled) {
        health = await startHealthServer(this.#config.healthChecks, () => this.#health);
        this.#log.info(
          `Health checks listening on port ${this.#config.healthChecks.bindPort} (${this.#config.healthChecks.livenessPath}, ${this.#config.healthChecks.readinessPath})`,
        );
      }
      const tasks: Promise<void>[] = [];
      if (this.#x509Enabled) {
        this.#log.info('Watching for X509 Context');
        tasks.push(
          client
            .watchX509Context(
              {
                onX509ContextUpdate: (ctx) => {
                  for (const svid of ctx.svids) this.#log.info(`Received update spiffe_id=${svid.id}`);
                  let files: CertDirFile[];
                  try {
                    files = x509Files(ctx, this.#config);
                  } catch (err) {
                    this.#log.error(`Unable to use the X.509 update: ${(err as Error).message}`);
                    this.#health.x509 = 'failed';
                    return;
                  }
                  void this.#apply(files, 'X.509 certificates updated', (status) => (this.#health.x509 = status));
                },
                onX509ContextWatchError: (err: WorkloadApiError) =>
                  this.#log.error(`Error while watching x509 context: ${describeFailure(err, endpoint)}`),
              },
              stop.signal,
            )
            .catch(fatal('Error watching X.509 context')),
        );
      }
      if (this.#config.jwtBundleFileName !== '') {
        this.#log.info('Watching for JWT Bundles');
        const path = join(this.#certDir.path, this.#config.jwtBundleFileName);
        tasks.push(
          client
            .watchJwtBundles(
              {
                onJwtBundlesUpdate: (set) =>
                  void this.#apply([jwtBundleFile(set, this.#config)], 'JWT bundle updated', (s) => this.#health.jwt.set(path, s)),
                onJwtBundlesWatchError: (err: WorkloadApiError) =>
                  this.#log.error(`Error while watching JWT bundles: ${describeFailure(err, endpoint)}`),
              },
              stop.signal,
            )
            .catch(fatal('Error watching JWT bundle updates')),
        );
      }
      for (const jwt of this.#config.jwtSvids) tasks.push(this.#jwtLoop(client, endpoint, jwt, stop.signal));
      if (this.#config.exitWhenReady) {
        await Promise.race([ready, new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }))]);
        if (this.#ready) this.#log.info('All files written; exiting (exit_when_ready)');
        stop.abort();
      }
      await Promise.all(tasks);
      await this.#queue;
      return exitCode;
    } finally {
      outer.removeEventListener('abort', onAbort);
      stop.abort();
      health?.close();
      if (!this.#config.exitWhenReady) await this.#command?.stop();
    }
  }

  async #fetchJwt(client: WorkloadApiClient, jwt: HelperJwtSvidConfig): Promise<JwtSvid> {
    const svids = await client.fetchJwtSvids({ audience: [jwt.audience, ...jwt.extraAudiences] });
    if (this.#config.hint === '') return svids[0] as JwtSvid;
    const svid = svids.find((s) => s.hint === this.#config.hint);
    if (svid === undefined) throw new Error(`no JWT-SVID for "${jwt.audience}" carries the hint "${this.#config.hint}"`);
    return svid;
  }

  #jwtFile(jwt: HelperJwtSvidConfig, svid: JwtSvid): CertDirFile {
    return { name: jwt.fileName, data: svid.token, mode: this.#config.jwtSvidFileMode };
  }

  async #jwtLoop(client: WorkloadApiClient, endpoint: Endpoint, jwt: HelperJwtSvidConfig, signal: AbortSignal): Promise<void> {
    const path = join(this.#certDir.path, jwt.fileName);
    let retry = JWT_RETRY_INITIAL_MS;
    let held: string | undefined;
    while (!signal.aborted) {
      let delay: number;
      try {
        const svid = await this.#fetchJwt(client, jwt);
        await this.#apply([this.#jwtFile(jwt, svid)], `JWT SVID updated audience=${jwt.audience} file=${jwt.fileName}`, (s) =>
          this.#health.jwt.set(path, s),
        );
        delay = jwtRefreshDelay(svid, { unchanged: svid.token === held });
        held = svid.token;
        retry = JWT_RETRY_INITIAL_MS;
        this.#log.debug(`Next JWT-SVID fetch for "${jwt.audience}" in ${delay} ms`);
      } catch (err) {
        if (signal.aborted) return;
        this.#log.error(`Unable to fetch JWT SVID for "${jwt.audience}": ${describeFailure(err, endpoint)}`);
        delay = retry;
        retry = Math.min(retry * 2, JWT_RETRY_MAX_MS);
      }
      await sleep(delay, signal);
    }
  }

  /** Merges `files` into the set, writes the set if anything changed, then notifies. Serialised. */
  #apply(files: CertDirFile[], what: string, setStatus: (status: 'written' | 'failed') => void): Promise<void> {
    const run = this.#queue.then(async () => {
      const changed = files.some((f) => {
        const prev = this.#files.get(f.name);
        return prev === undefined || prev.mode !== f.mode || !sameData(prev.data, f.data);
      });
      if (!changed) {
        setStatus('written');
        return;
      }
      const previous = new Map(this.#files);
      for (const f of files) this.#files.set(f.name, f);
      try {
        await this.#certDir.write([...this.#files.values()]);
      } catch (err) {
        this.#files.clear();
        for (const [k, v] of previous) this.#files.set(k, v);
        setStatus('failed');
        this.#log.error(`Unable to write ${files.map((f) => f.name).join(', ')} to ${this.#certDir.path}: ${(err as Error).message}`);
        return;
      }
      setStatus('written');
      this.#log.info(what);
      await this.#notify();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #notify(): Promise<void> {
    const firstTime = !this.#ready;
    if (firstTime) {
      if (!healthOf(this.#health).ready) return;
      this.#ready = true;
      this.#log.info('Every file is written');
    }
    const command = this.#command;
    const signal = this.#config.renewSignal;
    if (command !== undefined) {
      if (!command.running) command.start({ detached: this.#config.exitWhenReady });
      else if (signal !== '') {
        if (command.signal(signal)) this.#log.info(`Sent ${signal} to cmd (pid ${command.pid})`);
      }
    }
    if (this.#pidFile !== '' && signal !== '') {
      try {
        const pid = await signalPidFile(this.#pidFile, signal);
        this.#log.info(`Sent ${signal} to pid ${pid} from ${this.#pidFile}`);
      } catch (err) {
        this.#log.error(`Unable to signal PID file: ${(err as Error).message}`);
      }
    }
    if (firstTime) this.#readyResolve?.();
  }
}
