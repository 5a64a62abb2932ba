/**
 * JWT-SVID validation in a process of its own, as the server workload: a JwtSource from the dev
 * agent (the server's identity socket) for `parseAndValidateJwtSvid`, and jose.jwtVerify with
 * the same key imported once from that source's bundle.
 *
 * Commands: `setup` `{ token, tokens }` (checks every way validates them), `run`
 * `{ impl: 'ours' | 'jose', distinct: boolean, ms }` → `{ ops, ns, cpu_ns }` (wall-clock and
 * process CPU time of the loop).
 */
import { importJWK, jwtVerify, decodeProtectedHeader, type CryptoKey, type JWK } from 'jose';
import { JwtSource, TrustDomain, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
import { flag, reply, serveCommands } from '../lib/worker-io.js';

const audience = flag('audience');
const audiences = [audience];
const source = await JwtSource.create({ address: flag('socket') });
let token = '';
let tokens: string[] = [];
let joseKey: CryptoKey | Uint8Array | undefined;
let alg = '';

reply({ event: 'ready', pid: process.pid });

async function setup(command: { token: string; tokens: string[] }): Promise<Record<string, unknown>> {
  token = command.token;
  tokens = command.tokens;
  const header = decodeProtectedHeader(token);
  alg = String(header.alg);
  const jwks = JSON.parse(source.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org')).marshal()) as { keys: JWK[] };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (jwk === undefined) throw new Error(`no key ${header.kid} in the JWT bundle`);
  joseKey = await importJWK(jwk, alg);
  for (const t of [token, ...tokens]) {
    await parseAndValidateJwtSvid(t, source, audiences);
    await jwtVerify(t, joseKey, { audience, algorithms: [alg] });
  }
  return { alg, kid: header.kid, tokens: tokens.length };
}

async function run(impl: string, distinct: boolean, ms: number): Promise<Record<string, unknown>> {
  const key = joseKey as CryptoKey;
  const list = distinct ? tokens : [token];
  const n = list.length;
  let i = 0;
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  for (;;) {
    if (impl === 'ours') {
      for (let k = 0; k < 64; k++) await parseAndValidateJwtSvid(list[i++ % n] as string, source, audiences);
    } else {
      for (let k = 0; k < 64; k++) await jwtVerify(list[i++ % n] as string, key, { audience, algorithms: [alg] });
    }
    ops += 64;
    if (process.hrtime.bigint() - start >= budget) break;
  }
  const ns = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpu0);
  return { ops, ns, cpu_ns: (cpu.user + cpu.system) * 1000 };
}

serveCommands(
  async (command) => {
    if (command.cmd === 'setup') return setup(command as { token: string; tokens: string[] });
    if (command.cmd === 'run') return run(String(command.impl), command.distinct === true, Number(command.ms));
    throw new Error(`unknown command ${command.cmd}`);
  },
  () => source.close(),
);
