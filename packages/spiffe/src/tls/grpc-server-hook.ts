/**
 * Finding the HTTP/2 server that `@grpc/grpc-js` builds from server credentials, so that the
 * SPIFFE gate can be installed on it.
 *
 * grpc-js (`Server.bindAsync`, `Server.createConnectionInjector`) creates an
 * `http2.Http2SecureServer` from the credentials' settings and never shows it to them. What it
 * does show is a watcher, registered with `credentials._addWatcher(watcher)` right after the
 * server is created: a function that installs new context options on that server with
 * `server.setSecureContext(options)`. Calling the watcher once, while `setSecureContext` is
 * replaced for the length of that synchronous call by a function that only records its
 * receiver, yields the server; the original method is back before the call returns.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import tls, { type SecureContextOptions } from 'node:tls';

/** What grpc-js passes to `ServerCredentials._addWatcher`. */
export type ContextWatcher = (options: SecureContextOptions | null) => void;

/**
 * @internal The TLS server that `watcher` installs context options on, or `undefined` when the
 * watcher did not call `setSecureContext` on a `tls.Server` (a grpc-js that works otherwise).
 * Installs nothing: the server keeps its context, which the caller replaces.
 */
export function serverOfWatcher(watcher: ContextWatcher): tls.Server | undefined {
  const prototype = tls.Server.prototype;
  const original = Object.getOwnPropertyDescriptor(prototype, 'setSecureContext');
  if (original === undefined) return undefined;
  let found: tls.Server | undefined;
  Object.defineProperty(prototype, 'setSecureContext', {
    ...original,
    value: function recordServer(this: tls.Server): void {
      // The point of the hook: remember which server grpc-js called it on.
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      found ??= this;
    },
  });
  try {
    watcher({});
  } finally {
    Object.defineProperty(prototype, 'setSecureContext', original);
  }
  return found instanceof tls.Server ? found : undefined;
}
