// SPIFFE Federation between our library and a real SPIRE server (v1.13.3), both ways:
// - our fetcher and watcher read SPIRE's bundle endpoint (https_spiffe), the watcher through a
//   forced X.509 CA rotation (`localauthority x509 prepare / activate / taint / revoke`);
// - SPIRE federates with trust domains whose bundle endpoint is our handler, over https_spiffe
//   (our server presents an X509-SVID) and https_web (a Web PKI certificate; SPIRE trusts the test
//   CA through SSL_CERT_FILE, as Go reads it), and refuses our endpoint under a wrong SPIFFE ID.
//
// The certificates of the other trust domains are minted with the openssl CLI. Without the SPIRE
// binaries the suite is skipped, unless SPIFFE_REQUIRE_SPIRE is set (CI), where their absence is a
// failure.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FederationError, SpiffeBundle, TrustDomain, X509Svid } from '@spiffe-node/spiffe';
import { FederatedBundleSource, bundleEndpointHandler, fetchBundle } from '@spiffe-node/spiffe/federation';
import { createHttpsServer, tlsServerOptions } from '@spiffe-node/spiffe/tls';
import { poll } from '@spiffe-node/test-kit';
import { assertSpireInstalled, describeRun, freePort, run, serverBin, skip, type RunResult } from './support.js';

const TRUST_DOMAIN = TrustDomain.fromString('example.org');
const SPIRE_ENDPOINT_ID = 'spiffe://example.org/spire/server';
const PARTNER = 'partner.org';
const PARTNER_ENDPOINT_ID = 'spiffe://partner.org/bundle-server';
const WEB_PARTNER = 'web-partner.org';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Polls `probe` until it returns a value (not undefined), for at most a minute. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> =>
  poll(what, probe, (value) => value !== undefined, { timeoutMs: 60_000 }) as Promise<T>;

function fingerprintsOf(bundle: SpiffeBundle): string[] {
  return bundle
    .x509Authorities()
    .map((c) => c.fingerprint256)
    .sort();
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('federation with real SPIRE', { timeout: 240_000 }, () => {
  let dir = '';
  let socket = '';
  let bundlePort = 0;
  let spire: ChildProcess | undefined;
  const servers: Server[] = [];
  const sources: FederatedBundleSource[] = [];
  let env: NodeJS.ProcessEnv = {};
  const server = (...args: string[]): Promise<RunResult> => run(serverBin, [...args, '-socketPath', socket], env);
  const openssl = async (...args: string[]): Promise<void> => {
    const result = await run('openssl', args, env);
    assert.equal(result.code, 0, describeRun(`openssl ${args.join(' ')}`, result));
  };

  /** A self-signed CA and a leaf it signs, with the given leaf extensions, minted by openssl. */
  async function mint(
    name: string,
    caSan: string | undefined,
    leafExtensions: string[],
  ): Promise<{ caPem: string; certPem: string; keyPem: string }> {
    const ca = join(dir, `${name}-ca`);
    const leaf = join(dir, `${name}-leaf`);
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-subj',
      `/O=spiffe-node test/CN=${name} root`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ...(caSan ? ['-addext', `subjectAltName=${caSan}`] : []),
    );
    await openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${leaf}.key`,
      '-out',
      `${leaf}.csr`,
      '-subj',
      `/O=spiffe-node test/CN=${name}`,
    );
    await writeFile(`${leaf}.ext`, `${leafExtensions.join('\n')}\n`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${leaf}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${leaf}.pem`,
      '-extfile',
      `${leaf}.ext`,
    );
    return {
      caPem: await readFile(`${ca}.pem`, 'utf8'),
      certPem: await readFile(`${leaf}.pem`, 'utf8'),
      keyPem: await readFile(`${leaf}.key`, 'utf8'),
    };
  }

  let partner: Awaited<ReturnType<typeof mint>>;
  let web: Awaited<ReturnType<typeof mint>>;

  before(async () => {
    if (skip) return;
    assertSpireInstalled();
    dir = await mkdtemp(join(tmpdir(), 'spire-federation-'));
    socket = join(dir, 'api.sock');
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('SPIRE_') && name !== 'SSL_CERT_FILE'),
    );
    env = { ...inherited };
    partner = await mint(PARTNER, 'URI:spiffe://partner.org', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=URI:${PARTNER_ENDPOINT_ID}`,
    ]);
    web = await mint('web', undefined, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost',
    ]);
    // SPIRE trusts the web test CA as if it were a public one (Go reads SSL_CERT_FILE).
    await writeFile(join(dir, 'web-roots.pem'), web.caPem);
    const [serverPort, endpointPort] = [await freePort(), await freePort()];
    bundlePort = endpointPort;
    const conf = join(dir, 'server.conf');
    await writeFile(
      conf,
      `server {
    trust_domain = "example.org"
    bind_address = "127.0.0.1"
    bind_port = "${serverPort}"
    socket_path = "${socket}"
    data_dir = "${join(dir, 'data')}"
    log_level = "INFO"
    ca_ttl = "168h"
    federation {
        bundle_endpoint {
            address = "127.0.0.1"
            port = ${bundlePort}
            refresh_hint = "5s"
            profile "https_spiffe" {}
        }
    }
}
plugins {
    DataStore "sql" {
        plugin_data {
            database_type = "sqlite3"
            connection_string = "${join(dir, 'data', 'datastore.sqlite3')}"
        }
    }
    NodeAttestor "join_token" {
        plugin_data {}
    }
    KeyManager "memory" {
        plugin_data {}
    }
}
`,
    );
    spire = spawn(serverBin, ['run', '-config', conf], {
      env: { ...env, SSL_CERT_FILE: join(dir, 'web-roots.pem') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    spire.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    });
    await waitFor(`spire-server to become healthy (its log so far:\n${log})`, async () =>
      (await server('healthcheck')).stdout.includes('Server is healthy.') ? true : undefined,
    );
  });

  after(async () => {
    for (const source of sources) await source.close();
    for (const s of servers) s.close();
    if (spire && spire.exitCode === null && spire.pid !== undefined) {
      const exited = once(spire, 'exit');
      process.kill(spire.pid, 'SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const spireBundle = async (): Promise<SpiffeBundle> => {
    const shown = await server('bundle', 'show', '-format', 'spiffe');
    assert.equal(shown.code, 0, describeRun('spire-server bundle show', shown));
    return SpiffeBundle.parse(TRUST_DOMAIN, shown.stdout);
  };
  const spireEndpoint = (bundleSource: SpiffeBundle | FederatedBundleSource, endpointId = SPIRE_ENDPOINT_ID) => ({
    trustDomain: TRUST_DOMAIN,
    url: `https://127.0.0.1:${bundlePort}`,
    profile: { type: 'https_spiffe' as const, endpointId, bundleSource },
  });

  test("our fetcher reads SPIRE's bundle endpoint over https_spiffe, and refuses a wrong endpoint ID", { skip }, async () => {
    const bootstrap = await spireBundle();
    const fetched = await fetchBundle(spireEndpoint(bootstrap));
    assert.deepEqual(fingerprintsOf(fetched), fingerprintsOf(bootstrap));
    assert.deepEqual([...fetched.jwtAuthorities().keys()].sort(), [...bootstrap.jwtAuthorities().keys()].sort());
    assert.equal(fetched.refreshHint, 5);
    assert.equal(fetched.sequenceNumber, bootstrap.sequenceNumber);

    const refused = await fetchBundle(spireEndpoint(bootstrap, 'spiffe://example.org/not-spire')).then(
      () => assert.fail('expected a rejection'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof FederationError);
    assert.equal(refused.code, 'ERR_FEDERATION_ENDPOINT_REJECTED');
  });

  interface Authorities {
    prepared?: { authority_id: string };
    old?: { authority_id: string };
  }
  const localAuthority = async (kind: 'x509' | 'jwt'): Promise<Authorities> => {
    const shown = await server('localauthority', kind, 'show', '-output', 'json');
    assert.equal(shown.code, 0, describeRun(`localauthority ${kind} show`, shown));
    return JSON.parse(shown.stdout) as Authorities;
  };
  const localAuthorityStep = async (kind: 'x509' | 'jwt', ...args: string[]): Promise<void> => {
    const result = await server('localauthority', kind, ...args);
    assert.equal(result.code, 0, describeRun(`localauthority ${kind} ${args.join(' ')}`, result));
  };
  const watchSpire = async (): Promise<FederatedBundleSource> => {
    const watcher = await FederatedBundleSource.create(spireEndpoint(await spireBundle()), {
      minRefreshMs: 200,
      maxRefreshMs: 1000,
      retryMs: 200,
      logger: quiet,
    });
    sources.push(watcher);
    return watcher;
  };

  test("our watcher follows SPIRE's bundle endpoint through an X.509 CA rotation", { skip }, async () => {
    const bootstrap = await spireBundle();
    const watcher = await watchSpire();
    const authority = () => localAuthority('x509');
    const step = (...args: string[]) => localAuthorityStep('x509', ...args);

    await step('prepare');
    await waitFor('the prepared CA in the watched bundle', () => (watcher.getBundle().x509Authorities().length === 2 ? true : undefined));
    const prepared = (await authority()).prepared?.authority_id;
    assert.ok(prepared, 'no prepared authority');
    await step('activate', '-authorityID', prepared);
    const old = (await authority()).old?.authority_id;
    assert.ok(old, 'no old authority after activate');
    await step('taint', '-authorityID', old);
    await step('revoke', '-authorityID', old);

    // SPIRE's bundle now holds only the new CA; the watcher follows, verifying the endpoint (whose
    // SVID SPIRE re-signed with the new CA) with the bundle it fetched last.
    const rotated = await spireBundle();
    assert.equal(rotated.x509Authorities().length, 1);
    await waitFor('the rotated bundle in the watcher', () =>
      fingerprintsOf(watcher.getBundle()).join() === fingerprintsOf(rotated).join() ? true : undefined,
    );

    // Once SPIRE presents an SVID from the new CA, the bootstrap bundle no longer authenticates
    // it, while the watcher's bundle does: the rotation went through the endpoint itself.
    await waitFor(
      'the endpoint SVID from the new CA',
      async () =>
        (await fetchBundle(spireEndpoint(bootstrap)).then(
          () => undefined,
          (err: unknown) => err,
        )) as FederationError | undefined,
    ).then((err) => assert.equal(err.code, 'ERR_FEDERATION_ENDPOINT_REJECTED'));
    const throughWatcher = await fetchBundle(spireEndpoint(watcher));
    assert.deepEqual(fingerprintsOf(throughWatcher), fingerprintsOf(rotated));
  });

  test("our watcher follows SPIRE's JWT authority rotation", { skip }, async () => {
    const watcher = await watchSpire();
    const kids = (bundle: SpiffeBundle): string => [...bundle.jwtAuthorities().keys()].sort().join();
    await localAuthorityStep('jwt', 'prepare');
    const prepared = await spireBundle();
    assert.equal(prepared.jwtAuthorities().size, 2);
    await waitFor('the prepared JWT key in the watched bundle', () => (kids(watcher.getBundle()) === kids(prepared) ? true : undefined));
    const next = (await localAuthority('jwt')).prepared?.authority_id;
    assert.ok(next, 'no prepared JWT authority');
    await localAuthorityStep('jwt', 'activate', '-authorityID', next);
    const old = (await localAuthority('jwt')).old?.authority_id;
    assert.ok(old, 'no old JWT authority after activate');
    await localAuthorityStep('jwt', 'taint', '-authorityID', old);
    await localAuthorityStep('jwt', 'revoke', '-authorityID', old);
    const rotated = await spireBundle();
    assert.equal(rotated.jwtAuthorities().size, 1);
    await waitFor('the rotated JWT keys in the watcher', () => (kids(watcher.getBundle()) === kids(rotated) ? true : undefined));
  });

  const partnerBundle = (): SpiffeBundle => {
    const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    return new SpiffeBundle(TrustDomain.fromString(PARTNER), {
      x509Authorities: [new X509Certificate(partner.caPem)],
      jwtAuthorities: new Map([['partner-kid-1', jwtKey]]),
    });
  };

  /** The bundle SPIRE holds for a federated trust domain, once it holds one with `kid`. */
  const federatedBundle = (td: string, kid: string) =>
    waitFor(`SPIRE's bundle of ${td} with key ${kid}`, async () => {
      const listed = await server('bundle', 'list', '-format', 'spiffe', '-id', `spiffe://${td}`);
      if (listed.code !== 0) return undefined;
      const bundle = SpiffeBundle.parse(TrustDomain.fromString(td), listed.stdout);
      return bundle.findJwtAuthority(kid) ? bundle : undefined;
    });

  test('SPIRE federates with our handler over https_spiffe', { skip }, async () => {
    const served = partnerBundle();
    const svid = X509Svid.parse(partner.certPem, partner.keyPem);
    let requests = 0;
    const handler = bundleEndpointHandler(served, PARTNER);
    const endpoint = createHttpsServer(tlsServerOptions(svid), (req, res) => {
      requests++;
      handler(req, res);
    });
    servers.push(endpoint);
    const port = await listen(endpoint);
    // The bootstrap bundle SPIRE is given: the CA only, without the JWT key our endpoint serves.
    const bootstrap = join(dir, 'partner-bootstrap.json');
    await writeFile(bootstrap, new SpiffeBundle(TrustDomain.fromString(PARTNER), { x509Authorities: served.x509Authorities() }).marshal());
    const created = await server(
      'federation',
      'create',
      '-trustDomain',
      PARTNER,
      '-bundleEndpointURL',
      `https://127.0.0.1:${port}`,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      PARTNER_ENDPOINT_ID,
      '-trustDomainBundlePath',
      bootstrap,
      '-trustDomainBundleFormat',
      'spiffe',
    );
    assert.equal(created.code, 0, describeRun('federation create', created));
    const refreshed = await server('federation', 'refresh', '-id', PARTNER);
    assert.equal(refreshed.code, 0, describeRun('federation refresh', refreshed));
    const held = await federatedBundle(PARTNER, 'partner-kid-1');
    assert.deepEqual(fingerprintsOf(held), fingerprintsOf(served));
    assert.equal(held.refreshHint, 300);
    assert.ok(requests > 0);
  });

  test('SPIRE federates with our handler over https_web', { skip }, async () => {
    const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const served = new SpiffeBundle(TrustDomain.fromString(WEB_PARTNER), {
      x509Authorities: [new X509Certificate(web.caPem)],
      jwtAuthorities: new Map([['web-kid-1', jwtKey]]),
    });
    const endpoint = https.createServer(
      { cert: web.certPem, key: web.keyPem },
      bundleEndpointHandler(served, WEB_PARTNER, { path: '/bundle.json' }),
    );
    servers.push(endpoint);
    const port = await listen(endpoint);
    const created = await server(
      'federation',
      'create',
      '-trustDomain',
      WEB_PARTNER,
      '-bundleEndpointURL',
      `https://localhost:${port}/bundle.json`,
      '-bundleEndpointProfile',
      'https_web',
    );
    assert.equal(created.code, 0, describeRun('federation create', created));
    const refreshed = await server('federation', 'refresh', '-id', WEB_PARTNER);
    assert.equal(refreshed.code, 0, describeRun('federation refresh', refreshed));
    const held = await federatedBundle(WEB_PARTNER, 'web-kid-1');
    assert.deepEqual(fingerprintsOf(held), fingerprintsOf(served));
  });

  test('SPIRE refuses our endpoint when it expects another SPIFFE ID', { skip }, async () => {
    const svid = X509Svid.parse(partner.certPem, partner.keyPem);
    const endpoint = createHttpsServer(tlsServerOptions(svid), bundleEndpointHandler(partnerBundle(), PARTNER));
    servers.push(endpoint);
    const port = await listen(endpoint);
    const other = 'impostor.org';
    // SPIRE holds partner.org's bundle, so our endpoint's SVID verifies; then it wants this exact ID.
    const bundleFile = join(dir, 'partner-ca.json');
    await writeFile(
      bundleFile,
      new SpiffeBundle(TrustDomain.fromString(PARTNER), { x509Authorities: [new X509Certificate(partner.caPem)] }).marshal(),
    );
    const set = await server('bundle', 'set', '-format', 'spiffe', '-id', `spiffe://${PARTNER}`, '-path', bundleFile);
    assert.equal(set.code, 0, describeRun('bundle set', set));
    const created = await server(
      'federation',
      'create',
      '-trustDomain',
      other,
      '-bundleEndpointURL',
      `https://127.0.0.1:${port}`,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      'spiffe://partner.org/someone-else',
    );
    assert.equal(created.code, 0, describeRun('federation create', created));
    const refreshed = await server('federation', 'refresh', '-id', other);
    assert.notEqual(refreshed.code, 0, describeRun('federation refresh (expected to fail)', refreshed));
    assert.match(
      refreshed.stderr + refreshed.stdout,
      /unexpected ID "spiffe:\/\/partner\.org\/bundle-server"/,
      describeRun('federation refresh', refreshed),
    );
    const listed = await server('bundle', 'list', '-format', 'spiffe', '-id', `spiffe://${other}`);
    assert.notEqual(listed.code, 0, describeRun('bundle list (no bundle expected)', listed));
  });
});
