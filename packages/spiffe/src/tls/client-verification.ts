/**
 * The glue by which plain client options (`tlsClientOptions`, `mtlsClientOptions`) authenticate
 * the server inside `tls.connect`: `checkServerIdentity` verifies the server's chain against
 * the bundle of its own trust domain and asks the authorizer; `pskCallback`, which offers no
 * PSK, installs the check of a resumed session, which Node does not show to
 * `checkServerIdentity` (see `resumed-session.ts`).
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import { chainFromPeerCertificate, verifyPeerChain } from './peer.js';
import { toTlsPeerError } from './peer-error.js';
import { guardResumedSession } from './resumed-session.js';

/** The two `tls.connect` hooks of plain client options that authenticate the server. */
export interface ServerVerificationHooks {
  checkServerIdentity(hostname: string, cert: PeerCertificate): Error | undefined;
  pskCallback(this: TLSSocket): null;
}

/** The hooks that authenticate the server with `bundleSource` and `authorizer`. */
export function serverVerificationHooks(bundleSource: X509BundleSource, authorizer: Authorizer): ServerVerificationHooks {
  return {
    checkServerIdentity(_hostname: string, cert: PeerCertificate): Error | undefined {
      try {
        verifyPeerChain(chainFromPeerCertificate(cert), bundleSource, authorizer, 'server');
        return undefined;
      } catch (err) {
        return toTlsPeerError(err);
      }
    },
    // Not a PSK: the one hook Node runs for every connection of plain options, where the check
    // of a resumed session is installed (see resumed-session.ts). Offers no PSK.
    pskCallback(this: TLSSocket): null {
      guardResumedSession(this, bundleSource, authorizer);
      return null;
    },
  };
}
