/**
 * Loading an optional peer dependency (undici, `@grpc/grpc-js`) on first use, so that
 * importing this package never loads, nor requires, a library the program does not use.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { OptionalPeerError } from '../errors.js';

/**
 * Where a peer is looked for, only in the application that imports this package: beside this
 * package (a hoisted or peer-linked install, which is the application's own copy), then beside
 * the application's entry script (`process.argv[1]`, symlinks resolved), for layouts such as a
 * pnpm workspace installed with `--prod`, where only the application itself depends on it.
 * Never from the working directory: a program started in a shared or foreign directory would
 * otherwise load whatever module another user planted in its `node_modules`.
 */
function bases(): string[] {
  const out = [import.meta.url];
  const entry = process.argv[1];
  if (entry !== undefined && entry !== '') {
    try {
      out.push(pathToFileURL(realpathSync(entry)).href);
    } catch {
      // No entry script on disk (node -e, a REPL): this package's own resolution only.
    }
  }
  return out;
}

const loaded = new Map<string, unknown>();

/**
 * @internal Requires the CommonJS package `name` once, or throws an {@link OptionalPeerError}
 * (`ERR_OPTIONAL_PEER_MISSING`) that names the function that needs it and the install command.
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
  throw new OptionalPeerError(
    name,
    `${where}: the optional peer dependency "${name}" (${range}) is not installed; run \`npm install ${name}\``,
    { cause: lastError },
  );
}
