// The mTLS diagnostics server of a Node.js mTLS tutorial (its server-mtls.js): it asks every client
// for a certificate, lets every handshake through, and answers each request with whether the client
// certificate is valid and, when it is not, why: {"mTLSValid": false, "reason": "<CODE>", "detail":
// "..."}.
//
//   node dist/server.js --cert server.pem --key server.key [--root-ca client-ca.pem]   (plain mode)
//   node dist/server.js --svid-dir /tmp/server-svids [--authorize-id spiffe://example.org/client]
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  SpiffeId,
  TrustDomain,
  authorizeMatch,
  authorizeMemberOf,
  authorizeOneOf,
  type Authorizer,
  type X509Svid,
} from '@spiffe-node/spiffe';
import { fileX509Source, type FileX509Source } from '@spiffe-node/spiffe/files';
import { formatVerdict, rootCaVerdict, spiffeVerdict, type AuthorizerKind, type Verdict } from './diagnose.js';
import { SERVER_USAGE, UsageError, parseServerArgs, type ServerOptions } from './options.js';
import { findSvidFiles } from './svid-dir.js';

function spiffeAuthorizer(options: ServerOptions, own: TrustDomain): { authorizer: Authorizer; kind: AuthorizerKind; text: string } {
  if (options.authorizeIds.length > 0) {
    const ids = options.authorizeIds.map((id) => SpiffeId.fromString(id));
    return { authorizer: authorizeOneOf(...ids), kind: 'id', text: ids.join(', ') };
  }
  const tds = (options.authorizeTds.length > 0 ? options.authorizeTds : [own.name]).map((td) => TrustDomain.fromString(td));
  const authorizer =
    tds.length === 1 ? authorizeMemberOf(tds[0] as TrustDomain) : authorizeMatch((id) => tds.some((td) => id.memberOf(td)));
  return { authorizer, kind: 'trust-domain', text: `members of ${tds.map((td) => td.name).join(', ')}` };
}

/** TLS options from the file source: its SVID, and every bundle authority as Node's CA list. */
function spiffeContext(source: FileX509Source): { cert: string; key: string; ca: string[] } {
  const { certificates, privateKey } = source.getX509Svid().marshal();
  const ca = source.x509Bundles().flatMap((b) => b.authorities().map((c) => c.toString()));
  return { cert: certificates, key: privateKey, ca };
}

function startServer(options: ServerOptions): https.Server {
  let verdict: (socket: TLSSocket) => Verdict;
  let tls: https.ServerOptions;
  let close = (): void => {};
  if (options.mode === 'spiffe') {
    const files =
      options.svidDir !== undefined
        ? findSvidFiles(options.svidDir)
        : {
            certFile: options.cert as string,
            keyFile: options.key as string,
            bundleFile: options.bundle as string,
            federatedBundleFiles: {},
          };
    const source = fileX509Source({ ...files, watch: true });
    const { authorizer, kind, text } = spiffeAuthorizer(options, source.trustDomain);
    verdict = (socket) => spiffeVerdict(socket, source, authorizer, kind);
    tls = spiffeContext(source);
    source.on('update', (svid: X509Svid) => {
      server.setSecureContext({ ...spiffeContext(source), minVersion: 'TLSv1.2' });
      console.log(`SVID files changed: now serving ${svid.id} (valid until ${svid.expiresAt.toISOString()})`);
    });
    close = () => void source.close();
    console.log(`Serving as ${source.getX509Svid().id}; accepting ${text}`);
  } else {
    const ca = options.rootCas.map((f) => readFileSync(f));
    tls = { cert: readFileSync(options.cert as string), key: readFileSync(options.key as string), ...(ca.length > 0 ? { ca } : {}) };
    verdict = rootCaVerdict;
  }
  const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${formatVerdict(verdict(req.socket as TLSSocket))}\n`);
  });
  server.on('close', close);
  server.listen(options.port, options.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    console.log(`Example mTLS app listening at https://localhost:${port}`);
  });
  return server;
}

try {
  const server = startServer(parseServerArgs(process.argv.slice(2)));
  server.on('error', (err) => {
    console.error(`Server failed: ${err.message}`);
    process.exit(1);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${SERVER_USAGE}`);
  } else {
    console.error(`Server failed: ${(err as Error).message}`);
  }
  process.exit(1);
}
