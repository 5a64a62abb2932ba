/**
 * The suite's certificates, built per run into a temporary folder by `py/fixtures.py`, and the
 * bundle sets and SVIDs the defending side uses. See that script for what each file is.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustDomain, X509Bundle, X509BundleSet, X509Svid } from '@spiffe-node/spiffe';
import { pythonPath, pyScript } from './python.js';

/** The forged chains: each claims the ID the defending side accepts; only the chain is wrong. */
export type ForgedChain = 'swap' | 'untrusted' | 'expired' | 'federated' | 'nameconstraints' | 'sha1';

export interface PemPair {
  chain: string;
  key: string;
  chainPath: string;
  keyPath: string;
}

export class Fixtures {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static create(): Fixtures {
    const dir = mkdtempSync(join(tmpdir(), 'spiffe-adversary-'));
    execFileSync(pythonPath(), [pyScript('fixtures.py'), dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Fixtures(dir);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** A chain (leaf first) and its key: `server`, `client`, `swap-admin`, `<forged>-client`, `<forged>-server`. */
  pair(name: string): PemPair {
    const chainPath = this.path(`${name}.pem`);
    const keyPath = this.path(`${name}.key`);
    return { chain: readFileSync(chainPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), chainPath, keyPath };
  }

  svid(name: 'server' | 'client'): X509Svid {
    const { chain, key } = this.pair(name);
    return X509Svid.parse(chain, key);
  }

  root(name: 'example' | 'partner' | 'rogue'): string {
    return readFileSync(this.path(`${name}-root.pem`), 'utf8');
  }

  /** What the defending side trusts: example.org, and partner.org as a federated trust domain. */
  trustedBundles(): X509BundleSet {
    return new X509BundleSet(
      X509Bundle.parse(TrustDomain.fromString('example.org'), this.root('example')),
      X509Bundle.parse(TrustDomain.fromString('partner.org'), this.root('partner')),
    );
  }

  /** The same after example.org's CA was replaced: nothing the legitimate peers hold verifies. */
  rotatedBundles(): X509BundleSet {
    return new X509BundleSet(
      X509Bundle.parse(TrustDomain.fromString('example.org'), this.root('rogue')),
      X509Bundle.parse(TrustDomain.fromString('partner.org'), this.root('partner')),
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
