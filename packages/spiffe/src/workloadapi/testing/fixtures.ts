/**
 * Helpers shared by the Workload API tests: a logger that records, and builders of agent
 * responses from freshly minted test certificates and keys. Test-only.
 *
 * @example
 * ```ts
 * const log = recordingLogger();
 * const td = TestTrustDomain.create('example.org');
 * agent.setX509SvidResponse(td.x509Response(['/web']));
 * ```
 *
 * @module
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { TestCa } from '../../testing/ca.js';
import { WorkloadApiClient } from '../client.js';
import type { WorkloadApiLogger } from '../logger.js';
import type { X509SvidMessage, X509SvidResponseMessage } from '../messages.js';
import { concatDer, FakeAgent, jwksBytes, x509SvidMessage, type FakeJwtIssuer } from './fake-agent.js';

/**
 * One recorded log line.
 *
 * @example
 * ```ts
 * const line: LogLine = { level: 'warn', message: 'workloadapi: ...' };
 * ```
 */
export interface LogLine {
  level: keyof WorkloadApiLogger;
  message: string;
}

/**
 * A logger that keeps every line, for assertions.
 *
 * @example
 * ```ts
 * const log = recordingLogger();
 * new WorkloadApiClient({ address, logger: log.logger });
 * log.matching('warn', /discarded/).length; // 1
 * ```
 */
export function recordingLogger(): {
  logger: WorkloadApiLogger;
  lines: LogLine[];
  matching(level: keyof WorkloadApiLogger, pattern: RegExp): LogLine[];
} {
  const lines: LogLine[] = [];
  const at = (level: keyof WorkloadApiLogger) => (message: string) => {
    lines.push({ level, message });
  };
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    matching: (level, pattern) => lines.filter((l) => l.level === level && pattern.test(l.message)),
  };
}

/**
 * An `assert.throws` / `assert.rejects` check that the error's `code` is `expected` (and says
 * which error it got when not).
 *
 * @example
 * ```ts
 * await assert.rejects(X509Source.create({ client, timeoutMs: 100 }), hasCode('ERR_SOURCE_TIMEOUT'));
 * ```
 */
export function hasCode(expected: string): (err: unknown) => boolean {
  return (err: unknown): boolean => {
    assert.equal((err as { code?: string }).code, expected, String(err));
    return true;
  };
}

/** What one source test runs against: a fake agent and a client of it that records its log. */
export interface AgentAndClient {
  agent: FakeAgent;
  client: WorkloadApiClient;
  log: ReturnType<typeof recordingLogger>;
}

/**
 * Starts a fake agent and a client of it with a recording logger and short backoffs (50 to
 * 300 ms), as the source tests use before each test.
 *
 * @example
 * ```ts
 * beforeEach(async () => ({ agent, client, log } = await startAgentAndClient()));
 * afterEach(() => stopAgentAndClient({ agent, client, log }, sources));
 * ```
 */
export async function startAgentAndClient(): Promise<AgentAndClient> {
  const agent = await FakeAgent.start();
  const log = recordingLogger();
  const client = new WorkloadApiClient({ address: agent.address, logger: log.logger, initialBackoffMs: 50, maxBackoffMs: 300 });
  return { agent, client, log };
}

/** Closes the sources a test created (and empties the list), then the client and the agent. */
export async function stopAgentAndClient(rig: AgentAndClient, sources: Array<{ close(): Promise<void> }>): Promise<void> {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  rig.client.close();
  await rig.agent.close();
}

/**
 * A trust domain with a test CA and a JWT signing key, able to build agent responses.
 *
 * @example
 * ```ts
 * const td = TestTrustDomain.create('example.org');
 * agent.setX509SvidResponse(td.x509Response(['/web'], [partner]));
 * agent.setJwtBundlesResponse({ bundles: td.jwtBundles([partner]) });
 * ```
 */
export class TestTrustDomain {
  readonly ca: TestCa;
  readonly jwtKey: { privateKey: KeyObject; publicKey: KeyObject };
  readonly kid: string;

  private constructor(name: string) {
    this.ca = TestCa.create({ trustDomain: name });
    this.jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.kid = `${name}-k1`;
  }

  /** Mints a new CA and JWT key for `name`. */
  static create(name: string): TestTrustDomain {
    return new TestTrustDomain(name);
  }

  /** The trust domain ID, `spiffe://<name>`. */
  get id(): string {
    return this.ca.trustDomain.idString();
  }

  /** An `X509SVID` message for `path`, signed by this CA. */
  svid(path: string, overrides: Partial<X509SvidMessage> = {}, notAfter?: Date): X509SvidMessage {
    return x509SvidMessage(this.ca.svid(path, notAfter ? { notAfter } : {}), [this.ca.certificate], overrides);
  }

  /** An `X509SVIDResponse` with SVIDs for `paths` and the bundles of `federated` trust domains. */
  x509Response(paths: string[], federated: TestTrustDomain[] = []): X509SvidResponseMessage {
    return {
      svids: paths.map((p) => this.svid(p)),
      crl: [],
      federated_bundles: Object.fromEntries(federated.map((f) => [f.id, concatDer([f.ca.certificate])])),
    };
  }

  /** A bundle map (trust domain ID → DER) of this and the `others` trust domains. */
  x509Bundles(others: TestTrustDomain[] = []): Record<string, Uint8Array> {
    return Object.fromEntries([this, ...others].map((t) => [t.id, concatDer([t.ca.certificate])]));
  }

  /** A bundle map (trust domain ID → JWKS) of this and the `others` trust domains. */
  jwtBundles(others: TestTrustDomain[] = []): Record<string, Uint8Array> {
    return Object.fromEntries([this, ...others].map((t) => [t.id, jwksBytes(new Map([[t.kid, t.jwtKey.publicKey]]))]));
  }

  /** A JWT issuer for the fake agent, minting for `paths` of this trust domain. */
  jwtIssuer(paths: string[], ttlSeconds = 300): FakeJwtIssuer {
    return { ids: paths.map((p) => `${this.id}${p}`), key: this.jwtKey.privateKey, kid: this.kid, ttlSeconds };
  }
}

export { delay, until } from '@spiffe-node/test-kit';
