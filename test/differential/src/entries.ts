/**
 * Reads the entries `spire-server entry show` / `entry create` print (SPIRE's pretty format:
 * `Label            : value` lines, one blank line between entries).
 */

/** One printed entry. */
export interface PrintedEntry {
  entryId: string;
  spiffeId: string;
  parentId: string;
  revision: string;
  x509SvidTtl: string;
  jwtSvidTtl: string;
  selectors: string[];
  dnsNames: string[];
  federatesWith: string[];
  hint: string;
  /** The labels in the order printed, for comparing the format. */
  labels: string[];
  /** The block as printed, its entry ID replaced by `<entry-id>`. */
  text: string;
}

const LINE = /^([A-Za-z0-9 -]+?)\s*: (.*)$/;

/** Parses every entry block in `output` (anything before the first `Entry ID` line is ignored). */
export function parseEntries(output: string): PrintedEntry[] {
  const entries: PrintedEntry[] = [];
  let current: PrintedEntry | undefined;
  let lines: string[] = [];
  const close = (): void => {
    if (current) {
      current.text = lines.join('\n');
      entries.push(current);
    }
    current = undefined;
    lines = [];
  };
  for (const raw of output.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) {
      if (raw.trim() === '') close();
      continue;
    }
    const [, label, value] = m as unknown as [string, string, string];
    if (label === 'Entry ID') {
      close();
      current = {
        entryId: value,
        spiffeId: '',
        parentId: '',
        revision: '',
        x509SvidTtl: '',
        jwtSvidTtl: '',
        selectors: [],
        dnsNames: [],
        federatesWith: [],
        hint: '',
        labels: [],
        text: '',
      };
      lines.push(`${raw.slice(0, raw.indexOf(':') + 1)} <entry-id>`);
      current.labels.push(label);
      continue;
    }
    if (!current) continue;
    lines.push(raw);
    current.labels.push(label);
    switch (label) {
      case 'SPIFFE ID':
        current.spiffeId = value;
        break;
      case 'Parent ID':
        current.parentId = value;
        break;
      case 'Revision':
        current.revision = value;
        break;
      case 'X509-SVID TTL':
        current.x509SvidTtl = value;
        break;
      case 'JWT-SVID TTL':
        current.jwtSvidTtl = value;
        break;
      case 'Selector':
        current.selectors.push(value);
        break;
      case 'DNS name':
        current.dnsNames.push(value);
        break;
      case 'FederatesWith':
        current.federatesWith.push(value);
        break;
      case 'Hint':
        current.hint = value;
        break;
      default:
        break;
    }
  }
  close();
  return entries;
}

/** The part of an entry both agents must agree on (not its ID). */
export function entryKey(e: PrintedEntry): string {
  return JSON.stringify({
    spiffeId: e.spiffeId,
    parentId: e.parentId,
    selectors: [...e.selectors].sort(),
    x509SvidTtl: e.x509SvidTtl,
    jwtSvidTtl: e.jwtSvidTtl,
    dnsNames: e.dnsNames,
    federatesWith: e.federatesWith,
    hint: e.hint,
  });
}
