/**
 * The `spire-server federation` and `bundle set|list|count|delete` commands as a transcript:
 * the same commands, in the same order, against either agent's CLI, each with its exit code,
 * stdout and stderr. Texts that come from each side's libraries (Go's JSON and URL errors,
 * SPIRE's SQL datastore) are cut to SPIRE's own words and kept whole in `_raw` members.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverCli, type DiffAgent } from './agents.js';

/** Trust domains only these checks use. */
const FED_WEB = 'fed-web.test';
const FED_SPIFFE = 'fed-spiffe.test';
const FED_SET = 'fed-set.test';

/** One command of a transcript and what it printed. */
export interface Step {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
  _raw?: string;
}

/** Texts of the other side's libraries, cut after SPIRE's own words. */
const LIBRARY_TEXTS: RegExp[] = [
  // SPIRE's SQL datastore error for a second relationship with a trust domain.
  /(msg: "failed to create federation relationship: )(?:[^"\\]|\\.)*(")/g,
  /(failed to parse trust domain: )(?:[^"\\\n]|\\.)*/g,
  /(unable to parse to spiffe bundle: ).*/g,
  /(failed to fetch federated bundle from endpoint: ).*/g,
];

function normalise(text: string): string {
  // SPIRE names its datastore in some messages ("datastore-sql: cannot delete bundle; ...").
  let out = text.replace(/datastore-sql: /g, '');
  for (const re of LIBRARY_TEXTS)
    out = out.replace(re, (_m, head: string, tail: unknown) => `${head}<library text>${typeof tail === 'string' ? tail : ''}`);
  return out;
}

/** Files the transcript reads: a CA certificate (PEM and as a SPIFFE bundle document), and garbage. */
export interface Fixtures {
  dir: string;
  pem: string;
  spiffe: string;
  garbage: string;
  relationships: string;
  remove(): void;
}

/** Writes the fixtures (a fresh self-signed EC CA from openssl). */
export function makeFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'differential-federation-'));
  const pem = join(dir, 'ca.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=federation fixture',
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      pem,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make the fixture CA: ${r.stderr}`);
  const der = Buffer.from(readFileSync(pem, 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const spiffe = join(dir, 'ca.json');
  writeFileSync(spiffe, JSON.stringify({ keys: [{ use: 'x509-svid', kty: 'EC', ...ecMembers(pem), x5c: [der.toString('base64')] }] }));
  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'garbage\n');
  const relationships = join(dir, 'relationships.json');
  writeFileSync(
    relationships,
    JSON.stringify({
      federationRelationships: [
        { trustDomain: 'fed-data-1.test', bundleEndpointURL: 'https://127.0.0.1:1', bundleEndpointProfile: 'https_web' },
        {
          trustDomain: 'fed-data-2.test',
          bundleEndpointURL: 'https://127.0.0.1:2',
          bundleEndpointProfile: 'https_spiffe',
          endpointSPIFFEID: 'spiffe://fed-data-2.test/spire/server',
          trustDomainBundle: readFileSync(pem, 'utf8'),
          trustDomainBundleFormat: 'pem',
        },
      ],
    }),
  );
  return { dir, pem, spiffe, garbage, relationships, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function ecMembers(pemPath: string): { crv: string; x: string; y: string } {
  const jwk = new X509Certificate(readFileSync(pemPath)).publicKey.export({ format: 'jwk' }) as { crv: string; x: string; y: string };
  return { crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** Runs `spire-server <args>` against an agent and records it. */
function step(agent: DiffAgent, args: string[]): Step {
  const [group, sub, ...rest] = args;
  const r = serverCli(agent, [group!, sub!], rest);
  const raw = r.stdout + r.stderr;
  const s: Step = { command: args.join(' '), code: r.code, stdout: normalise(r.stdout), stderr: normalise(r.stderr) };
  if (normalise(raw) !== raw) s._raw = raw;
  return s;
}

/** `federation create|list|show|update|refresh|delete`, with their errors. */
export function federationTranscript(agent: DiffAgent, f: Fixtures): Step[] {
  const web = ['-trustDomain', FED_WEB, '-bundleEndpointURL', 'https://127.0.0.1:1', '-bundleEndpointProfile', 'https_web'];
  const spiffe = [
    '-trustDomain',
    FED_SPIFFE,
    '-bundleEndpointURL',
    'https://127.0.0.1:2',
    '-bundleEndpointProfile',
    'https_spiffe',
    '-endpointSpiffeID',
    `spiffe://${FED_SPIFFE}/spire/server`,
    '-trustDomainBundlePath',
    f.pem,
  ];
  const steps: string[][] = [
    ['federation', 'list'],
    ['federation', 'create'],
    ['federation', 'create', '-trustDomain', FED_WEB],
    ['federation', 'create', '-trustDomain', FED_WEB, '-bundleEndpointURL', 'https://127.0.0.1:1'],
    ['federation', 'create', '-trustDomain', FED_WEB, '-bundleEndpointURL', 'https://127.0.0.1:1', '-bundleEndpointProfile', 'other'],
    [
      'federation',
      'create',
      '-trustDomain',
      FED_WEB,
      '-bundleEndpointURL',
      'https://127.0.0.1:1',
      '-bundleEndpointProfile',
      'https_spiffe',
    ],
    ['federation', 'create', ...web],
    ['federation', 'create', ...web],
    [
      'federation',
      'create',
      '-trustDomain',
      'example.org',
      '-bundleEndpointURL',
      'https://127.0.0.1:1',
      '-bundleEndpointProfile',
      'https_web',
    ],
    [
      'federation',
      'create',
      '-trustDomain',
      'fed-http.test',
      '-bundleEndpointURL',
      'http://127.0.0.1:1',
      '-bundleEndpointProfile',
      'https_web',
    ],
    ['federation', 'create', '-trustDomain', 'Bad TD', '-bundleEndpointURL', 'https://127.0.0.1:1', '-bundleEndpointProfile', 'https_web'],
    [
      'federation',
      'create',
      '-trustDomain',
      'spiffe://fed-prefix.test',
      '-bundleEndpointURL',
      'https://127.0.0.1:1',
      '-bundleEndpointProfile',
      'https_web',
    ],
    ['federation', 'create', ...spiffe, '-output', 'json'],
    [
      'federation',
      'create',
      '-trustDomain',
      'fed-nofile.test',
      '-bundleEndpointURL',
      'https://127.0.0.1:1',
      '-bundleEndpointProfile',
      'https_web',
      '-trustDomainBundlePath',
      join(f.dir, 'absent.pem'),
    ],
    ['federation', 'create', '-data', f.relationships],
    ['federation', 'list'],
    ['federation', 'list', '-output', 'json'],
    ['federation', 'show', '-trustDomain', FED_SPIFFE],
    ['federation', 'show', '-trustDomain', FED_SPIFFE, '-output', 'json'],
    ['federation', 'show'],
    ['federation', 'show', '-trustDomain', 'fed-absent.test'],
    ['federation', 'update', '-trustDomain', FED_WEB, '-bundleEndpointURL', 'https://127.0.0.1:3', '-bundleEndpointProfile', 'https_web'],
    [
      'federation',
      'update',
      '-trustDomain',
      FED_WEB,
      '-bundleEndpointURL',
      'https://127.0.0.1:4',
      '-bundleEndpointProfile',
      'https_web',
      '-output',
      'json',
    ],
    [
      'federation',
      'update',
      '-trustDomain',
      'fed-absent.test',
      '-bundleEndpointURL',
      'https://127.0.0.1:3',
      '-bundleEndpointProfile',
      'https_web',
    ],
    ['federation', 'update', '-trustDomain', FED_WEB],
    ['federation', 'refresh'],
    ['federation', 'refresh', '-id', 'fed-absent.test'],
    ['federation', 'refresh', '-id', FED_WEB],
    ['federation', 'delete', '-id', FED_WEB],
    ['federation', 'delete', '-id', FED_WEB],
    ['federation', 'delete', '-id', 'spiffe://fed-prefix.test', '-output', 'json'],
    ['federation', 'delete'],
    ['federation', 'delete', '-id', FED_SPIFFE],
    ['federation', 'delete', '-id', 'fed-data-1.test'],
    ['federation', 'delete', '-id', 'fed-data-2.test'],
    ['federation', 'list'],
    ['bundle', 'delete', '-id', `spiffe://${FED_SPIFFE}`],
    ['bundle', 'delete', '-id', 'spiffe://fed-data-2.test'],
  ];
  return steps.map((args) => step(agent, args));
}

/** `bundle set|list|count|delete`, with their errors, around an entry that federates with the set bundle. */
export function bundleTranscript(agent: DiffAgent, f: Fixtures, parentId: string, selector: string): { steps: Step[]; countAdded: number } {
  const count = (): number => (JSON.parse(serverCli(agent, ['bundle', 'count'], ['-output', 'json']).stdout) as { count: number }).count;
  const before = count();
  const id = `spiffe://${FED_SET}`;
  const steps: string[][] = [
    ['bundle', 'set', '-path', f.pem],
    ['bundle', 'set', '-id', id, '-path', join(f.dir, 'absent.pem')],
    ['bundle', 'set', '-id', id, '-path', f.pem, '-format', 'xx'],
    ['bundle', 'set', '-id', id, '-path', f.garbage],
    ['bundle', 'set', '-id', id, '-path', f.garbage, '-format', 'spiffe'],
    ['bundle', 'set', '-id', 'spiffe://example.org', '-path', f.pem],
    ['bundle', 'set', '-id', id, '-path', f.pem],
    ['bundle', 'set', '-id', id, '-path', f.spiffe, '-format', 'spiffe', '-output', 'json'],
    ['bundle', 'list', '-id', id],
    ['bundle', 'list', '-id', id, '-format', 'spiffe'],
    ['bundle', 'list', '-id', id, '-output', 'json'],
    ['bundle', 'list', '-id', 'spiffe://fed-absent.test'],
    [
      'entry',
      'create',
      '-entryID',
      'differential-federates',
      '-parentID',
      parentId,
      '-spiffeID',
      'spiffe://example.org/differential/federates',
      '-selector',
      selector,
      '-federatesWith',
      id,
    ],
    ['bundle', 'delete', '-id', id],
    ['entry', 'delete', '-entryID', 'differential-federates'],
    ['bundle', 'delete', '-id', id, '-mode', 'xx'],
    ['bundle', 'delete'],
    ['bundle', 'delete', '-id', 'spiffe://example.org'],
  ];
  const out = steps.map((args) => step(agent, args));
  const countAdded = count() - before;
  const listed = serverCli(agent, ['bundle', 'list'], []).stdout;
  const block = listed.split(/\n(?=\*{40}\n\* )/).find((b) => b.includes(`* ${FED_SET}\n`));
  out.push({ command: `bundle list (the ${FED_SET} block)`, code: 0, stdout: block ?? '(none)', stderr: '' });
  out.push(step(agent, ['bundle', 'delete', '-id', id, '-output', 'json']));
  out.push(step(agent, ['bundle', 'delete', '-id', id]));
  return { steps: out, countAdded };
}
