/**
 * Loading an optional peer dependency (undici, `@grpc/grpc-js`) on first use, so that
 * importing this package never loads, nor requires, a library the program does not use.
 *
 * @module
 * @internal
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Where a peer is looked for: beside this package (a hoisted or peer-linked install, which is
 * the application's own copy), then beside the application (its entry script, then the working
 * directory), for layouts such as a pnpm workspace installed with `--prod`, where only the
 * application itself depends on it.
 */
function bases(): string[] {
  const out = [import.meta.url];
  if (process.argv[1]) out.push(pathToFileURL(process.argv[1]).href);
  out.push(pathToFileURL(join(process.cwd(), 'index.js')).href);
  return out;
}

const loaded = new Map<string, unknown>();

/**
 * @internal Requires the CommonJS package `name` once, or throws an `Error` with code
 * `ERR_MODULE_NOT_FOUND` that names the function that needs it and the install command.
 *
 * @param name - The package, e.g. `'undici'`.
 * @param range - The versions this package supports, for the message (e.g. `'>= 7'`).
 * @param where - The public function that needs it, for the message.
 */
export function loadOptionalPeer<T>(name: string, range: string, where: string): T {
  if (loaded.has(name)) return loaded.get(name) as T;
  let lastError: unknown;
  for (const base of bases()) {
    try {
      const module = createRequire(base)(name) as T;
      loaded.set(name, module);
      return module;
    } catch (err) {
      lastError = err;
    }
  }
  throw Object.assign(new Error(`${where}: the optional peer dependency "${name}" (${range}) is not installed; run \`npm install ${name}\``), {
    code: 'ERR_MODULE_NOT_FOUND',
    cause: lastError,
  });
}
