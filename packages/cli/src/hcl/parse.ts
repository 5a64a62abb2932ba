/**
 * A parser for the HCL (version 1) that spiffe-helper and SPIRE configuration files are written
 * in, keeping the line and column of every key and value so that configuration errors can name
 * them.
 *
 * Supported: `key = value` and `"quoted key" = value`; strings with escapes (`\n`, `\t`, `\"`,
 * `\\`, `\uXXXX`); heredocs (`<<EOF` ... `EOF`, and `<<-EOF` with indentation); numbers (decimal,
 * `0x` hexadecimal, a leading `0` meaning octal as in HCL 1, so `0644` is 420; floats); `true` /
 * `false`; lists `[a, b,]`; objects `{ k = v }` (entries separated by newlines or commas);
 * blocks `name { ... }` and `name "label" { ... }`; comments `#`, `//` and `/* *\/`.
 *
 * @module
 */

/**
 * A position in the source: 1-based line and column.
 *
 * @example
 * ```ts
 * const pos: HclPos = { line: 3, column: 1 };
 * ```
 */
export interface HclPos {
  line: number;
  column: number;
}

/**
 * A parsed value with the position it starts at.
 *
 * @example
 * ```ts
 * const v: HclValue = { kind: 'number', value: 420, raw: '0644', pos: { line: 1, column: 18 } };
 * ```
 */
export type HclValue =
  | { kind: 'string'; value: string; pos: HclPos }
  | { kind: 'number'; value: number; raw: string; pos: HclPos }
  | { kind: 'bool'; value: boolean; pos: HclPos }
  | { kind: 'list'; items: HclValue[]; pos: HclPos }
  | HclObject;

/**
 * An object (the file itself, a `{ ... }` value, or a block) as its entries in source order.
 * Keys may repeat (a repeated block is how HCL writes a list of objects).
 *
 * @example
 * ```ts
 * const obj = parseHcl('a = 1\nb { c = true }');
 * obj.entries.map((e) => e.key); // ['a', 'b']
 * ```
 */
export interface HclObject {
  kind: 'object';
  entries: HclEntry[];
  pos: HclPos;
}

/**
 * One `key = value` or block of an object. A block `name "label" { ... }` is the entry
 * `name` whose value is the object `{ label = { ... } }`, as HCL 1 decodes it.
 *
 * @example
 * ```ts
 * const [entry] = parseHcl('health_checks {\n  listener_enabled = true\n}').entries;
 * entry.key;   // 'health_checks'
 * entry.block; // true
 * ```
 */
export interface HclEntry {
  key: string;
  keyPos: HclPos;
  value: HclValue;
  /** Whether it was written as a block (`name { ... }`) rather than `name = ...`. */
  block: boolean;
}

/**
 * A syntax error, with the file name (when given), line and column in its message:
 * `helper.conf:3:12: expected a value after "=", found "}"`.
 *
 * @example
 * ```ts
 * try { parseHcl('a = ', 'x.conf'); } catch (err) { if (err instanceof HclSyntaxError) console.error(err.message); }
 * ```
 */
export class HclSyntaxError extends Error {
  override name = 'HclSyntaxError';
  readonly pos: HclPos;
  readonly file: string | undefined;
  constructor(message: string, pos: HclPos, file?: string) {
    super(`${file === undefined ? '' : `${file}:`}${pos.line}:${pos.column}: ${message}`);
    this.pos = pos;
    this.file = file;
  }
}

type TokenKind = 'ident' | 'string' | 'number' | 'heredoc' | '=' | '{' | '}' | '[' | ']' | ',' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** The decoded value of strings and heredocs. */
  value?: string;
  pos: HclPos;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_\-.]/;

class Lexer {
  readonly #src: string;
  readonly #file: string | undefined;
  #i = 0;
  #line = 1;
  #col = 1;

  constructor(src: string, file: string | undefined) {
    this.#src = src;
    this.#file = file;
  }

  tokens(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.#next();
      out.push(t);
      if (t.kind === 'eof') return out;
    }
  }

  #pos(): HclPos {
    return { line: this.#line, column: this.#col };
  }

  #error(message: string, pos: HclPos = this.#pos()): HclSyntaxError {
    return new HclSyntaxError(message, pos, this.#file);
  }

  #peek(offset = 0): string {
    return this.#src[this.#i + offset] ?? '';
  }

  #advance(): string {
    const c = this.#src[this.#i++] ?? '';
    if (c === '\n') {
      this.#line++;
      this.#col = 1;
    } else {
      this.#col++;
    }
    return c;
  }

  #skipSpaceAndComments(): void {
    for (;;) {
      const c = this.#peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\uFEFF') {
        this.#advance();
      } else if (c === '#' || (c === '/' && this.#peek(1) === '/')) {
        while (this.#i < this.#src.length && this.#peek() !== '\n') this.#advance();
      } else if (c === '/' && this.#peek(1) === '*') {
        const start = this.#pos();
        this.#advance();
        this.#advance();
        while (!(this.#peek() === '*' && this.#peek(1) === '/')) {
          if (this.#i >= this.#src.length) throw this.#error('unterminated /* comment', start);
          this.#advance();
        }
        this.#advance();
        this.#advance();
      } else {
        return;
      }
    }
  }

  #next(): Token {
    this.#skipSpaceAndComments();
    const pos = this.#pos();
    const c = this.#peek();
    if (c === '') return { kind: 'eof', text: '', pos };
    if ('={}[],'.includes(c)) {
      this.#advance();
      return { kind: c as TokenKind, text: c, pos };
    }
    if (c === '"') return this.#string(pos);
    if (c === '<' && this.#peek(1) === '<') return this.#heredoc(pos);
    if (/[0-9]/.test(c) || ((c === '-' || c === '+') && /[0-9.]/.test(this.#peek(1)))) return this.#number(pos);
    if (IDENT_START.test(c)) {
      let text = '';
      while (IDENT_PART.test(this.#peek())) text += this.#advance();
      return { kind: 'ident', text, pos };
    }
    throw this.#error(`unexpected character ${JSON.stringify(c)}`);
  }

  #string(pos: HclPos): Token {
    this.#advance(); // opening quote
    let value = '';
    let raw = '"';
    for (;;) {
      const c = this.#peek();
      if (c === '' || c === '\n') throw this.#error('unterminated string (a string ends on the line it starts)', pos);
      this.#advance();
      raw += c;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = this.#advance();
      raw += e;
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '"':
        case '\\':
        case '/':
          value += e;
          break;
        case 'u': {
          let hex = '';
          for (let k = 0; k < 4; k++) hex += this.#advance();
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.#error(`invalid \\u escape "\\u${hex}"`);
          raw += hex;
          value += String.fromCharCode(parseInt(hex, 16));
          break;
        }
        default:
          throw this.#error(`unknown escape sequence "\\${e}" in a string`);
      }
    }
    return { kind: 'string', text: raw, value, pos };
  }

  #heredoc(pos: HclPos): Token {
    this.#advance();
    this.#advance();
    let indent = false;
    if (this.#peek() === '-') {
      indent = true;
      this.#advance();
    }
    let marker = '';
    while (IDENT_PART.test(this.#peek())) marker += this.#advance();
    if (marker === '') throw this.#error('a heredoc needs a marker after "<<" (for example <<EOF)', pos);
    if (this.#peek() === '\r') this.#advance();
    if (this.#peek() !== '\n') throw this.#error(`the heredoc marker "${marker}" must end its line`);
    this.#advance();
    const lines: string[] = [];
    for (;;) {
      if (this.#i >= this.#src.length) throw this.#error(`unterminated heredoc: no line "${marker}"`, pos);
      let line = '';
      while (this.#i < this.#src.length && this.#peek() !== '\n') line += this.#advance();
      const bare = line.replace(/\r$/, '');
      if (bare.trim() === marker && (indent || bare === marker)) break;
      lines.push(bare);
      this.#advance(); // newline
    }
    let body = lines;
    if (indent) {
      const widths = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
      const strip = widths.length === 0 ? 0 : Math.min(...widths);
      body = lines.map((l) => l.slice(strip));
    }
    return { kind: 'heredoc', text: `<<${marker}`, value: body.map((l) => `${l}\n`).join(''), pos };
  }

  #number(pos: HclPos): Token {
    let text = '';
    if (this.#peek() === '-' || this.#peek() === '+') text += this.#advance();
    while (/[0-9a-zA-Z.+\-_]/.test(this.#peek())) {
      const c = this.#peek();
      // A sign is part of a number only right after an exponent marker.
      if ((c === '-' || c === '+') && !/[eE]$/.test(text)) break;
      text += this.#advance();
    }
    return { kind: 'number', text, pos };
  }
}

function numberValue(raw: string): number | undefined {
  const sign = raw.startsWith('-') ? -1 : 1;
  const body = raw.replace(/^[-+]/, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^0[0-7]+$/.test(body)) return sign * parseInt(body.slice(1), 8); // HCL 1: a leading 0 is octal
  if (/^(0|[1-9][0-9]*)$/.test(body)) return sign * Number(body);
  if (/^([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$/.test(body) && /[.eE]/.test(body)) return sign * Number(body);
  return undefined;
}

class Parser {
  readonly #tokens: Token[];
  readonly #file: string | undefined;
  #i = 0;

  constructor(tokens: Token[], file: string | undefined) {
    this.#tokens = tokens;
    this.#file = file;
  }

  parseFile(): HclObject {
    const pos = this.#peek().pos;
    const entries = this.#entries('eof');
    return { kind: 'object', entries, pos };
  }

  #peek(): Token {
    return this.#tokens[this.#i] as Token;
  }

  #take(): Token {
    return this.#tokens[this.#i++] as Token;
  }

  #error(message: string, pos: HclPos): HclSyntaxError {
    return new HclSyntaxError(message, pos, this.#file);
  }

  #describe(t: Token): string {
    return t.kind === 'eof' ? 'the end of the file' : JSON.stringify(t.text);
  }

  #entries(end: '}' | 'eof'): HclEntry[] {
    const entries: HclEntry[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === end) return entries;
      if (t.kind === 'eof') throw this.#error('unclosed "{": expected "}" before the end of the file', t.pos);
      if (t.kind === ',' && entries.length > 0) {
        this.#take();
        continue;
      }
      entries.push(this.#entry());
    }
  }

  #key(): { key: string; pos: HclPos } {
    const t = this.#take();
    if (t.kind === 'ident') return { key: t.text, pos: t.pos };
    if (t.kind === 'string') return { key: t.value ?? '', pos: t.pos };
    throw this.#error(`expected a key, found ${this.#describe(t)}`, t.pos);
  }

  #entry(): HclEntry {
    const { key, pos } = this.#key();
    const t = this.#peek();
    if (t.kind === '=') {
      this.#take();
      const next = this.#peek();
      if (next.pos.line > t.pos.line) {
        throw this.#error(`expected a value after "${key} =" on the same line`, { line: t.pos.line, column: t.pos.column + 1 });
      }
      return { key, keyPos: pos, value: this.#value(`after "${key} ="`), block: false };
    }
    // A block: `key { ... }` or `key "label" ... { ... }`.
    const labels: Array<{ key: string; pos: HclPos }> = [];
    while (this.#peek().kind === 'string' || this.#peek().kind === 'ident') labels.push(this.#key());
    const open = this.#peek();
    if (open.kind !== '{') {
      throw this.#error(`expected "=" or "{" after the key "${key}", found ${this.#describe(open)}`, open.pos);
    }
    let value: HclValue = this.#object();
    for (let k = labels.length - 1; k >= 0; k--) {
      const label = labels[k] as { key: string; pos: HclPos };
      value = { kind: 'object', entries: [{ key: label.key, keyPos: label.pos, value, block: true }], pos: label.pos };
    }
    return { key, keyPos: pos, value, block: true };
  }

  #object(): HclObject {
    const open = this.#take(); // '{'
    const entries = this.#entries('}');
    this.#take(); // '}'
    return { kind: 'object', entries, pos: open.pos };
  }

  #value(where: string): HclValue {
    const t = this.#peek();
    switch (t.kind) {
      case 'string':
      case 'heredoc':
        this.#take();
        return { kind: 'string', value: t.value ?? '', pos: t.pos };
      case 'number': {
        this.#take();
        const value = numberValue(t.text);
        if (value === undefined) throw this.#error(`invalid number "${t.text}"`, t.pos);
        return { kind: 'number', value, raw: t.text, pos: t.pos };
      }
      case 'ident':
        if (t.text === 'true' || t.text === 'false') {
          this.#take();
          return { kind: 'bool', value: t.text === 'true', pos: t.pos };
        }
        throw this.#error(`expected a value ${where}, found ${this.#describe(t)} (strings need double quotes)`, t.pos);
      case '[':
        return this.#list();
      case '{':
        return this.#object();
      default:
        throw this.#error(`expected a value ${where}, found ${this.#describe(t)}`, t.pos);
    }
  }

  #list(): HclValue {
    const open = this.#take(); // '['
    const items: HclValue[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === ']') {
        this.#take();
        return { kind: 'list', items, pos: open.pos };
      }
      if (t.kind === 'eof') throw this.#error('unclosed "[": expected "]" before the end of the file', open.pos);
      items.push(this.#value('in the list'));
      const sep = this.#peek();
      if (sep.kind === ',') this.#take();
      else if (sep.kind === 'eof') throw this.#error('unclosed "[": expected "]" before the end of the file', open.pos);
      else if (sep.kind !== ']') throw this.#error(`expected "," or "]" in the list, found ${this.#describe(sep)}`, sep.pos);
    }
  }
}

/**
 * Parses HCL 1 text into its top-level object.
 *
 * @param file - the file name, for error messages.
 * @throws {@link HclSyntaxError} naming the line and column of the first syntax error.
 * @example
 * ```ts
 * import { parseHcl } from '@spiffe-node/cli';
 * const conf = parseHcl('cert_dir = "certs"\ncert_file_mode = 0644\njwt_svids = [{ jwt_audience = "db", jwt_svid_file_name = "db.token" }]');
 * conf.entries[1]?.value; // { kind: 'number', value: 420, raw: '0644', ... }
 * ```
 */
export function parseHcl(text: string, file?: string): HclObject {
  if (typeof text !== 'string') throw new TypeError('parseHcl: expected the configuration text as a string');
  return new Parser(new Lexer(text, file).tokens(), file).parseFile();
}

/**
 * Turns a parsed value into plain JavaScript (objects, arrays, strings, numbers, booleans);
 * repeated keys of an object become an array of their values.
 *
 * @example
 * ```ts
 * hclToJson(parseHcl('a = 1\nb { c = "x" }')); // { a: 1, b: { c: 'x' } }
 * ```
 */
export function hclToJson(value: HclValue): unknown {
  switch (value.kind) {
    case 'list':
      return value.items.map(hclToJson);
    case 'object': {
      const groups = new Map<string, unknown[]>();
      for (const entry of value.entries) {
        const list = groups.get(entry.key) ?? [];
        list.push(hclToJson(entry.value));
        groups.set(entry.key, list);
      }
      return Object.fromEntries([...groups].map(([key, values]) => [key, values.length === 1 ? values[0] : values]));
    }
    default:
      return value.value;
  }
}
