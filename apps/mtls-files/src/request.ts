// The client of a Node.js mTLS tutorial (its request-mtls.js): an axios request with a client
// certificate, printing the server's answer. With --spiffe, the client's SVID and the trust bundles
// come from the Workload API, through the library's https agent, which checks the server's SVID the
// SPIFFE way.
//
//   node dist/request.js --key client.key --cert client.pem --root-ca server-ca.pem [--url URL]
//   node dist/request.js --spiffe [--server-id spiffe://example.org/server] [--url URL]
import { readFileSync } from 'node:fs';
import https from 'node:https';
import axios from 'axios';
import { SpiffeId, TrustDomain, X509Source, authorizeMatch, authorizeOneOf, type Authorizer } from '@spiffe-node/spiffe';
import { createSpiffeHttpsAgent } from '@spiffe-node/spiffe/tls';
import { REQUEST_USAGE, UsageError, parseRequestArgs, type RequestOptions } from './options.js';

async function agentFor(options: RequestOptions): Promise<{ agent: https.Agent; close: () => Promise<void> }> {
  if (!options.spiffe) {
    const ca = options.rootCas.map((f) => readFileSync(f));
    const agent = new https.Agent({
      ...(options.key !== undefined ? { key: readFileSync(options.key), cert: readFileSync(options.cert as string) } : {}),
      ...(ca.length > 0 ? { ca } : {}),
    });
    return { agent, close: async () => agent.destroy() };
  }
  const source = await X509Source.create({ address: options.socket, timeoutMs: 15_000 });
  let authorizer: Authorizer;
  if (options.serverIds.length > 0) {
    authorizer = authorizeOneOf(...options.serverIds.map((id) => SpiffeId.fromString(id)));
  } else {
    const tds =
      options.serverTds.length > 0 ? options.serverTds.map((td) => TrustDomain.fromString(td)) : [source.getX509Svid().id.trustDomain];
    authorizer = authorizeMatch((id) => tds.some((td) => id.memberOf(td)));
  }
  const agent = createSpiffeHttpsAgent({ svidSource: source, bundleSource: source, authorizer });
  return {
    agent,
    close: async () => {
      agent.destroy();
      await source.close();
    },
  };
}

async function main(): Promise<number> {
  let options: RequestOptions;
  try {
    options = parseRequestArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${REQUEST_USAGE}`);
      return 1;
    }
    throw err;
  }
  const { agent, close } = await agentFor(options);
  try {
    const response = await axios.get<string>(options.url, {
      httpsAgent: agent,
      responseType: 'text',
      transformResponse: (body: string) => body,
      validateStatus: () => true,
    });
    console.log(String(response.data).trimEnd());
    return 0;
  } finally {
    await close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(
      `Request failed: ${(err as { code?: string }).code ? `${(err as { code?: string }).code}: ` : ''}${(err as Error).message}`,
    );
    process.exitCode = 1;
  },
);
