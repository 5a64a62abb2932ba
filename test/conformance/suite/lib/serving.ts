/**
 * The barrier pattern for bad Workload API updates (catalogue §2.2), shared by `WA-2` and `HX`:
 * serve valid SVID A, then the bad response, watch the X.509 port for a second, then push
 * valid barrier SVID B and wait for it. Throughout, the harness must keep serving, present A
 * (or, once pushed, B) and never the bad leaf.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { X509SvidResponseMessage } from '@spiffe-node/test-kit/fake-agent';
import { TIMING, sleep, type ConformanceEnv } from './env.js';
import type { ProbeResult } from './probe.js';

/**
 * A probe check: the harness still serves, does not present `forbidden`, and presents one of
 * `allowed`.
 *
 * @example
 * ```ts
 * await env.observeX509(1000, servingCheck('an expired SVID', bad.leaf, [a.id]));
 * ```
 */
function servingCheck(what: string, forbidden: X509Certificate | undefined, allowed: readonly string[]) {
  return (res: ProbeResult | undefined, err: Error | undefined): void => {
    if (err !== undefined || res === undefined) {
      throw new Error(
        `the SDK stopped serving a valid SVID after ${what} (it presented the bad material or dropped its SVID): ${err?.message ?? 'no result'}`,
      );
    }
    if (forbidden !== undefined && res.chain[0]?.raw.equals(forbidden.raw)) throw new Error(`the SDK presented the SVID from ${what}`);
    if (!res.ids.some((id) => allowed.includes(id))) {
      throw new Error(`after ${what} the SDK presented ${JSON.stringify(res.ids)}, want one of ${JSON.stringify(allowed)}`);
    }
  };
}

/**
 * Runs the barrier pattern: A, then `bad` (a raw `FetchX509SVID` response), then B.
 *
 * @param prefix - Path prefix of the SVIDs A and B (`/hx` gives `/hx-a`, `/hx-b`).
 * @param badLeaf - The leaf the bad response carries (never to be presented), if any.
 * @example
 * ```ts
 * await ignoresBadUpdate(env, '/wa-2', 'a response with an empty bundle', response, leaf);
 * ```
 */
export async function ignoresBadUpdate(
  env: ConformanceEnv,
  prefix: string,
  what: string,
  bad: X509SvidResponseMessage,
  badLeaf: X509Certificate | undefined,
): Promise<void> {
  const a = env.ca.svid(`${prefix}-a`);
  const b = env.ca.svid(`${prefix}-b`);
  // Positive control: a valid SVID is accepted and served.
  env.serveX509({ svids: [a] });
  await env.waitForSvid(a.id);

  env.serveRawX509(bad);
  const check = servingCheck(what, badLeaf, [a.id]);
  await env.observeX509(TIMING.observeMs, check);

  env.serveX509({ svids: [b] });
  const deadline = Date.now() + TIMING.barrierMs;
  for (;;) {
    let res: ProbeResult | undefined;
    let error: Error | undefined;
    try {
      res = await env.probeX509();
    } catch (err) {
      error = err as Error;
    }
    if (res?.ids.includes(b.id)) return;
    check(res, error);
    if (Date.now() > deadline) {
      throw new Error(
        `the SDK did not apply the valid update that followed ${what}: ${b.id} not presented within ${TIMING.barrierMs} ms (it presented ${JSON.stringify(res?.ids ?? [])})`,
      );
    }
    await sleep(TIMING.pollMs);
  }
}
