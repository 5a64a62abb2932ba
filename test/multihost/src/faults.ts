/**
 * Faults across hosts with the apps under load. Two https-mtls servers run on a-host1 (one for
 * spiffe://example.org/client, one for spiffe://partner.org/client); a load client on a-host2 (A)
 * and one on b-host (B, across the federation) call them without pause, a new TLS handshake per
 * request. Each phase does one fault to the SPIRE side, checks that SPIRE really was affected
 * and recovered (a new entry reaches an agent, or not while it is cut off), and counts the
 * requests and failures of both loads during the phase. Every fault here is one SPIFFE's design
 * rides out (the workloads keep their SVIDs and bundles while the control plane is away), so
 * each phase expects 0 failed requests; deploy/README.md section 10 lists the faults that cannot.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_USER, SERVER_USER, startWorkload, type Check, type ScenarioResult, type Workload } from '@spiffe-node/harness';
import { REFRESH_HINT_SECONDS, rotateJwtAuthorities, rotateX509Authorities } from './ca-rotation.js';
import { A_CLIENT_ID, A_SERVER_ID, B_CLIENT_ID, type MultihostContext } from './scenarios.js';
import type { HostName } from './topology.js';

/**
 * Why `tc qdisc … netem` failed, from the running kernel's configuration (/proc/config.gz) when it
 * exposes one: sch_netem not built, and whether it could be loaded as a module at all.
 */
function netemAbsence(): string {
  let config: string;
  try {
    config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    return `tc netem failed on Linux ${release()} (no /proc/config.gz to say why)`;
  }
  const value = (name: string): string => new RegExp(`^${name}=(\\S+)$`, 'm').exec(config)?.[1] ?? 'not set';
  return `Linux ${release()} is built without sch_netem (CONFIG_NET_SCH_NETEM ${value('CONFIG_NET_SCH_NETEM')}) and ${value('CONFIG_MODULES') === 'y' ? 'the module is not installed' : 'cannot load modules (CONFIG_MODULES not set)'}`;
}

/** The X509-SVID TTL of the SVID rotation phase (the first one). */
const ROTATION_TTL_SECONDS = 20;
/**
 * How long after an entry update both example.org servers' entry caches hold it (each server
 * reloads its cache from the datastore every 5 s, `experimental.cache_reload_interval`), plus an
 * agent sync (5 s) and some slack.
 */
const SERVER_CACHE_SETTLE_MS = 15_000;

const SERVER_HOST: HostName = 'a-host1';
const A_SERVERS = ['a-server', 'a-server2'] as const;

interface Load {
  name: string;
  workload: Workload;
}

/** The last `progress` figures a load printed among its first `upTo` lines. */
function progressAt(load: Load, upTo: number): { requests: number; failed: number } {
  for (let i = Math.min(upTo, load.workload.lines.length) - 1; i >= 0; i--) {
    const m = /^(?:progress|done) requests=(\d+) failed=(\d+)$/.exec(load.workload.lines[i]!.line);
    if (m) return { requests: Number(m[1]), failed: Number(m[2]) };
  }
  return { requests: 0, failed: 0 };
}

/** One phase: a fault, what it checks about SPIRE, and the loads' figures while it lasted. */
class Phase {
  readonly checks: Check[] = [];
  readonly #marks: number[];
  constructor(
    readonly name: string,
    readonly loads: Load[],
  ) {
    this.#marks = loads.map((l) => l.workload.lines.length);
  }

  check(what: string, ok: boolean): void {
    this.checks.push({ what, ok });
  }

  /** Checks each load: requests went on during the phase, and none failed. */
  finish(): ScenarioResult {
    const outputs: ScenarioResult['outputs'] = [];
    this.loads.forEach((load, i) => {
      const end = load.workload.lines.length;
      const before = progressAt(load, this.#marks[i]!);
      const after = progressAt(load, end);
      const failures = load.workload.lines.slice(this.#marks[i], end).filter((l) => l.line.startsWith('failed: '));
      const requests = after.requests - before.requests;
      this.check(`${load.name}: requests went on during the fault (${requests})`, requests > 0);
      this.check(`${load.name}: 0 failed requests (${failures.length} failed)`, failures.length === 0 && after.failed === before.failed);
      if (failures.length > 0) outputs.push({ name: load.name, output: failures.map((l) => l.line).join('\n') });
    });
    return { name: this.name, checks: this.checks, outputs, ok: this.checks.length > 0 && this.checks.every((c) => c.ok) };
  }
}

async function until(test: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

let probes = 0;

/**
 * Registers a new workload entry through `server` for client-workload on a-host1 (a user with no
 * entry there), so that it reaches a workload only through an agent's sync with a server.
 */
async function registerProbe(ctx: MultihostContext, server: (typeof A_SERVERS)[number]): Promise<string> {
  const id = `spiffe://example.org/probe-${++probes}`;
  await ctx.topology.serverCli(
    server,
    ['entry', 'create'],
    ['-parentID', 'spiffe://example.org/host/a-host1', '-spiffeID', id, '-selector', `unix:user:${CLIENT_USER}`],
  );
  return id;
}

async function probeArrived(ctx: MultihostContext, id: string): Promise<boolean> {
  const out = await ctx.topology.fetchX509('a-host1', CLIENT_USER);
  return out !== undefined && out.includes(`SPIFFE ID:\t\t${id}\n`);
}

/** Re-registers the entry of `id` (same parent, selector and federation) with an X509-SVID TTL. */
async function setTtl(ctx: MultihostContext, id: string, parentId: string, user: string, ttlSeconds: number): Promise<void> {
  const shown = await ctx.topology.serverCli('a-server', ['entry', 'show'], ['-spiffeID', id]);
  const entryId = /^Entry ID\s*:\s*(\S+)/m.exec(shown)?.[1];
  if (!entryId) throw new Error(`no entry for ${id} on a-server:\n${shown}`);
  await ctx.topology.serverCli(
    'a-server',
    ['entry', 'update'],
    [
      '-entryID',
      entryId,
      '-parentID',
      parentId,
      '-spiffeID',
      id,
      '-selector',
      `unix:user:${user}`,
      '-federatesWith',
      'partner.org',
      '-x509SVIDTTL',
      String(ttlSeconds),
    ],
  );
}

/** A time as `spire-agent api fetch x509` prints it (Go's default format), in ms since the epoch. */
function goTime(text: string | undefined): number {
  const m = text && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d)(\d\d)/.exec(text);
  return m ? Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`) : NaN;
}

/** The "SVID Valid After" of the first SVID of `user` on `host`, and that SVID's lifetime. */
async function svidIssued(
  ctx: MultihostContext,
  host: HostName,
  user: string,
): Promise<{ after: string; lifetimeSeconds: number } | undefined> {
  const out = await ctx.topology.fetchX509(host, user);
  const after = out && /SVID Valid After:\s*(.+)/.exec(out)?.[1];
  if (!out || !after) return undefined;
  return { after, lifetimeSeconds: (goTime(/SVID Valid Until:\s*(.+)/.exec(out)?.[1]) - goTime(after)) / 1000 };
}

function workload(ctx: MultihostContext, name: string, host: HostName, user: string, script: string, args: string[]): Workload {
  const where = ctx.topology.hosts[host];
  return startWorkload({
    name: `${name}@${host}`,
    command: process.execPath,
    args: [script, ...args],
    user,
    netns: where.netns,
    env: { SPIFFE_ENDPOINT_SOCKET: `unix://${where.socketPath}` },
    onLine: ctx.onLine ? (line) => ctx.onLine!(`${name}@${host}`, line) : undefined,
  });
}

/** The fault phases, in order. A phase undoes its fault in `finally`, whatever happened. */
const PHASES: Array<{ name: string; run: (ctx: MultihostContext, p: Phase) => Promise<void> }> = [
  {
    name: `X509-SVID rotation on SPIRE: the server's and the client's entries get a ${ROTATION_TTL_SECONDS} s TTL, their SVIDs are reissued and renewed`,
    async run(ctx, p) {
      // Updating an entry makes the agent issue a new SVID at its next sync (rotation 1); the
      // short TTL then makes it renew that one at half its lifetime (rotation 2, 3, ...).
      const pairs = [
        { host: SERVER_HOST, user: SERVER_USER, id: A_SERVER_ID },
        { host: 'a-host2' as const, user: CLIENT_USER, id: A_CLIENT_ID },
      ];
      // The SVIDs of the short TTL each workload was seen with ("Valid After"; SPIRE backdates it 10 s).
      const seen = pairs.map(() => new Set<string>());
      const isShort = (svid: { lifetimeSeconds: number }): boolean => svid.lifetimeSeconds <= ROTATION_TTL_SECONDS + 15;
      let unanswered = 0;
      const load = p.loads[0]!.workload;
      const loadMark = load.lines.length;
      const updatedAt = pairs.map(() => 0);
      const reapplied = pairs.map(() => 0);
      const update = async (i: number): Promise<void> => {
        const w = pairs[i]!;
        await setTtl(ctx, w.id, `spiffe://example.org/host/${w.host}`, w.user, ROTATION_TTL_SECONDS);
        updatedAt[i] = Date.now();
      };
      for (const i of pairs.keys()) await update(i);
      try {
        // Both are watched at once through the agent's CLI; a renewal is a "Valid After" not seen before.
        await until(async () => {
          const now = await Promise.all(pairs.map((w) => svidIssued(ctx, w.host, w.user)));
          for (const [i, svid] of now.entries()) {
            if (svid === undefined) unanswered++;
            else if (isShort(svid)) seen[i]!.add(svid.after);
            else if (seen[i]!.size === 0 && Date.now() - updatedAt[i]! > SERVER_CACHE_SETTLE_MS && reapplied[i]! < 3) {
              // In SPIRE HA each server answers from its own entry cache, refreshed from the
              // datastore every few seconds. The agent can learn the updated entry from one server
              // and have its SVID signed by the other, whose cache still has the old TTL; it then
              // takes that SVID as current and asks no more. Updating the entry again, once both
              // caches hold the first update, gets an SVID of the new TTL (spiffe/spire#6011 is
              // the same split seen from the other side).
              reapplied[i]!++;
              await update(i);
            }
          }
          return seen.every((s) => s.size >= 2);
        }, ROTATION_TTL_SECONDS * 4500);
        pairs.forEach((w, i) => {
          const again = reapplied[i] ? `; the entry updated ${reapplied[i]} more time(s) after an SVID of the old TTL` : '';
          p.check(
            `${w.id} on ${w.host}: an SVID of ${ROTATION_TTL_SECONDS} s, then renewed (spire-agent api fetch x509 saw ${[...seen[i]!].join(', ') || 'none'}; ${unanswered} fetches unanswered${again})`,
            seen[i]!.size >= 2,
          );
        });
        // The client's renewals as the load client itself took them in.
        const renewedInLoad = load.lines.slice(loadMark).filter((l) => l.line.startsWith(`svid ${A_CLIENT_ID} `)).length;
        p.check(`load A's own X509Source took in ${renewedInLoad} renewed SVIDs (at least 2)`, renewedInLoad >= 2);
        // A few more seconds of load on the new SVIDs.
        await sleep(2_000);
      } finally {
        // Back to the default TTL: the faults that follow cut SPIRE off for longer than 20 s allows.
        for (const w of pairs) await setTtl(ctx, w.id, `spiffe://example.org/host/${w.host}`, w.user, 3600).catch(() => undefined);
      }
    },
  },
  {
    name: `forced X.509 CA rotation on both example.org servers (localauthority x509 prepare / activate / taint / revoke); partner.org follows within the ${REFRESH_HINT_SECONDS} s refresh hint`,
    run: rotateX509Authorities,
  },
  {
    name: `forced JWT key rotation on both example.org servers (localauthority jwt prepare / activate / taint / revoke); partner.org follows within the ${REFRESH_HINT_SECONDS} s refresh hint`,
    run: rotateJwtAuthorities,
  },
  {
    name: 'HA: spire-server 1 of example.org killed (SIGKILL); agents go on through spire-server 2',
    async run(ctx, p) {
      await ctx.topology.fault('server-kill', 'a-server');
      try {
        const id = await registerProbe(ctx, 'a-server2');
        p.check(`an entry created on a-server2 reaches a-host1's agent (${id})`, await until(() => probeArrived(ctx, id), 45_000));
      } finally {
        await ctx.topology.fault('server-start', 'a-server');
      }
    },
  },
  {
    name: "link: spire-server 2's cable pulled (ip link down), agents go on through spire-server 1, cable back",
    async run(ctx, p) {
      await ctx.topology.fault('link-down', 'a-server2');
      try {
        const id = await registerProbe(ctx, 'a-server');
        p.check(`with a-server2 off the network an entry reaches a-host1 (${id})`, await until(() => probeArrived(ctx, id), 45_000));
      } finally {
        await ctx.topology.fault('link-up', 'a-server2');
      }
    },
  },
  {
    name: 'link: the agents of a-host1 and a-host2 cut off from both example.org servers for 8 s, then reconnected',
    async run(ctx, p) {
      // Every packet the agent hosts send to the servers is dropped (blackhole routes): the
      // agent-server link is cut while the apps' traffic between the hosts goes on.
      const hosts = ['a-host1', 'a-host2'] as const;
      for (const h of hosts) await ctx.topology.fault('cut-servers', h);
      let restored = false;
      try {
        const id = await registerProbe(ctx, 'a-server');
        await sleep(8_000);
        p.check('while cut off, a new entry does not reach a-host1 (the cut is real)', !(await probeArrived(ctx, id)));
        for (const h of hosts) await ctx.topology.fault('restore-servers', h);
        restored = true;
        p.check(`reconnected, the entry reaches a-host1 (${id})`, await until(() => probeArrived(ctx, id), 45_000));
      } finally {
        if (!restored) for (const h of hosts) await ctx.topology.fault('restore-servers', h).catch(() => undefined);
      }
    },
  },
  {
    name: 'degraded links on both example.org servers: 30% loss and 200 ms delay (tc netem), or where the kernel has no sch_netem, 30% loss (nftables) and a 256 kbit/s tbf',
    async run(ctx, p) {
      const undo: Array<() => Promise<void>> = [];
      let applied = 'tc netem loss 30% delay 200ms';
      try {
        for (const s of A_SERVERS) {
          try {
            await ctx.topology.fault('netem', s, 'loss 30% delay 200ms');
            undo.push(() => ctx.topology.fault('netem', s, 'clear'));
          } catch {
            // The kernel's own account of why, when it has one; then the closest this kernel does.
            applied = `30% loss by nftables (numgen random) and tc tbf rate 256kbit burst 16kb latency 400ms, because ${netemAbsence()}`;
            await ctx.topology.fault('loss', s, '30');
            undo.push(() => ctx.topology.fault('loss', s, 'clear'));
            await ctx.topology.fault('throttle', s, 'rate 256kbit burst 16kb latency 400ms');
            undo.push(() => ctx.topology.fault('throttle', s, 'clear'));
          }
        }
        const id = await registerProbe(ctx, 'a-server');
        p.check(`through links with ${applied}, an entry reaches a-host1 (${id})`, await until(() => probeArrived(ctx, id), 60_000));
      } finally {
        for (const u of undo) await u().catch(() => undefined);
      }
    },
  },
  {
    name: 'server restart: both example.org servers stopped (SIGTERM) and started again',
    async run(ctx, p) {
      try {
        for (const s of A_SERVERS) await ctx.topology.fault('server-stop', s);
        await sleep(2_000);
      } finally {
        for (const s of A_SERVERS) await ctx.topology.fault('server-start', s).catch(() => undefined);
      }
      const id = await registerProbe(ctx, 'a-server');
      p.check(`after the restart an entry reaches a-host1 (${id})`, await until(() => probeArrived(ctx, id), 45_000));
    },
  },
  {
    name: 'agent restart: the agents of a-host1 (servers) and a-host2 (client) stopped and started again',
    async run(ctx, p) {
      for (const host of ['a-host1', 'a-host2'] as const) {
        try {
          await ctx.topology.fault('agent-stop', host);
          await sleep(1_000);
        } finally {
          await ctx.topology.fault('agent-start', host);
        }
      }
      const id = await registerProbe(ctx, 'a-server');
      p.check(`after the restart an entry reaches a-host1 (${id})`, await until(() => probeArrived(ctx, id), 45_000));
    },
  },
];

/** The names of the fault phases, known before they run (for the test's names). */
export const FAULT_PHASE_NAMES = PHASES.map((p) => p.name);

/** Starts the servers and the loads, runs every phase, stops them; one result per phase. */
export async function runFaults(
  ctx: MultihostContext,
  onResult?: (r: ScenarioResult) => void,
  shouldStop = (): boolean => false,
  only: (name: string) => boolean = () => true,
): Promise<ScenarioResult[]> {
  const address = ctx.topology.hosts[SERVER_HOST].address;
  const httpsServer = join(ctx.root, 'apps', 'https-mtls', 'dist', 'server.js');
  const loadScript = join(ctx.root, 'test', 'multihost', 'dist', 'load.js');
  const started: Workload[] = [];
  const results: ScenarioResult[] = [];
  try {
    const servers = [
      { port: '8443', client: A_CLIENT_ID },
      { port: '8444', client: B_CLIENT_ID },
    ].map(({ port, client }) =>
      workload(ctx, `https-mtls/server:${port}`, SERVER_HOST, SERVER_USER, httpsServer, [
        '--host',
        address,
        '--port',
        port,
        '--client-id',
        client,
      ]),
    );
    started.push(...servers);
    await Promise.all(servers.map((s) => s.waitForLine(/^Server listening/, 30_000)));
    const loads: Load[] = [
      {
        name: 'load A (a-host2 -> a-host1)',
        workload: workload(ctx, 'load-a', 'a-host2', CLIENT_USER, loadScript, [
          '--url',
          `https://${address}:8443/`,
          '--server-id',
          A_SERVER_ID,
        ]),
      },
      {
        name: 'load A<->B (b-host -> a-host1)',
        workload: workload(ctx, 'load-b', 'b-host', CLIENT_USER, loadScript, [
          '--url',
          `https://${address}:8444/`,
          '--server-id',
          A_SERVER_ID,
        ]),
      },
    ];
    started.push(...loads.map((l) => l.workload));
    await Promise.all(loads.map((l) => l.workload.waitForLine(/^progress requests=[1-9]/, 30_000)));
    for (const phase of PHASES) {
      if (shouldStop()) break;
      if (!only(phase.name)) continue;
      const p = new Phase(phase.name, loads);
      try {
        await phase.run(ctx, p);
      } catch (err) {
        p.check(`the fault ran: ${err instanceof Error ? err.message : String(err)}`, false);
      }
      // Let the loads report the last requests of the phase.
      await sleep(1_000);
      const result = p.finish();
      results.push(result);
      onResult?.(result);
    }
    return results;
  } finally {
    await Promise.all(started.map((w) => w.stop()));
  }
}
