/**
 * X.509 name constraints (RFC 5280 §4.2.1.10), read and enforced as Go's crypto/x509 does
 * (which go-spiffe's verifier uses): the constraints of every CA of a chain (intermediates and
 * the bundle authority) apply, whatever the extension's criticality, to every name in the
 * subjectAltName of each certificate below it. URI constraints apply to the URI's host (for a
 * SPIFFE ID, its trust domain); DNS, email and IP constraints to the names of those kinds.
 * A constraint with a leading period matches subdomains only.
 *
 * Fail closed where Go cannot check: a critical extension holding a constraint of a form this
 * module does not check (directoryName, otherName, registeredID, ...) makes the CA unusable (Go
 * treats it as an unhandled critical extension); a non-critical one refuses any chain whose
 * certificates below carry a name of that form (for directoryName: a non-empty subject).
 *
 * Not part of the public API: no entry point exports this module.
 */
import { isIP } from 'node:net';
import { DerError, children, type Tlv } from '../../bundle/der.js';
import { GeneralNameType, generalNameTypeName, ia5, single, type SubjectAltNames } from './general-names.js';

/** The subtrees of one kind (permitted or excluded). */
export interface Subtrees {
  dns: string[];
  emails: string[];
  /** URI constraints: a host name, or a domain with a leading period. */
  uris: string[];
  ips: Array<{ ip: Uint8Array; mask: Uint8Array }>;
  /** GeneralName alternatives present as bases that this module cannot check. */
  unchecked: Set<number>;
}

/** A parsed name constraints extension. */
export interface NameConstraints {
  critical: boolean;
  permitted: Subtrees;
  excluded: Subtrees;
}

/** The names of one certificate that constraints apply to. */
export interface ConstrainedNames {
  /** The subjectAltName names, or undefined when the certificate has no SAN extension. */
  sans: SubjectAltNames | undefined;
  /** Whether the subject DN is empty. */
  subjectEmpty: boolean;
}

function emptySubtrees(): Subtrees {
  return { dns: [], emails: [], uris: [], ips: [], unchecked: new Set() };
}

/**
 * Go's check of a DNS-like name (RFC 1034 letters are not enforced, as in Go): printable ASCII,
 * no empty label, no trailing period; a constraint may start with a period and may be empty.
 */
function domainNameValid(s: string, constraint: boolean): boolean {
  if (s.length === 0) return constraint;
  if (s.endsWith('.')) return false;
  const body = constraint && s.startsWith('.') ? s.slice(1) : s;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return body.split('.').every((label) => label.length > 0);
}

/** A mailbox `local@domain`, or undefined when it is not one. */
function parseMailbox(s: string): { local: string; domain: string } | undefined {
  const at = s.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (local.includes('@') || !domainNameValid(domain, false)) return undefined;
  return { local, domain: domain.toLowerCase() };
}

function contiguousMask(mask: Uint8Array): boolean {
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) return false;
      if (!set) ended = true;
    }
  }
  return true;
}

function readSubtrees(bytes: Uint8Array, el: Tlv, what: string): Subtrees {
  const out = emptySubtrees();
  const subtrees = children(bytes, el);
  if (subtrees.length === 0) throw new DerError(`${what} is empty; GeneralSubtrees must hold at least one subtree`);
  for (const [i, subtree] of subtrees.entries()) {
    const where = `${what} subtree ${i + 1}`;
    if (subtree.tag !== 0x30) throw new DerError(`${where} is not a SEQUENCE`);
    const parts = children(bytes, subtree);
    const base = parts[0];
    if (base === undefined) throw new DerError(`${where} has no base name`);
    if (parts.length > 1) {
      // RFC 5280: minimum MUST be zero (so absent in DER) and maximum MUST be absent.
      throw new DerError(`${where} has a minimum or maximum distance, which RFC 5280 forbids`);
    }
    const type = base.tag & 0x1f;
    if ((base.tag & 0xc0) !== 0x80 || type > 8)
      throw new DerError(`${where} base has tag 0x${base.tag.toString(16)}, which is no GeneralName`);
    const constructed = (base.tag & 0x20) !== 0;
    const primitive = type === 1 || type === 2 || type === 6 || type === 7 || type === 8;
    if (constructed === primitive) throw new DerError(`${where} base (${generalNameTypeName(type)}) has the wrong form`);
    const value = (): string => ia5(bytes, base, `${where} ${generalNameTypeName(type)}`);
    switch (type) {
      case GeneralNameType.dNSName: {
        const v = value();
        if (!domainNameValid(v, true)) throw new DerError(`${where}: dNSName constraint "${v}" is not a valid domain`);
        out.dns.push(v);
        break;
      }
      case GeneralNameType.rfc822Name: {
        const v = value();
        if (v.includes('@') ? parseMailbox(v) === undefined : !domainNameValid(v, true)) {
          throw new DerError(`${where}: rfc822Name constraint "${v}" is neither a mailbox nor a domain`);
        }
        out.emails.push(v);
        break;
      }
      case GeneralNameType.uniformResourceIdentifier: {
        const v = value();
        if (isIP(v) !== 0 || !domainNameValid(v, true)) throw new DerError(`${where}: URI constraint "${v}" is not a host name or domain`);
        out.uris.push(v);
        break;
      }
      case GeneralNameType.iPAddress: {
        const len = base.end - base.contentStart;
        if (len !== 8 && len !== 32)
          throw new DerError(`${where}: iPAddress constraint has ${len} bytes; expected 8 or 32 (address and mask)`);
        const ip = bytes.slice(base.contentStart, base.contentStart + len / 2);
        const mask = bytes.slice(base.contentStart + len / 2, base.end);
        if (!contiguousMask(mask)) throw new DerError(`${where}: iPAddress constraint has a non-contiguous mask`);
        out.ips.push({ ip, mask });
        break;
      }
      default:
        out.unchecked.add(type);
    }
  }
  return out;
}

/** Reads the value of a name constraints extension (the OCTET STRING's content). */
export function readNameConstraints(bytes: Uint8Array, value: Tlv, critical: boolean): NameConstraints {
  const seq = single(bytes, value.contentStart, value.end, 'name constraints');
  if (seq.tag !== 0x30) throw new DerError('name constraints is not a SEQUENCE');
  const parts = children(bytes, seq);
  let permitted: Subtrees | undefined;
  let excluded: Subtrees | undefined;
  for (const part of parts) {
    if (part.tag === 0xa0 && permitted === undefined && excluded === undefined)
      permitted = readSubtrees(bytes, part, 'name constraints permittedSubtrees');
    else if (part.tag === 0xa1 && excluded === undefined) excluded = readSubtrees(bytes, part, 'name constraints excludedSubtrees');
    else throw new DerError(`name constraints holds an unexpected element (tag 0x${part.tag.toString(16)})`);
  }
  if (permitted === undefined && excluded === undefined) {
    throw new DerError('name constraints has neither permittedSubtrees nor excludedSubtrees (RFC 5280 requires one)');
  }
  return { critical, permitted: permitted ?? emptySubtrees(), excluded: excluded ?? emptySubtrees() };
}

/** The constraint forms this module cannot check, present in either subtree list. */
export function uncheckedForms(nc: NameConstraints): number[] {
  return [...new Set([...nc.permitted.unchecked, ...nc.excluded.unchecked])].sort((a, b) => a - b);
}

/**
 * Whether `name` is `constraint` or under it, case-insensitively, by whole labels; a
 * constraint with a leading period matches strict subdomains only; '' matches everything.
 */
function dnsMatches(name: string, constraint: string): boolean {
  if (constraint === '') return true;
  const n = name.toLowerCase();
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return n.length > c.length && n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}

/** A wildcard DNS name `*.x.y` is excluded by `a.x.y` (it would match it). */
function wildcardExcluded(name: string, constraint: string): boolean {
  if (!name.startsWith('*')) return false;
  const dot = (s: string): string => {
    const i = s.indexOf('.');
    return i < 0 ? '' : s.slice(i).toLowerCase();
  };
  const parent = dot(constraint);
  return parent !== '' && parent === dot(name);
}

function emailMatches(mailbox: { local: string; domain: string }, constraint: string): boolean {
  if (constraint.includes('@')) {
    const c = parseMailbox(constraint);
    return c !== undefined && c.local === mailbox.local && c.domain === mailbox.domain;
  }
  return dnsMatches(mailbox.domain, constraint);
}

function ipMatches(ip: Uint8Array, constraint: { ip: Uint8Array; mask: Uint8Array }): boolean {
  if (ip.length !== constraint.ip.length) return false;
  return ip.every((b, i) => (b & (constraint.mask[i] as number)) === ((constraint.ip[i] as number) & (constraint.mask[i] as number)));
}

function ipText(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((ip[i] as number) << 8) | (ip[i + 1] as number)).toString(16));
  return groups.join(':');
}

/** The host of a URI that URI constraints are matched against, or why there is none. */
function uriHost(uri: string): { host: string } | { problem: string } {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  let host = m?.[1] ?? '';
  host = host.slice(host.lastIndexOf('@') + 1);
  if (host.startsWith('[')) return { problem: `URI with IP ("${uri}") cannot be matched against constraints` };
  const colon = host.indexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  host = host.toLowerCase();
  if (host === '') return { problem: `URI with empty host ("${uri}") cannot be matched against constraints` };
  if (isIP(host) !== 0) return { problem: `URI with IP ("${uri}") cannot be matched against constraints` };
  if (!domainNameValid(host, false)) return { problem: `URI host of "${uri}" is not a valid domain` };
  return { host };
}

/**
 * Checks one kind of name against the permitted and excluded lists of that kind. `matches`
 * tells whether the name falls under a constraint.
 */
function checkKind<C>(
  kind: string,
  shown: string,
  permitted: readonly C[],
  excluded: readonly C[],
  matches: (c: C) => boolean,
  text: (c: C) => string,
  excludes: (c: C) => boolean = matches,
): string | undefined {
  if (permitted.length > 0 && !permitted.some(matches)) return `${kind} "${shown}" is not permitted by any constraint`;
  const hit = excluded.find(excludes);
  return hit === undefined ? undefined : `${kind} "${shown}" is excluded by constraint "${text(hit)}"`;
}

/**
 * Why the names of a certificate break `nc`, or undefined when they all comply.
 */
export function nameConstraintsProblem(nc: NameConstraints, names: ConstrainedNames): string | undefined {
  const { sans } = names;
  const unchecked = uncheckedForms(nc);
  if (nc.critical && unchecked.length > 0) {
    // Go treats this as an unhandled critical extension: the CA cannot be used (for a presented
    // certificate the critical-extension rule says so first; this covers bundle authorities).
    return `holds a critical name constraint of a form this library cannot check (${unchecked.map(generalNameTypeName).join(', ')})`;
  }
  for (const form of unchecked) {
    const present = form === GeneralNameType.directoryName ? !names.subjectEmpty || sans?.otherTypes.has(form) : sans?.otherTypes.has(form);
    if (present) {
      return `holds a ${generalNameTypeName(form)} name constraint, which this library cannot check, and the certificate has a name of that form`;
    }
  }
  if (sans === undefined) return undefined;
  const { permitted: p, excluded: x } = nc;
  const id = <T>(v: T): T => v;
  for (const ip of sans.ips) {
    const problem = checkKind(
      'IP address',
      ipText(ip),
      p.ips,
      x.ips,
      (c) => ipMatches(ip, c),
      (c) => `${ipText(c.ip)}/${ipText(c.mask)}`,
    );
    if (problem !== undefined) return problem;
  }
  for (const dns of sans.dnsNames) {
    if (!domainNameValid(dns, false)) return `DNS name "${dns}" cannot be parsed to be matched against constraints`;
    const problem = checkKind(
      'DNS name',
      dns,
      p.dns,
      x.dns,
      (c) => dnsMatches(dns, c),
      id,
      (c) => dnsMatches(dns, c) || wildcardExcluded(dns, c),
    );
    if (problem !== undefined) return problem;
  }
  for (const uri of sans.uris) {
    const parsed = uriHost(uri);
    if ('problem' in parsed) return parsed.problem;
    const problem = checkKind('URI', uri, p.uris, x.uris, (c) => dnsMatches(parsed.host, c), id);
    if (problem !== undefined) return problem;
  }
  for (const email of sans.emails) {
    const mailbox = parseMailbox(email);
    if (mailbox === undefined) return `email address "${email}" cannot be parsed to be matched against constraints`;
    const problem = checkKind('email address', email, p.emails, x.emails, (c) => emailMatches(mailbox, c), id);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
