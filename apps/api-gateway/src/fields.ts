/**
 * Reading YAML files and checking their fields, with errors that name the file and the field.
 *
 * @module
 */
import { parseAllDocuments } from 'yaml';
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe';
import { GatewayConfigError } from './config-error.js';

/**
 * Parses YAML text into plain data. Syntax errors, duplicate keys and more than one document
 * are refused with the line and column.
 *
 * @param text - The file's content.
 * @param file - The file's name, for messages.
 * @throws {@link GatewayConfigError} for text that is not one YAML document.
 * @example
 * ```ts
 * const data = parseYaml(readFileSync('gateway.yaml', 'utf8'), 'gateway.yaml');
 * ```
 */
export function parseYaml(text: string, file: string): unknown {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (docs.length === 0) throw new GatewayConfigError(file, '', 'is empty');
  if (docs.length > 1) throw new GatewayConfigError(file, '', 'holds more than one YAML document; put one definition in each file');
  const doc = docs[0]!;
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new GatewayConfigError(file, '', `is not valid YAML: ${first.message.split('\n')[0]}`);
  }
  return doc.toJS({ maxAliasCount: 50 }) as unknown;
}

/**
 * Describes a value for "got ..." in messages (never more than 60 characters of it).
 *
 * @example
 * ```ts
 * describe('sometimes'); // '"sometimes"'
 * describe([1, 2]);      // 'a list'
 * ```
 */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // Objects returned above: what is left is a scalar, a symbol or a function.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A mapping of a configuration file being checked: typed getters that throw a
 * {@link GatewayConfigError} naming the field.
 *
 * @example
 * ```ts
 * const top = Fields.root(parseYaml(text, file), file, ['name', 'basePath']);
 * const name = top.string('name');
 * ```
 */
export class Fields {
  readonly file: string;
  readonly path: string;
  readonly #data: Record<string, unknown>;

  private constructor(data: Record<string, unknown>, file: string, path: string) {
    this.#data = data;
    this.file = file;
    this.path = path;
  }

  /** The file's top-level mapping, with the keys allowed in it. */
  static root(data: unknown, file: string, allowed: readonly string[]): Fields {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new GatewayConfigError(file, '', `must be a YAML mapping (key: value lines), got ${describe(data)}`);
    }
    return new Fields(data as Record<string, unknown>, file, '').#allowOnly(allowed);
  }

  /** The name of `key` below this mapping, for messages. */
  field(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** An error about `key` (or this mapping when `key` is `''`). */
  error(key: string, problem: string): GatewayConfigError {
    return new GatewayConfigError(this.file, key === '' ? this.path : this.field(key), problem);
  }

  has(key: string): boolean {
    return this.#data[key] !== undefined && this.#data[key] !== null;
  }

  raw(key: string): unknown {
    return this.#data[key];
  }

  #allowOnly(allowed: readonly string[]): this {
    for (const key of Object.keys(this.#data)) {
      if (!allowed.includes(key)) {
        throw this.error(
          key,
          `is not supported by this gateway (allowed here: ${allowed.join(', ')}); remove it rather than have it silently ignored`,
        );
      }
    }
    return this;
  }

  /** A non-empty string; `fallback` when absent, an error when absent without one. */
  string(key: string, fallback?: string): string {
    const value = this.#data[key];
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw this.error(key, 'is required');
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      throw this.error(
        key,
        `must be a string: write it in quotes (${key}: "..."); unquoted, YAML read it as the ${typeof value} ${String(value)}`,
      );
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw this.error(key, `must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  }

  /** A string from `choices`. */
  choice<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const value = this.#data[key];
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw this.error(key, `must be ${choices.map((c) => `"${c}"`).join(' or ')}, got ${describe(value)}`);
    }
    return value as T;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.#data[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw this.error(key, `must be true or false, got ${describe(value)}`);
    return value;
  }

  /** A nested mapping with its allowed keys; `undefined` when absent. */
  mapping(key: string, allowed: readonly string[]): Fields | undefined {
    const value = this.#data[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.error(key, `must be a mapping, got ${describe(value)}`);
    return new Fields(value as Record<string, unknown>, this.file, this.field(key)).#allowOnly(allowed);
  }

  /** A list; `[]` when absent. */
  list(key: string): unknown[] {
    const value = this.#data[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.error(key, `must be a list, got ${describe(value)}`);
    return value;
  }

  /** The mappings of a list, each with its allowed keys. */
  mappings(key: string, allowed: readonly string[]): Fields[] {
    return this.list(key).map((_, i) => this.item(key, i, allowed));
  }

  /** Item `index` of the list `key`, a mapping with its allowed keys. */
  item(key: string, index: number, allowed: readonly string[]): Fields {
    const item = this.list(key)[index];
    const path = `${this.field(key)}[${index}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new GatewayConfigError(this.file, path, `must be a mapping, got ${describe(item)}`);
    }
    return new Fields(item as Record<string, unknown>, this.file, path).#allowOnly(allowed);
  }

  /** A list of non-empty strings (a single string is taken as a list of one when `single`). */
  strings(key: string, single = false): string[] {
    const value = this.#data[key];
    if (single && typeof value === 'string') return [this.string(key)];
    return this.list(key).map((item, i) => {
      if (typeof item !== 'string' || item.trim() === '') {
        throw new GatewayConfigError(this.file, `${this.field(key)}[${i}]`, `must be a non-empty string, got ${describe(item)}`);
      }
      return item;
    });
  }

  /** A list of SPIFFE IDs. */
  spiffeIds(key: string): SpiffeId[] {
    return this.strings(key).map((text, i) => {
      try {
        return SpiffeId.fromString(text);
      } catch (err) {
        throw new GatewayConfigError(this.file, `${this.field(key)}[${i}]`, `"${text}" is not a SPIFFE ID: ${(err as Error).message}`);
      }
    });
  }

  /** A list of trust domain names (`example.org` or `spiffe://example.org`). */
  trustDomains(key: string): TrustDomain[] {
    return this.strings(key).map((text, i) => {
      try {
        return TrustDomain.fromString(text);
      } catch (err) {
        throw new GatewayConfigError(this.file, `${this.field(key)}[${i}]`, `"${text}" is not a trust domain: ${(err as Error).message}`);
      }
    });
  }
}
