/**
 * Routing: `basePath` + `version` + `target` + `verb` to an API operation.
 *
 * @module
 */
import type { ApiDefinition, Operation, Verb } from './api-definition.js';
import { GatewayConfigError } from './config-error.js';

/**
 * Where a request goes: the API, the operation, and the path below `basePath/version` that is
 * appended to the endpoint's URL.
 *
 * @example
 * ```ts
 * const route = routes.match('GET', '/employee/3.14/employee');
 * if (route.kind === 'match') console.log(route.api.name, route.remainder); // EmployeeServiceAPI /employee
 * ```
 */
export type RouteResult =
  | { kind: 'match'; api: ApiDefinition; operation: Operation; remainder: string }
  | { kind: 'method_not_allowed'; api: ApiDefinition; allowed: Verb[] }
  | { kind: 'no_route' };

interface CompiledOperation {
  operation: Operation;
  segments: string[];
  /** Ends in `/*`: anything below the segments matches. */
  prefix: boolean;
}

interface Mount {
  prefix: string;
  api: ApiDefinition;
  operations: CompiledOperation[];
}

function compile(operation: Operation): CompiledOperation {
  const segments = operation.target === '/' ? [] : operation.target.slice(1).split('/');
  const prefix = segments.at(-1) === '*';
  return { operation, segments: prefix ? segments.slice(0, -1) : segments, prefix };
}

function matches(op: CompiledOperation, parts: string[]): boolean {
  if (op.prefix ? parts.length < op.segments.length : parts.length !== op.segments.length) return false;
  return op.segments.every((segment, i) => (segment.startsWith('{') ? parts[i] !== '' : segment === parts[i]));
}

/**
 * The routes of a set of APIs. Each API is mounted at `basePath/version` (and at `basePath` too
 * with `defaultVersion: true`); two APIs on the same mount are refused.
 *
 * @example
 * ```ts
 * const routes = new RouteTable([api]);
 * routes.match('POST', '/employee/3.14/employee');
 * ```
 */
export class RouteTable {
  readonly #mounts: Mount[] = [];

  /**
   * @param apis - Validated API definitions.
   * @throws {@link GatewayConfigError} when two APIs share a mount.
   */
  constructor(apis: readonly ApiDefinition[]) {
    const taken = new Map<string, ApiDefinition>();
    for (const api of apis) {
      const base = api.basePath === '/' ? '' : api.basePath;
      const prefixes = [`${base}/${api.version}`, ...(api.defaultVersion ? [base] : [])];
      const operations = api.operations.map(compile);
      for (const prefix of prefixes) {
        const other = taken.get(prefix);
        if (other !== undefined) {
          throw new GatewayConfigError(
            api.file,
            'basePath',
            `"${prefix || '/'}" is already served by API "${other.name}" (${other.file}); give each API its own basePath and version`,
          );
        }
        taken.set(prefix, api);
        this.#mounts.push({ prefix, api, operations });
      }
    }
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * Finds the operation for a request.
   *
   * @param method - The request method.
   * @param pathname - The normalized path, without the query.
   */
  match(method: string, pathname: string): RouteResult {
    let allowedIn: { api: ApiDefinition; allowed: Verb[] } | undefined;
    for (const mount of this.#mounts) {
      const { prefix } = mount;
      if (!(pathname === prefix || pathname.startsWith(`${prefix}/`))) continue;
      const remainder = pathname.slice(prefix.length) || '/';
      const parts = remainder === '/' ? [] : remainder.slice(1).split('/');
      for (const op of mount.operations) {
        if (!matches(op, parts)) continue;
        if (op.operation.verb === method) return { kind: 'match', api: mount.api, operation: op.operation, remainder };
        allowedIn ??= { api: mount.api, allowed: [] };
        if (allowedIn.api === mount.api && !allowedIn.allowed.includes(op.operation.verb)) allowedIn.allowed.push(op.operation.verb);
      }
    }
    return allowedIn === undefined ? { kind: 'no_route' } : { kind: 'method_not_allowed', ...allowedIn };
  }
}
