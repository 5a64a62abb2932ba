/**
 * Test-only certificate authority: mints root CAs, intermediates and leaf X509-SVIDs for a
 * trust domain, each with any defect a test needs.
 *
 * It knows nothing of the library: a trust domain is anything with a `name` and an `idString()`
 * (a string is turned into such a value), and the certificates are `node:crypto` objects, DER
 * and PEM. The library's own tests bind it to the library's types by subclassing
 * (`packages/spiffe/src/testing/ca.ts` adds `bundle()` and makes `trustDomain` a `TrustDomain`),
 * which is why this package depends on no workspace package.
 *
 * Everything is synchronous (keys from `generateKeyPairSync`, certificates built with a tiny
 * DER writer and signed with `crypto.sign`), so tables of test cases can mint inline. With
 * `entropy: seededEntropy(seed)` a root (and all it mints) is byte-identical for the same seed.
 * `await createTestCa(...)` exists too and resolves to the same thing.
 *
 * - `TestCa.create({ trustDomain: 'example.org' })`: a self-signed root (EC P-256 unless
 *   `keyAlgorithm: 'ec-p384' | 'rsa-2048'`).
 * - `ca.intermediate(options)`: a CA signed by `ca`.
 * - `ca.svid('/workload', options)`: a leaf SVID signed by `ca`, with its chain (leaf first,
 *   then the intermediates up to but excluding the root), key and PEM/DER forms.
 * - `ca.leaf(...)`: only the leaf certificate and key.
 *
 * Defects are plain options: `isCa: true` (CA leaf), `keyUsage: [...]` (add keyCertSign /
 * cRLSign, drop digitalSignature; `null` omits the extension), `uris: []` / two URIs / a
 * non-spiffe URI, `svid('')` (the trust domain ID, no path), `dnsNames`, `subject: {}` (empty
 * subject), `notBefore` / `notAfter`, `basicConstraints: false`, `pathLen`, `signingKey`
 * (sign with a key other than the issuer's: a bad signature), `weakDigest: 'sha1' | 'md5'`
 * (a SHA-1 or MD5 signature), `nameConstraints` (permitted / excluded URI, DNS, email and IP
 * subtrees, critical or not), `emails` / `ipAddresses` (more SANs), `extraExtensions`.
 *
 * @example
 * ```ts
 * const ca = TestCa.create({ trustDomain: 'example.org' });
 * const mid = ca.intermediate();
 * const svid = mid.svid('/server', { dnsNames: ['localhost'] });
 * const bundle = X509Bundle.fromAuthorities(TrustDomain.fromString('example.org'), [ca.certificate]);
 * parseAndVerifyX509Svid(svid.chainDer, bundle);
 * const bad = ca.svid('/server', { keyUsage: ['digitalSignature', 'keyCertSign'] });
 * ```
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import * as der from './der.js';
import { randomEntropy, type KeyAlgorithm, type TestEntropy } from './entropy.js';

export type { KeyAlgorithm, TestEntropy } from './entropy.js';

/**
 * A trust domain as the test CA needs it: its name and its SPIFFE ID (`spiffe://<name>`). The
 * library's `TrustDomain` is one; a string given to the CA becomes a plain one.
 */
export interface TestTrustDomain {
  readonly name: string;
  idString(): string;
}

/** A plain {@link TestTrustDomain} for `nameOrId` (`example.org` or `spiffe://example.org`). */
export function testTrustDomain(nameOrId: string): TestTrustDomain {
  const name = nameOrId.startsWith('spiffe://') ? (nameOrId.slice('spiffe://'.length).split('/')[0] ?? '') : nameOrId;
  const id = `spiffe://${name}`;
  return { name, idString: () => id, toString: () => name } as TestTrustDomain;
}

/** The KeyUsage bits, by name (RFC 5280 §4.2.1.3). */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

const EKU_OIDS: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
};

/** Subject attributes; `{}` gives an empty subject. */
export interface SubjectSpec {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
}

/** An extra raw extension. */
export interface ExtraExtension {
  oid: string;
  critical?: boolean;
  /** The DER of the extension value (what goes inside the OCTET STRING). */
  value: Uint8Array;
}

/** Name constraint subtrees (RFC 5280 §4.2.1.10), one list per name form. */
export interface SubtreesSpec {
  /** URI constraints: a host (`example.org`) or a domain with a leading period (`.example.org`). */
  uris?: string[];
  dnsNames?: string[];
  /** A mailbox (`a@example.org`) or a domain. */
  emails?: string[];
  /** CIDR ranges, `10.0.0.0/8` or `2001:db8::/32`. */
  ipRanges?: string[];
  /** Raw GeneralName bases (complete DER elements), e.g. a directoryName constraint. */
  raw?: Uint8Array[];
}

/** A name constraints extension. */
export interface NameConstraintsSpec {
  /** Default true, as RFC 5280 requires (Go and this library enforce it either way). */
  critical?: boolean;
  permitted?: SubtreesSpec;
  excluded?: SubtreesSpec;
}

/** Digests of weak signatures the test CA can make (SHA-1 with EC or RSA keys, MD5 with RSA). */
export type WeakDigest = 'sha1' | 'md5';

/** Options common to every certificate the test CA mints. */
export interface CertOptions {
  /** Key type of the new certificate's key pair (default `ec-p256`, or the issuer's for leaves). */
  keyAlgorithm?: KeyAlgorithm;
  /** Reuse this key pair instead of generating one. */
  keyPair?: { privateKey: KeyObject; publicKey: KeyObject };
  /** Subject name; `{}` for an empty subject. */
  subject?: SubjectSpec;
  notBefore?: Date;
  notAfter?: Date;
  /** Serial number (default: 16 random bytes). */
  serialNumber?: number;
  /** The basic constraints cA flag. */
  isCa?: boolean;
  /** `false` omits the basic constraints extension entirely (default true). */
  basicConstraints?: boolean;
  /** Basic constraints pathLenConstraint. */
  pathLen?: number;
  /** Key usage bits; `null` omits the extension. */
  keyUsage?: KeyUsageName[] | null;
  /** Extended key usages (names `serverAuth`, `clientAuth`, `codeSigning` or OIDs); `null` omits. */
  extKeyUsage?: string[] | null;
  /** URI SANs, replacing the default (`[]` for none). */
  uris?: string[];
  /** DNS SANs. */
  dnsNames?: string[];
  /** Sign with this key instead of the issuer's (the signature will not verify). */
  signingKey?: KeyObject;
  /** Sign with a weak digest (ecdsa-with-SHA1, sha1WithRSAEncryption, md5WithRSAEncryption). */
  weakDigest?: WeakDigest;
  /** A name constraints extension (meaningful on CAs). */
  nameConstraints?: NameConstraintsSpec;
  /** rfc822Name SANs. */
  emails?: string[];
  /** iPAddress SANs (`127.0.0.1`, `::1`). */
  ipAddresses?: string[];
  /** Include subjectKeyIdentifier / authorityKeyIdentifier (default true). */
  keyIdentifiers?: boolean;
  /** Further extensions, appended as given. */
  extraExtensions?: ExtraExtension[];
}

/** Options of a CA certificate. */
export interface CaOptions extends CertOptions {
  /** The trust domain (required for a root; intermediates inherit their parent's). */
  trustDomain?: string | TestTrustDomain;
  /**
   * Where keys, serials, signatures and default validity come from (roots only; everything a CA
   * mints inherits it). Default: fresh randomness; `seededEntropy(seed)` mints the same bytes
   * for the same seed.
   */
  entropy?: TestEntropy;
}

/** Options of a leaf certificate. */
export type LeafOptions = CertOptions;

/** Options of {@link TestCa.svid}. */
export interface SvidOptions extends LeafOptions {
  /** Append the root certificate to the chain (default false, as SPIRE does). */
  includeRoot?: boolean;
}

/** One minted certificate with its key, in every form tests need. */
export interface IssuedCertificate {
  certificate: X509Certificate;
  der: Buffer;
  pem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 DER of the private key. */
  keyDer: Buffer;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
}

/** A minted X509-SVID: the chain (leaf first) and the leaf's key. */
export interface TestSvid {
  /** The URI SAN the leaf was given (may be deliberately invalid), or '' when none. */
  id: string;
  /** Leaf first, then intermediates (excluding the root unless `includeRoot`). */
  certificates: X509Certificate[];
  /** The same chain as DER, one entry per certificate. */
  chainDer: Uint8Array[];
  /** The chain as concatenated PEM blocks. */
  certPem: string;
  leaf: X509Certificate;
  privateKey: KeyObject;
  /** PKCS#8 DER. */
  keyDer: Buffer;
  /** PKCS#8 PEM. */
  keyPem: string;
}

/** PEM-armours DER bytes. */
export function toPem(label: string, body: Uint8Array): string {
  const b64 = Buffer.from(body).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-2048';
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ec-p384' : 'ec-p256';
}

const WEAK_ALGORITHMS: Record<`${'rsa' | 'ec'}-${WeakDigest}`, Buffer | undefined> = {
  'rsa-sha1': der.sequence(der.oid('1.2.840.113549.1.1.5'), der.nullValue()),
  'rsa-md5': der.sequence(der.oid('1.2.840.113549.1.1.4'), der.nullValue()),
  'ec-sha1': der.sequence(der.oid('1.2.840.10045.4.1')),
  'ec-md5': undefined,
};

/** The signature AlgorithmIdentifier and digest for a signing key. */
function signatureAlgorithm(key: KeyObject, weak?: WeakDigest): { algId: Buffer; digest: string } {
  if (weak !== undefined) {
    const algId = WEAK_ALGORITHMS[`${key.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec'}-${weak}`];
    if (algId === undefined) throw new TypeError(`TestCa: no ${weak} signature for a ${key.asymmetricKeyType} key`);
    return { algId, digest: weak };
  }
  if (key.asymmetricKeyType === 'rsa') {
    return { algId: der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue()), digest: 'sha256' };
  }
  if (key.asymmetricKeyDetails?.namedCurve === 'secp384r1') {
    return { algId: der.sequence(der.oid('1.2.840.10045.4.3.3')), digest: 'sha384' };
  }
  return { algId: der.sequence(der.oid('1.2.840.10045.4.3.2')), digest: 'sha256' };
}

function encodeName(subject: SubjectSpec): Buffer {
  const rdns: Buffer[] = [];
  const add = (attrOid: string, value: string | undefined, printable = false): void => {
    if (value === undefined) return;
    const v = printable ? der.printableString(value) : der.utf8String(value);
    rdns.push(der.set(der.sequence(der.oid(attrOid), v)));
  };
  add('2.5.4.6', subject.country, true);
  add('2.5.4.10', subject.organization);
  add('2.5.4.11', subject.organizationalUnit);
  add('2.5.4.3', subject.commonName);
  return der.sequence(...rdns);
}

function extension(extOid: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? der.sequence(der.oid(extOid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(extOid), der.octetString(value));
}

/** An IP address (4 or 16 bytes) from its text form. */
function ipBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new TypeError(`TestCa: "${text}" is not an IP address`);
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = text.includes('::') ? groups(tail) : [];
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return Buffer.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** An iPAddress constraint: address then mask, from CIDR notation. */
function ipRange(cidr: string): Buffer {
  const [addr = '', bits = ''] = cidr.split('/');
  const ip = ipBytes(addr);
  const prefix = Number(bits);
  const mask = Buffer.alloc(ip.length);
  for (let i = 0; i < prefix; i++) mask[i >> 3] = (mask[i >> 3] as number) | (0x80 >> (i & 7));
  return Buffer.concat([ip, mask]);
}

function subtrees(spec: SubtreesSpec): Buffer[] {
  const bases = [
    ...(spec.emails ?? []).map((e) => der.ia5String(0x81, e)),
    ...(spec.dnsNames ?? []).map((d) => der.ia5String(0x82, d)),
    ...(spec.uris ?? []).map((u) => der.ia5String(0x86, u)),
    ...(spec.ipRanges ?? []).map((r) => der.tlv(0x87, ipRange(r))),
    ...(spec.raw ?? []).map((r) => Buffer.from(r)),
  ];
  return bases.map((base) => der.sequence(base));
}

/** The DER value of a name constraints extension. */
export function nameConstraintsValue(spec: NameConstraintsSpec): Buffer {
  const parts: Buffer[] = [];
  if (spec.permitted !== undefined) parts.push(der.tlv(0xa0, ...subtrees(spec.permitted)));
  if (spec.excluded !== undefined) parts.push(der.tlv(0xa1, ...subtrees(spec.excluded)));
  return der.sequence(...parts);
}

function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

interface Issuer {
  subject: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

interface BuildInput extends CertOptions {
  defaultSubject: SubjectSpec;
  defaultIsCa: boolean;
  defaultKeyUsage: KeyUsageName[];
  defaultExtKeyUsage: string[] | null;
  defaultUris: string[];
  defaultNotBefore: Date;
  defaultNotAfter: Date;
  defaultKeyAlgorithm: KeyAlgorithm;
  /** Undefined for a self-signed certificate. */
  issuer: Issuer | undefined;
  entropy: TestEntropy;
}

function build(input: BuildInput): IssuedCertificate & { subjectDer: Buffer } {
  const { entropy } = input;
  const keyPair = input.keyPair ?? entropy.keyPair(input.keyAlgorithm ?? input.defaultKeyAlgorithm);
  const subjectDer = encodeName(input.subject ?? input.defaultSubject);
  const issuer: Issuer = input.issuer ?? { subject: subjectDer, ...keyPair };
  const signingKey = input.signingKey ?? issuer.privateKey;
  const { algId, digest } = signatureAlgorithm(signingKey, input.weakDigest);

  const extensions: Buffer[] = [];
  if (input.basicConstraints !== false) {
    const isCa = input.isCa ?? input.defaultIsCa;
    const body: Buffer[] = [];
    if (isCa) body.push(der.boolean(true));
    if (input.pathLen !== undefined) body.push(der.integer(input.pathLen));
    extensions.push(extension('2.5.29.19', true, der.sequence(...body)));
  }
  const keyUsage = input.keyUsage === undefined ? input.defaultKeyUsage : input.keyUsage;
  if (keyUsage !== null) {
    extensions.push(extension('2.5.29.15', true, der.namedBits(keyUsage.map((k) => KEY_USAGE_BITS[k]))));
  }
  const eku = input.extKeyUsage === undefined ? input.defaultExtKeyUsage : input.extKeyUsage;
  if (eku !== null) {
    extensions.push(extension('2.5.29.37', false, der.sequence(...eku.map((e) => der.oid(EKU_OIDS[e] ?? e)))));
  }
  if (input.keyIdentifiers !== false) {
    extensions.push(extension('2.5.29.14', false, der.octetString(keyIdentifier(keyPair.publicKey))));
    extensions.push(extension('2.5.29.35', false, der.sequence(der.tlv(0x80, keyIdentifier(issuer.publicKey)))));
  }
  const uris = input.uris ?? input.defaultUris;
  const dnsNames = input.dnsNames ?? [];
  const emails = input.emails ?? [];
  const ips = input.ipAddresses ?? [];
  if (uris.length > 0 || dnsNames.length > 0 || emails.length > 0 || ips.length > 0) {
    const names = [
      ...emails.map((e) => der.ia5String(0x81, e)),
      ...dnsNames.map((d) => der.ia5String(0x82, d)),
      ...uris.map((u) => der.ia5String(0x86, u)),
      ...ips.map((ip) => der.tlv(0x87, ipBytes(ip))),
    ];
    const emptySubject = subjectDer.length === 2;
    extensions.push(extension('2.5.29.17', emptySubject, der.sequence(...names)));
  }
  if (input.nameConstraints !== undefined) {
    extensions.push(extension('2.5.29.30', input.nameConstraints.critical ?? true, nameConstraintsValue(input.nameConstraints)));
  }
  for (const extra of input.extraExtensions ?? []) {
    extensions.push(extension(extra.oid, extra.critical ?? false, extra.value));
  }

  const serial = input.serialNumber !== undefined ? der.integer(input.serialNumber) : der.integerFromBytes(entropy.serial());
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    serial,
    algId,
    issuer.subject,
    der.sequence(
      der.time(input.notBefore ?? entropy.validity?.notBefore ?? input.defaultNotBefore),
      der.time(input.notAfter ?? entropy.validity?.notAfter ?? input.defaultNotAfter),
    ),
    subjectDer,
    keyPair.publicKey.export({ type: 'spki', format: 'der' }),
    ...(extensions.length > 0 ? [der.explicit(3, der.sequence(...extensions))] : []),
  );
  const signature = entropy.sign(digest, tbs, signingKey);
  const certDer = der.sequence(tbs, algId, der.bitStringBytes(signature));
  const keyDer = keyPair.privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    certificate: new X509Certificate(certDer),
    der: certDer,
    pem: toPem('CERTIFICATE', certDer),
    privateKey: keyPair.privateKey,
    publicKey: keyPair.publicKey,
    keyDer,
    keyPem: toPem('PRIVATE KEY', keyDer),
    subjectDer,
  };
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * A test certificate authority (root or intermediate) of one trust domain.
 */
export class TestCa implements IssuedCertificate {
  readonly trustDomain: TestTrustDomain;
  /** Where this CA's (and everything it mints) keys, serials and signatures come from. */
  readonly entropy: TestEntropy;
  /** The CA that signed this one; undefined for a root. */
  readonly parent: TestCa | undefined;
  readonly certificate: X509Certificate;
  readonly der: Buffer;
  readonly pem: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyDer: Buffer;
  readonly keyPem: string;
  readonly #subjectDer: Buffer;
  #intermediates = 0;

  protected constructor(
    trustDomain: TestTrustDomain,
    parent: TestCa | undefined,
    issued: IssuedCertificate & { subjectDer: Buffer },
    entropy: TestEntropy,
  ) {
    this.trustDomain = trustDomain;
    this.entropy = entropy;
    this.parent = parent;
    this.certificate = issued.certificate;
    this.der = issued.der;
    this.pem = issued.pem;
    this.privateKey = issued.privateKey;
    this.publicKey = issued.publicKey;
    this.keyDer = issued.keyDer;
    this.keyPem = issued.keyPem;
    this.#subjectDer = issued.subjectDer;
  }

  /**
   * The trust domain value a CA holds for `value`. A subclass that binds the CA to a library's
   * types overrides this (e.g. to return that library's `TrustDomain`).
   */
  protected static trustDomainFrom(value: string | TestTrustDomain): TestTrustDomain {
    return typeof value === 'string' ? testTrustDomain(value) : value;
  }

  /** Mints a self-signed root CA for `options.trustDomain` (an instance of the class it is called on). */
  static create<C extends typeof TestCa>(this: C, options: CaOptions & { trustDomain: string | TestTrustDomain }): C['prototype'] {
    const td = this.trustDomainFrom(options.trustDomain);
    const now = Date.now();
    const issued = build({
      ...options,
      defaultSubject: { country: 'US', organization: 'SPIFFE test', commonName: `${td.name} root CA` },
      defaultIsCa: true,
      defaultKeyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      defaultExtKeyUsage: null,
      defaultUris: [td.idString()],
      defaultNotBefore: new Date(now - DAY),
      defaultNotAfter: new Date(now + 365 * DAY),
      defaultKeyAlgorithm: 'ec-p256',
      issuer: undefined,
      entropy: options.entropy ?? randomEntropy,
    });
    return new this(td, undefined, issued, options.entropy ?? randomEntropy);
  }

  /** The root of this CA's hierarchy. */
  get root(): this {
    return (this.parent ? this.parent.root : this) as this;
  }

  /** This CA's certificates from itself up to, but excluding, the root ([] for a root). */
  chain(): X509Certificate[] {
    return this.parent ? [this.certificate, ...this.parent.chain()] : [];
  }

  private issuer(): Issuer {
    return { subject: this.#subjectDer, privateKey: this.privateKey, publicKey: this.publicKey };
  }

  /** Mints an intermediate CA signed by this CA. */
  intermediate(options: CaOptions = {}): this {
    const ctor = this.constructor as typeof TestCa;
    const td = options.trustDomain === undefined ? this.trustDomain : ctor.trustDomainFrom(options.trustDomain);
    const now = Date.now();
    this.#intermediates++;
    const issued = build({
      ...options,
      defaultSubject: {
        country: 'US',
        organization: 'SPIFFE test',
        commonName: `${td.name} intermediate CA ${this.#intermediates}`,
      },
      defaultIsCa: true,
      defaultKeyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      defaultExtKeyUsage: null,
      defaultUris: [td.idString()],
      defaultNotBefore: new Date(now - DAY),
      defaultNotAfter: new Date(now + 30 * DAY),
      defaultKeyAlgorithm: keyAlgorithmOf(this.privateKey),
      issuer: this.issuer(),
      entropy: this.entropy,
    });
    return new ctor(td, this, issued, this.entropy) as this;
  }

  /**
   * Turns `idOrPath` into the URI SAN: a string with a scheme is used as is, a path (or '')
   * is appended to `spiffe://<trust domain>`.
   */
  uriFor(idOrPath: string): string {
    return idOrPath.includes(':') ? idOrPath : `${this.trustDomain.idString()}${idOrPath}`;
  }

  /** Mints a leaf certificate signed by this CA (no chain). */
  leaf(idOrPath = '/workload', options: LeafOptions = {}): IssuedCertificate {
    const now = Date.now();
    const { subjectDer: _subject, ...issued } = build({
      ...options,
      defaultSubject: { country: 'US', organization: 'SPIFFE test' },
      defaultIsCa: false,
      defaultKeyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
      defaultExtKeyUsage: ['serverAuth', 'clientAuth'],
      defaultUris: [this.uriFor(idOrPath)],
      defaultNotBefore: new Date(now - 5 * 60_000),
      defaultNotAfter: new Date(now + HOUR),
      defaultKeyAlgorithm: keyAlgorithmOf(this.privateKey),
      issuer: this.issuer(),
      entropy: this.entropy,
    });
    return issued;
  }

  /** Mints a leaf X509-SVID signed by this CA, with its chain. */
  svid(idOrPath = '/workload', options: SvidOptions = {}): TestSvid {
    const leaf = this.leaf(idOrPath, options);
    const certificates = [leaf.certificate, ...this.chain()];
    if (options.includeRoot) certificates.push(this.root.certificate);
    const uris = options.uris ?? [this.uriFor(idOrPath)];
    return {
      id: uris[0] ?? '',
      certificates,
      chainDer: certificates.map((c) => new Uint8Array(c.raw)),
      certPem: certificates.map((c) => toPem('CERTIFICATE', c.raw)).join(''),
      leaf: leaf.certificate,
      privateKey: leaf.privateKey,
      keyDer: leaf.keyDer,
      keyPem: leaf.keyPem,
    };
  }
}

/**
 * Mints a root test CA. Asynchronous for callers that prefer `await`; {@link TestCa.create}
 * does the same synchronously.
 */
export async function createTestCa(options: CaOptions & { trustDomain: string | TestTrustDomain }): Promise<TestCa> {
  return TestCa.create(options);
}
