/**
 * A strict reader of RFC 5280 GeneralNames, the content of a subjectAltName extension (the name
 * constraints reader shares its IA5 and single-element helpers). A SAN extension that does not decode as valid GeneralNames is
 * refused rather than read in part: OpenSSL (and so Node's `X509Certificate.subjectAltName`
 * and `tls` `getPeerCertificate()`) refuses the whole extension, and what the library
 * authorizes must never differ from what Node shows the application.
 *
 * Not part of the public API: no entry point exports this module.
 */
import { DerError, children, readTlv, type Tlv } from '../../bundle/der.js';

/** The GeneralName alternatives by context tag number (RFC 5280 §4.2.1.6). */
export const GeneralNameType = {
  otherName: 0,
  rfc822Name: 1,
  dNSName: 2,
  x400Address: 3,
  directoryName: 4,
  ediPartyName: 5,
  uniformResourceIdentifier: 6,
  iPAddress: 7,
  registeredID: 8,
} as const;

/** The name of a GeneralName alternative, for messages. */
export function generalNameTypeName(type: number): string {
  return Object.entries(GeneralNameType).find(([, n]) => n === type)?.[0] ?? `[${type}]`;
}

/** One decoded GeneralName: its alternative and its content bytes' position. */
export interface GeneralName {
  type: number;
  /** The element itself (tag, content bounds). */
  el: Tlv;
}

/** The names of a subjectAltName extension, by kind. */
export interface SubjectAltNames {
  uris: string[];
  dnsNames: string[];
  emails: string[];
  /** iPAddress names: 4 (IPv4) or 16 (IPv6) bytes. */
  ips: Uint8Array[];
  /** Alternatives present other than the four above (otherName, directoryName, registeredID). */
  otherTypes: Set<number>;
}

function hexTag(tag: number): string {
  return `0x${tag.toString(16).padStart(2, '0')}`;
}

/** Reads the single element that must fill `[start, end)` exactly. */
export function single(bytes: Uint8Array, start: number, end: number, what: string): Tlv {
  const el = readTlv(bytes, start, end);
  if (el.end !== end) throw new DerError(`${what} is followed by ${end - el.end} trailing byte(s)`);
  return el;
}

/** The content of an IA5String-like element, refusing bytes outside IA5 (7-bit). */
export function ia5(bytes: Uint8Array, el: Tlv, what: string): string {
  for (let i = el.contentStart; i < el.end; i++) {
    if ((bytes[i] as number) > 0x7f) throw new DerError(`${what} holds a byte that is not IA5 (0x${(bytes[i] as number).toString(16)})`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart).toString('latin1');
}

/** Checks that `el`'s content is a well-formed OBJECT IDENTIFIER body. */
function checkOidBody(bytes: Uint8Array, el: Tlv, what: string): void {
  if (el.end === el.contentStart || ((bytes[el.end - 1] as number) & 0x80) !== 0) {
    throw new DerError(`${what} is not a valid OBJECT IDENTIFIER`);
  }
}

/** Checks that `el` is a DER Name: a SEQUENCE of non-empty SETs of SEQUENCE { OID, value }. */
function checkName(bytes: Uint8Array, el: Tlv, what: string): void {
  if (el.tag !== 0x30) throw new DerError(`${what} is not a SEQUENCE (tag ${hexTag(el.tag)})`);
  for (const rdn of children(bytes, el)) {
    if (rdn.tag !== 0x31) throw new DerError(`${what} holds a relative name that is not a SET`);
    const attributes = children(bytes, rdn);
    if (attributes.length === 0) throw new DerError(`${what} holds an empty relative name`);
    for (const attr of attributes) {
      const parts = attr.tag === 0x30 ? children(bytes, attr) : [];
      if (parts.length !== 2 || parts[0]?.tag !== 0x06) throw new DerError(`${what} holds an attribute that is not { OID, value }`);
      checkOidBody(bytes, parts[0], `${what} attribute type`);
    }
  }
}

/**
 * Checks one GeneralName element: a context tag of a known alternative, with the right form
 * (primitive or constructed) and content. Returns its type.
 */
function checkGeneralName(bytes: Uint8Array, el: Tlv, what: string): number {
  const type = el.tag & 0x1f;
  const cls = el.tag & 0xc0;
  const constructed = (el.tag & 0x20) !== 0;
  if (cls !== 0x80 || type > 8) {
    throw new DerError(`${what} has tag ${hexTag(el.tag)}, which is no GeneralName alternative (context tags [0] to [8])`);
  }
  const wantConstructed = type === 0 || type === 3 || type === 4 || type === 5;
  if (constructed !== wantConstructed) {
    throw new DerError(
      `${what} (${generalNameTypeName(type)}) must be ${wantConstructed ? 'constructed' : 'primitive'} (tag ${hexTag(el.tag)})`,
    );
  }
  const name = `${what} (${generalNameTypeName(type)})`;
  switch (type) {
    case GeneralNameType.otherName: {
      // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }, implicitly tagged [0].
      const parts = children(bytes, el);
      if (parts.length !== 2 || parts[0]?.tag !== 0x06 || parts[1]?.tag !== 0xa0) throw new DerError(`${name} is not { OID, [0] value }`);
      checkOidBody(bytes, parts[0], `${name} type`);
      single(bytes, parts[1].contentStart, parts[1].end, `${name} value`);
      break;
    }
    case GeneralNameType.directoryName:
      // Name is a CHOICE, so [4] is explicit: it holds the Name SEQUENCE.
      checkName(bytes, single(bytes, el.contentStart, el.end, name), name);
      break;
    case GeneralNameType.x400Address:
    case GeneralNameType.ediPartyName:
      throw new DerError(`${name} is not supported; an X509-SVID has no use for it`);
    case GeneralNameType.rfc822Name:
    case GeneralNameType.dNSName:
    case GeneralNameType.uniformResourceIdentifier:
      ia5(bytes, el, name);
      break;
    case GeneralNameType.registeredID:
      checkOidBody(bytes, el, name);
      break;
  }
  return type;
}

/**
 * Reads a GeneralNames SEQUENCE that fills `[start, end)` exactly, checking every name.
 * Throws {@link DerError} on anything that is not valid DER GeneralNames.
 */
function readGeneralNames(bytes: Uint8Array, start: number, end: number, what: string): GeneralName[] {
  const seq = single(bytes, start, end, what);
  if (seq.tag !== 0x30) throw new DerError(`${what} is not a SEQUENCE (tag ${hexTag(seq.tag)})`);
  const names = children(bytes, seq).map((el, i) => ({ type: checkGeneralName(bytes, el, `${what} entry ${i + 1}`), el }));
  if (names.length === 0) throw new DerError(`${what} holds no name; GeneralNames must hold at least one`);
  return names;
}

/** Reads the value of a subjectAltName extension (the OCTET STRING's content). */
export function readSubjectAltNames(bytes: Uint8Array, value: Tlv): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dnsNames: [], emails: [], ips: [], otherTypes: new Set() };
  for (const { type, el } of readGeneralNames(bytes, value.contentStart, value.end, 'subject alternative name')) {
    switch (type) {
      case GeneralNameType.uniformResourceIdentifier:
        out.uris.push(ia5(bytes, el, 'URI'));
        break;
      case GeneralNameType.dNSName:
        out.dnsNames.push(ia5(bytes, el, 'dNSName'));
        break;
      case GeneralNameType.rfc822Name:
        out.emails.push(ia5(bytes, el, 'rfc822Name'));
        break;
      case GeneralNameType.iPAddress: {
        const len = el.end - el.contentStart;
        if (len !== 4 && len !== 16)
          throw new DerError(`subject alternative name iPAddress has ${len} bytes; expected 4 (IPv4) or 16 (IPv6)`);
        out.ips.push(bytes.slice(el.contentStart, el.end));
        break;
      }
      default:
        out.otherTypes.add(type);
    }
  }
  return out;
}
