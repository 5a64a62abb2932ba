/**
 * Printing X.509 contexts the way `spire-agent api fetch x509` and `api watch` do.
 *
 * @module
 */
import type { X509Context } from '@spiffe-node/spiffe/workloadapi';
import { formatGoDuration, formatGoTime } from '../go-format.js';
import { splitBundles } from '../files/svid-files.js';

/**
 * How federated trust domains are labelled: `fetch` prints the agent's map keys
 * (`spiffe://partner.org`), `watch` the trust domain names (`partner.org`), as SPIRE does.
 */
export type FederatedLabel = 'id' | 'name';

/**
 * SPIRE's text for an X.509 context: `Received 1 svid after 8.8ms`, then per SVID its SPIFFE
 * ID, validity, intermediates', CAs' and federated CAs' validity, and a blank line.
 *
 * @param elapsedNs - the time the answer took (fetch) or since the previous one (watch).
 * @example
 * ```ts
 * io.stdout(formatX509Context(ctx, process.hrtime.bigint() - start, 'id'));
 * ```
 */
export function formatX509Context(ctx: X509Context, elapsedNs: bigint, label: FederatedLabel): string {
  const n = ctx.svids.length;
  const lines = [`Received ${n} svid${n === 1 ? '' : 's'} after ${formatGoDuration(elapsedNs)}`];
  for (const svid of ctx.svids) {
    lines.push('');
    const [leaf, ...intermediates] = svid.certificates;
    lines.push(`SPIFFE ID:\t\t${svid.id.toString()}`);
    if (leaf !== undefined) {
      lines.push(`SVID Valid After:\t${formatGoTime(new Date(leaf.validFrom))}`);
      lines.push(`SVID Valid Until:\t${formatGoTime(new Date(leaf.validTo))}`);
    }
    intermediates.forEach((cert, i) => {
      lines.push(`Intermediate #${i + 1} Valid After:\t${formatGoTime(new Date(cert.validFrom))}`);
      lines.push(`Intermediate #${i + 1} Valid Until:\t${formatGoTime(new Date(cert.validTo))}`);
    });
    const { own, federated } = splitBundles(ctx, svid);
    (own?.authorities() ?? []).forEach((ca, i) => {
      lines.push(`CA #${i + 1} Valid After:\t${formatGoTime(new Date(ca.validFrom))}`);
      lines.push(`CA #${i + 1} Valid Until:\t${formatGoTime(new Date(ca.validTo))}`);
    });
    for (const bundle of federated) {
      const name = label === 'id' ? bundle.trustDomain.idString() : bundle.trustDomain.name;
      bundle.authorities().forEach((ca, i) => {
        lines.push(`[${name}] CA #${i + 1} Valid After:\t${formatGoTime(new Date(ca.validFrom))}`);
        lines.push(`[${name}] CA #${i + 1} Valid Until:\t${formatGoTime(new Date(ca.validTo))}`);
      });
    }
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
