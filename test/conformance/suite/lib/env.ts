/**
 * One conformance test environment, as the public suite builds one per case: a test CA for
 * `spiffe://test.example.org`, a mock Workload API (the test kit's `FakeAgent`, a real gRPC
 * server on a fresh socket) serving a default SVID `/default` and a JWT bundle, a probe SVID
 * `/probe` for the suite's own connections, the harness process, and the helpers the cases
 * share: serving state, barrier updates, probes, control-port calls.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { TestCa, delay as sleep, type TestSvid } from '@spiffe-node/test-kit';
import {
  FakeAgent as KitFakeAgent,
  concatDer,
  workloadApiService,
  x509SvidMessage,
  type JwtSvidResponseMessage,
  type X509SvidResponseMessage,
} from '@spiffe-node/test-kit/fake-agent';
import { ControlClient, type ControlResponse } from './control-client.js';
import { ExecError } from './errors.js';
import { HarnessNotReady, HarnessProcess, type Readiness } from './harness-process.js';
import { AUDIENCE, jwks, newJwtKey, signToken, validClaims, type JwtKey } from './jwt.js';
import { clientCertVerdict, probeX509, startPeerServer, type ClientCertVerdict, type ProbeResult } from './probe.js';

/** The test kit's fake agent, serving the Workload API as the library's `workload.proto` defines it. */
const FakeAgent = KitFakeAgent.serving(
  workloadApiService(createRequire(import.meta.url).resolve('@spiffe-node/spiffe/proto/workload.proto')),
);
type FakeAgent = KitFakeAgent;

/** The suite's trust domain. */
export const TRUST_DOMAIN = 'test.example.org';
/** Its trust domain ID. */
export const TD_ID = `spiffe://${TRUST_DOMAIN}`;
/** The default SVID's SPIFFE ID. */
export const DEFAULT_ID = `${TD_ID}/default`;

/** Timing of the catalogue's methodology (they bound waits; they are not speed assertions). */
export const TIMING = Object.freeze({
  /** Contract §2.3: the default readiness timeout. */
  readinessMs: 10_000,
  /** How long an update may take to show. */
  updateMs: 5000,
  /** How long a bad update is watched before the barrier is pushed. */
  observeMs: 1000,
  /** How long a barrier after a bad update may take (room for a reconnect with backoff). */
  barrierMs: 15_000,
  pollMs: 100,
});

/**
 * Options of {@link ConformanceEnv.create}.
 *
 * @example
 * ```ts
 * const env = await ConformanceEnv.create({ tcp: true });
 * ```
 */
export interface EnvOptions {
  /** Expose the mock only on `tcp://127.0.0.1:<port>`. */
  tcp?: boolean;
  /** Do not start the mock yet; {@link ConformanceEnv.startAgent} does (EP-8). */
  deferAgent?: boolean;
}

/**
 * An X.509 state to serve: SVIDs (the first is the default), the own trust domain's bundle
 * (default: the suite CA's root) and federated bundles by trust domain ID.
 */
export interface X509State {
  svids: readonly TestSvid[];
  bundle?: readonly X509Certificate[];
  federated?: Readonly<Record<string, readonly X509Certificate[]>>;
}

/** What the harness answered to `/v1/jwt/validate`. */
export interface JwtVerdict {
  accepted: boolean;
  spiffeId: string;
  message: string;
  claims: Record<string, unknown> | undefined;
}

/** What the harness answered to `/v1/x509/dial`, and the client ID the suite's server saw. */
export interface DialVerdict {
  accepted: boolean;
  serverId: string;
  clientId: string;
  message: string;
}

let barrierSeq = 0;

/**
 * A pre-minted JWT-SVID served by `FetchJWTSVID`.
 *
 * @example
 * ```ts
 * env.serveJwtSvids([{ id: DEFAULT_ID, token }]);
 * ```
 */
export interface JwtSvidMaterial {
  id: string;
  token: string;
}

/**
 * The environment of one case. Create with {@link ConformanceEnv.create}, always
 * {@link ConformanceEnv.close}.
 */
export class ConformanceEnv {
  readonly ca: TestCa;
  /** The ES256 key of the default JWT bundle. */
  readonly jwtKey: JwtKey;
  /** The default SVID the mock serves at start. */
  readonly defaultSvid: TestSvid;
  /** The SVID the suite presents when probing the X.509 port. */
  readonly probeSvid: TestSvid;
  readonly socketPath: string;
  #agent: FakeAgent | undefined;
  #proxy: net.Server | undefined;
  #endpoint: string;
  readonly #dir: string;
  readonly #roots: X509Certificate[];
  #harness: HarnessProcess | undefined;
  #readiness: Readiness | undefined;
  #control: ControlClient | undefined;
  #jwtSvids: JwtSvidMaterial[] | undefined;

  private constructor(dir: string) {
    this.#dir = dir;
    this.socketPath = join(dir, 'workload.sock');
    this.#endpoint = `unix://${this.socketPath}`;
    this.ca = TestCa.create({ trustDomain: TRUST_DOMAIN });
    this.#roots = [this.ca.certificate];
    this.jwtKey = newJwtKey('ES256');
    this.defaultSvid = this.ca.svid('/default');
    this.probeSvid = this.ca.svid('/probe');
  }

  /**
   * Mints the CA and SVIDs, starts the mock (unless deferred) with the default state.
   *
   * @example
   * ```ts
   * const env = await ConformanceEnv.create();
   * await env.startHarness();
   * ```
   */
  static async create(options: EnvOptions = {}): Promise<ConformanceEnv> {
    const env = new ConformanceEnv(await mkdtemp(join(tmpdir(), 'spiffe-conformance-')));
    try {
      if (!options.deferAgent) await env.startAgent();
      if (options.tcp) await env.#startTcpEndpoint();
    } catch (err) {
      await env.close();
      throw new ExecError(`mock Workload API: ${err instanceof Error ? err.message : String(err)}`);
    }
    return env;
  }

  /** The mock Workload API (throws before {@link ConformanceEnv.startAgent}). */
  get agent(): FakeAgent {
    if (this.#agent === undefined) throw new ExecError('the mock Workload API is not running yet');
    return this.#agent;
  }

  /** The value of `SPIFFE_ENDPOINT_SOCKET` the harness gets. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** The running harness (throws before {@link ConformanceEnv.startHarness}). */
  get harness(): HarnessProcess {
    if (this.#harness === undefined) throw new ExecError('the harness has not been started');
    return this.#harness;
  }

  /** The last lines the harness wrote to stderr ('' when none was started). */
  harnessStderrTail(lines = 12): string {
    return this.#harness?.stderrTail(lines) ?? '';
  }

  /** The control-port client. */
  get control(): ControlClient {
    if (this.#control === undefined) throw new ExecError('the harness is not ready');
    return this.#control;
  }

  /** The X.509 port. */
  get x509Port(): number {
    if (this.#readiness === undefined) throw new ExecError('the harness is not ready');
    return this.#readiness.x509Port;
  }

  /** Starts the mock on the socket path and serves the default state. */
  async startAgent(): Promise<void> {
    const agent = await FakeAgent.start({ socketPath: this.socketPath });
    this.#agent = agent;
    this.serveX509({ svids: [this.defaultSvid] });
    this.setJwtBundles({ [TD_ID]: jwks([this.jwtKey]) });
    agent.setJwtSvidHandler((request) => this.#answerJwtSvid(request.audience, request.spiffe_id));
  }

  async #startTcpEndpoint(): Promise<void> {
    // The mock speaks gRPC on a Unix socket; a byte pipe from a TCP port lets the harness reach
    // it over TCP only (its endpoint variable names nothing else).
    const proxy = net.createServer((downstream) => {
      const upstream = net.connect(this.socketPath);
      const close = (): void => {
        downstream.destroy();
        upstream.destroy();
      };
      downstream.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      downstream.pipe(upstream).pipe(downstream);
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(0, '127.0.0.1', () => resolve());
    });
    this.#proxy = proxy;
    this.#endpoint = `tcp://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  }

  /**
   * Starts the harness with `SPIFFE_ENDPOINT_SOCKET` = `endpoint` (default: this environment's)
   * and waits for `READY`. Stops a harness started before.
   *
   * @throws {@link HarnessNotReady} when it does not become ready.
   */
  async startHarness(options: { endpoint?: string; readyTimeoutMs?: number } = {}): Promise<Readiness> {
    if (this.#harness !== undefined) await this.#harness.stop();
    this.#readiness = undefined;
    this.#control = undefined;
    const harness = HarnessProcess.start(options.endpoint ?? this.#endpoint, options.readyTimeoutMs ?? TIMING.readinessMs);
    this.#harness = harness;
    const readiness = await harness.ready;
    this.#readiness = readiness;
    this.#control = new ControlClient(readiness.controlPort);
    return readiness;
  }

  /** Like {@link ConformanceEnv.startHarness}, but a harness that does not start is an `ERROR`. */
  async startHarnessOrError(options: { endpoint?: string; readyTimeoutMs?: number } = {}): Promise<Readiness> {
    try {
      return await this.startHarness(options);
    } catch (err) {
      if (err instanceof HarnessNotReady) throw new ExecError(`the harness did not become ready: ${err.message}`);
      throw err;
    }
  }

  // ------------------------------------------------------------------------------ X.509 state

  /** Lets the suite's probe verify chains from `ca` too (the SDK is not told). */
  trustRoot(ca: TestCa): void {
    this.#roots.push(ca.root.certificate);
  }

  /**
   * Serves `state` on `FetchX509SVID` (pushed to open streams) and its bundles on
   * `FetchX509Bundles`.
   */
  serveX509(state: X509State): void {
    const bundle = state.bundle ?? [this.ca.certificate];
    const federated = Object.fromEntries(Object.entries(state.federated ?? {}).map(([td, certs]) => [td, concatDer(certs)]));
    this.agent.setX509SvidResponse({
      svids: state.svids.map((svid) => x509SvidMessage(svid, bundle)),
      federated_bundles: federated,
    });
    this.agent.setX509BundlesResponse({ bundles: { [TD_ID]: concatDer(bundle), ...federated } });
  }

  /** Serves a raw `FetchX509SVID` response (FetchX509Bundles keeps the suite CA's bundle). */
  serveRawX509(response: X509SvidResponseMessage): void {
    this.agent.setX509SvidResponse(response);
    this.agent.setX509BundlesResponse({ bundles: { [TD_ID]: concatDer([this.ca.certificate]) } });
  }

  /** Probes the X.509 port with the probe SVID. */
  probeX509(): Promise<ProbeResult> {
    return probeX509(this.x509Port, this.probeSvid, this.#roots);
  }

  /**
   * Probes until the harness presents `id`.
   *
   * @throws a plain error (a FAIL) if it does not within `timeoutMs`.
   */
  async waitForSvid(id: string, timeoutMs: number = TIMING.updateMs): Promise<ProbeResult> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const res = await this.probeX509();
        if (res.ids.includes(id)) return res;
        last = `it presented ${JSON.stringify(res.ids)}`;
      } catch (err) {
        last = `last probe error: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (Date.now() > deadline) throw new Error(`the harness did not present ${id} within ${timeoutMs} ms; ${last}`);
      await sleep(TIMING.pollMs);
    }
  }

  /**
   * Serves a fresh barrier SVID (issued by `issuer`, default the suite CA) as the default
   * identity, with the given bundles, and waits until the harness presents it: the stream is
   * ordered, so the bundles of the same response are in force from then on.
   */
  async pushX509AndWait(
    update: { issuer?: TestCa; bundle?: readonly X509Certificate[]; federated?: X509State['federated'] } = {},
  ): Promise<TestSvid> {
    const issuer = update.issuer ?? this.ca;
    if (issuer !== this.ca) this.trustRoot(issuer);
    const marker = issuer.svid(`/barrier-${++barrierSeq}`);
    this.serveX509({
      svids: [marker],
      ...(update.bundle ? { bundle: update.bundle } : {}),
      ...(update.federated ? { federated: update.federated } : {}),
    });
    try {
      await this.waitForSvid(marker.id, TIMING.updateMs);
    } catch (err) {
      throw new Error(`the harness did not apply the X.509 update: ${(err as Error).message}`);
    }
    return marker;
  }

  /** Probes every 100 ms for `ms`, passing each outcome to `check` (which throws to fail). */
  async observeX509(ms: number, check: (res: ProbeResult | undefined, err: Error | undefined) => void): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      let res: ProbeResult | undefined;
      let error: Error | undefined;
      try {
        res = await this.probeX509();
      } catch (err) {
        error = err as Error;
      }
      check(res, error);
      if (Date.now() > deadline) return;
      await sleep(TIMING.pollMs);
    }
  }

  // ------------------------------------------------------------------------- peer validation

  /** Server role: presents `peer` as the client certificate on the X.509 port. */
  clientCertVerdict(peer: TestSvid): Promise<ClientCertVerdict> {
    return clientCertVerdict(this.x509Port, peer);
  }

  /** Client role: runs a TLS server presenting `peer` and asks the harness to dial it. */
  async dialFromSdk(peer: TestSvid): Promise<DialVerdict> {
    const server = await startPeerServer(peer);
    try {
      const res = await this.control.dial(server.address);
      if (res.status === 'error') throw new ExecError(`/v1/x509/dial answered error: ${res.message ?? ''}`);
      if (res.status === 'ok') await server.firstHandshake(TIMING.barrierMs);
      return {
        accepted: res.status === 'ok',
        serverId: typeof res.spiffe_id === 'string' ? res.spiffe_id : '',
        clientId: server.clientIds[0] ?? '',
        message: res.message ?? '',
      };
    } finally {
      await server.close();
    }
  }

  // ------------------------------------------------------------------------------ JWT state

  /** Serves JWT bundles (trust domain ID → JWK Set JSON) on `FetchJWTBundles`. */
  setJwtBundles(bundles: Record<string, Buffer>): void {
    this.agent.setJwtBundlesResponse({ bundles });
  }

  /**
   * Makes `FetchJWTSVID` answer with these pre-minted tokens (only the one for `spiffe_id`
   * when the request names one). Until called, tokens for the default identity are minted per
   * request.
   */
  serveJwtSvids(svids: JwtSvidMaterial[]): void {
    this.#jwtSvids = svids;
  }

  #answerJwtSvid(audience: string[], spiffeId: string): JwtSvidResponseMessage {
    const served = this.#jwtSvids ?? [{ id: DEFAULT_ID, token: signToken(this.jwtKey, {}, validClaims(DEFAULT_ID, audience)) }];
    const chosen = spiffeId === '' ? served : served.filter((s) => s.id === spiffeId);
    return { svids: chosen.map((s) => ({ spiffe_id: s.id, svid: s.token, hint: '' })) };
  }

  /** Asks the harness to validate `token` for `audience`; `error` answers are an `ERROR`. */
  async validateJwt(token: string, audience: string = AUDIENCE): Promise<JwtVerdict> {
    const res = await this.control.validate(token, audience);
    if (res.status === 'error') throw new ExecError(`/v1/jwt/validate answered error: ${res.message ?? ''}`);
    return {
      accepted: res.status === 'ok',
      spiffeId: typeof res.spiffe_id === 'string' ? res.spiffe_id : '',
      message: res.message ?? '',
      claims: res.claims,
    };
  }

  /** Asks the harness to fetch JWT-SVIDs. */
  fetchJwt(audience: string[], spiffeId = ''): Promise<ControlResponse> {
    return this.control.fetchJwt(audience, spiffeId);
  }

  // ------------------------------------------------------------------------------- teardown

  /** Stops the harness (SIGTERM, then SIGKILL after 5 s), the mock and the TCP pipe. */
  async close(): Promise<{ exitMs: number; killed: boolean } | undefined> {
    const stopped = await this.#harness?.stop();
    this.#proxy?.close();
    await this.#agent?.close();
    await rm(this.#dir, { recursive: true, force: true });
    return stopped;
  }
}

/** Resolves after `ms` (the test kit's `delay`). */
export { sleep };
