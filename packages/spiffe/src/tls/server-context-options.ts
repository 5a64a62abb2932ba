/**
 * The secure-context settings of a SPIFFE server that its `tlsOptions` do not decide: the
 * cipher order, and the `secureOptions` that refuse renegotiation and, unless resumption is
 * on, session tickets.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { constants } from 'node:crypto';
import { DEFAULT_CIPHERS, type TlsOptions } from 'node:tls';
import { NO_RENEGOTIATION } from './renegotiation.js';
import type { ServerConfig } from './server-options.js';

/** TLS 1.3 cipher suites in the order a SPIFFE server prefers them. */
const TLS13_SUITES_PREFERRED = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * @internal Cipher options of a server whose `tlsOptions` choose none: the TLS 1.3 suites
 * with AES-128-GCM first and the server's order honoured, Node's TLS 1.2 list unchanged.
 * AES-128 matches the 128-bit strength of the P-256 keys SVIDs carry, is the suite Go's TLS
 * (and so go-spiffe) prefers on hardware with AES instructions, and its SHA-256 key schedule
 * costs less than SHA-384's; Node alone would pick AES-256-GCM-SHA384.
 */
export function serverCipherOptions(config: ServerConfig): Pick<TlsOptions, 'ciphers' | 'honorCipherOrder'> {
  if (config.tlsOptions.ciphers !== undefined) return {};
  const tls12 = DEFAULT_CIPHERS.split(':').filter((c) => c !== '' && !c.startsWith('TLS_'));
  return { ciphers: [...TLS13_SUITES_PREFERRED, ...tls12].join(':'), honorCipherOrder: config.tlsOptions.honorCipherOrder ?? true };
}

/**
 * @internal `secureOptions` for a server: renegotiation refused, and no session tickets unless
 * resumption is on.
 */
export function serverSecureOptions(config: ServerConfig): number {
  const base = (config.tlsOptions.secureOptions ?? 0) | NO_RENEGOTIATION;
  return config.resumption ? base : base | constants.SSL_OP_NO_TICKET;
}
