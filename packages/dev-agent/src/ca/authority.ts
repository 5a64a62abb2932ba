/**
 * The authority of one trust domain: its root CAs (the X.509 bundle), the intermediate that
 * signs X509-SVIDs, and the JWT signing keys (the JWT bundle), all rotated on schedule and
 * serialisable to the data directory.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { X509Bundle } from '@spiffe-node/spiffe/bundle';
import { type TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';
import { loadJwtKey, mintJwtKey, publicJwk, storeJwtKey, type JwtKey, type StoredJwtKey } from './jwt-key.js';
import type { KeyType } from './key-type.js';
import { lifePoint, RotatingSet } from './rotation.js';
import { loadSigningCert, mintIntermediateCa, mintRootCa, storeSigningCert, type SigningCert, type StoredSigningCert } from './x509-ca.js';

/** Lifetimes and key type of an authority. */
export interface AuthorityConfig {
  keyType: KeyType;
  /** Lifetime of a root CA, seconds. */
  caTtlSeconds: number;
  /** Lifetime of an intermediate CA, seconds (never beyond its root). */
  intermediateTtlSeconds: number;
  /** Lifetime of a JWT signing key, seconds. */
  jwtKeyTtlSeconds: number;
}

/** The stored form of an authority (one JSON file, mode 0600). */
export interface StoredAuthority {
  version: 1;
  trustDomain: string;
  sequence: number;
  roots: StoredSigningCert[];
  activeRoot: string | undefined;
  intermediate: StoredSigningCert | undefined;
  jwtKeys: StoredJwtKey[];
  activeJwtKey: string | undefined;
}

/** What a call to {@link TrustDomainAuthority.maintain} changed. */
export interface MaintenanceResult {
  /** The X.509 or JWT bundle changed (a key published or dropped). */
  bundleChanged: boolean;
  /** The intermediate that signs X509-SVIDs changed. */
  intermediateChanged: boolean;
}

/**
 * One trust domain's CA and JWT keys.
 *
 * @example
 * ```ts
 * const ca = await TrustDomainAuthority.load(TrustDomain.fromString('example.org'), undefined, config);
 * await ca.maintain(Date.now());
 * ca.bundlePem();
 * ```
 */
export class TrustDomainAuthority {
  readonly trustDomain: TrustDomain;
  readonly #config: AuthorityConfig;
  readonly #roots: RotatingSet<SigningCert>;
  readonly #jwtKeys: RotatingSet<JwtKey>;
  #intermediate: SigningCert | undefined;
  #sequence: number;

  private constructor(
    trustDomain: TrustDomain,
    config: AuthorityConfig,
    roots: RotatingSet<SigningCert>,
    intermediate: SigningCert | undefined,
    jwtKeys: RotatingSet<JwtKey>,
    sequence: number,
  ) {
    this.trustDomain = trustDomain;
    this.#config = config;
    this.#roots = roots;
    this.#intermediate = intermediate;
    this.#jwtKeys = jwtKeys;
    this.#sequence = sequence;
  }

  /**
   * Loads an authority from its stored form, or creates an empty one (`stored` undefined) that
   * the first {@link TrustDomainAuthority.maintain} fills.
   *
   * @throws {@link DevAgentError} `ERR_AGENT_STATE` if the stored form is for another trust domain
   *   or cannot be read.
   */
  static async load(trustDomain: TrustDomain, stored: StoredAuthority | undefined, config: AuthorityConfig): Promise<TrustDomainAuthority> {
    if (stored === undefined) {
      return new TrustDomainAuthority(trustDomain, config, new RotatingSet([], undefined), undefined, new RotatingSet([], undefined), 0);
    }
    if (stored.version !== 1 || stored.trustDomain !== trustDomain.name) {
      throw new DevAgentError(
        'ERR_AGENT_STATE',
        `the stored authority is for "${stored.trustDomain}" (version ${stored.version}), not for "${trustDomain.name}"`,
      );
    }
    try {
      const roots = await Promise.all(stored.roots.map(loadSigningCert));
      const intermediate = stored.intermediate ? await loadSigningCert(stored.intermediate) : undefined;
      const jwtKeys = stored.jwtKeys.map(loadJwtKey);
      return new TrustDomainAuthority(
        trustDomain,
        config,
        new RotatingSet(roots, stored.activeRoot),
        intermediate,
        new RotatingSet(jwtKeys, stored.activeJwtKey),
        stored.sequence,
      );
    } catch (err) {
      throw new DevAgentError('ERR_AGENT_STATE', `cannot load the stored authority of "${trustDomain.name}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Rotates whatever is due at `now`: roots and JWT keys (prepared at half-life, active at three
   * quarters, dropped on expiry) and the intermediate (re-minted at half-life or when the active
   * root changed).
   */
  async maintain(now: number): Promise<MaintenanceResult> {
    const td = this.trustDomain.name;
    const roots = await this.#roots.maintain(now, () =>
      mintRootCa({ trustDomain: td, keyType: this.#config.keyType, ttlSeconds: this.#config.caTtlSeconds, now: new Date(now) }),
    );
    const jwt = await this.#jwtKeys.maintain(now, async () => mintJwtKey(this.#config.jwtKeyTtlSeconds, now));
    const root = this.#roots.active as SigningCert;
    let intermediateChanged = false;
    const current = this.#intermediate;
    if (
      current === undefined ||
      now >= lifePoint(current, 0.5) ||
      !current.cert.checkIssued(root.cert) ||
      !current.cert.verify(root.cert.publicKey)
    ) {
      this.#intermediate = await mintIntermediateCa({
        trustDomain: td,
        keyType: this.#config.keyType,
        ttlSeconds: this.#config.intermediateTtlSeconds,
        issuer: root,
        now: new Date(now),
      });
      intermediateChanged = true;
    }
    const bundleChanged = roots.published || jwt.published;
    if (bundleChanged) this.#sequence += 1;
    return { bundleChanged, intermediateChanged };
  }

  /** When {@link TrustDomainAuthority.maintain} next has work to do, in ms since the epoch. */
  nextDue(): number {
    const intermediateDue = this.#intermediate ? lifePoint(this.#intermediate, 0.5) : 0;
    return Math.min(this.#roots.nextDue(), this.#jwtKeys.nextDue(), intermediateDue);
  }

  /** Mints a JWT signing key and makes it the signer at once; the old key stays published. */
  async rotateJwtKeys(now = Date.now()): Promise<void> {
    await this.#jwtKeys.rotateNow(async () => mintJwtKey(this.#config.jwtKeyTtlSeconds, now));
    this.#sequence += 1;
  }

  /** The intermediate CA that signs X509-SVIDs now. */
  get intermediate(): SigningCert {
    if (this.#intermediate === undefined) throw new Error('authority used before maintain()');
    return this.#intermediate;
  }

  /** The JWT key that signs JWT-SVIDs now. */
  get jwtSigningKey(): JwtKey {
    const key = this.#jwtKeys.active;
    if (key === undefined) throw new Error('authority used before maintain()');
    return key;
  }

  /** The bundle's sequence number; it grows with every change of the published keys. */
  get sequence(): number {
    return this.#sequence;
  }

  /** The X.509 authorities (root CAs), oldest first. */
  x509Authorities(): X509Certificate[] {
    return this.#roots.keys.map((r) => r.cert);
  }

  /** The X.509 bundle as DER certificates concatenated (the Workload API form). */
  bundleDer(): Buffer {
    return Buffer.concat(this.#roots.keys.map((r) => r.der));
  }

  /** The X.509 bundle. */
  x509Bundle(): X509Bundle {
    return X509Bundle.fromAuthorities(this.trustDomain, this.x509Authorities());
  }

  /** The X.509 bundle as PEM. */
  bundlePem(): string {
    return this.#roots.keys.map((r) => r.cert.toString()).join('');
  }

  /** The published JWT keys, oldest first. */
  jwtKeys(): readonly JwtKey[] {
    return this.#jwtKeys.keys;
  }

  /** The JWT bundle as a JWK Set (JSON): keys with `kid` and `use: "jwt-svid"`. */
  jwks(): string {
    return JSON.stringify({ keys: this.#jwtKeys.keys.map(publicJwk) });
  }

  /**
   * The SPIFFE bundle (JSON): X.509 authorities (`use: "x509-svid"`, one certificate in `x5c`),
   * JWT authorities, `spiffe_sequence` and `spiffe_refresh_hint`.
   */
  spiffeBundle(refreshHintSeconds: number): string {
    const x509Keys = this.#roots.keys.map((r) => {
      const jwk = r.cert.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      const key: Record<string, unknown> = { use: 'x509-svid' };
      for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (jwk[name] !== undefined) key[name] = jwk[name];
      key.x5c = [r.der.toString('base64')];
      return key;
    });
    return JSON.stringify(
      {
        keys: [...x509Keys, ...this.#jwtKeys.keys.map(publicJwk)],
        spiffe_sequence: this.#sequence,
        spiffe_refresh_hint: refreshHintSeconds,
      },
      null,
      4,
    );
  }

  /** The stored form, for the data directory. Holds private keys: write it 0600. */
  toStored(): StoredAuthority {
    return {
      version: 1,
      trustDomain: this.trustDomain.name,
      sequence: this.#sequence,
      roots: this.#roots.keys.map(storeSigningCert),
      activeRoot: this.#roots.active?.id,
      intermediate: this.#intermediate ? storeSigningCert(this.#intermediate) : undefined,
      jwtKeys: this.#jwtKeys.keys.map(storeJwtKey),
      activeJwtKey: this.#jwtKeys.active?.id,
    };
  }
}
