/**
 * `spiffe-dev-agent run`: starts the agent in the foreground until SIGINT or SIGTERM.
 *
 * @module
 */
import { startDevAgent } from '../agent.js';
import { parseKeyType } from '../ca/key-type.js';
import { DevAgentError } from '../errors.js';
import { isLogLevel } from '../log.js';
import {
  DEFAULT_ADMIN_SOCKET_PATH,
  DEFAULT_DATA_DIR,
  DEFAULT_SOCKET_PATH,
  DEFAULT_TRUST_DOMAIN,
  parseIdentitySocket,
  type DevAgentOptions,
} from '../options.js';
import { FlagError, parseFlags, usage, type FlagSpec } from './flags.js';
import type { CliIo } from './io.js';

/** The flags of `run`. */
const RUN_FLAGS: readonly FlagSpec[] = [
  { name: 'socketPath', kind: 'string', usage: 'Path of the public Workload API socket', default: DEFAULT_SOCKET_PATH },
  {
    name: 'adminSocketPath',
    kind: 'string',
    usage: 'Path of the private admin socket (used by the CLI)',
    default: DEFAULT_ADMIN_SOCKET_PATH,
  },
  { name: 'dataDir', kind: 'string', usage: 'Directory for CA keys and registration entries (0700)', default: DEFAULT_DATA_DIR },
  { name: 'trustDomain', kind: 'string', usage: 'The trust domain of the agent', default: DEFAULT_TRUST_DOMAIN },
  { name: 'federatedTrustDomain', kind: 'list', usage: 'Another trust domain with a local CA, for federation. Can be used more than once' },
  { name: 'x509SVIDTTL', kind: 'string', usage: 'Default X509-SVID lifetime (seconds, or 90s, 5m, 1h)', default: '1h' },
  { name: 'jwtSVIDTTL', kind: 'string', usage: 'Default JWT-SVID lifetime (seconds, or 90s, 5m, 1h)', default: '5m' },
  { name: 'caTTL', kind: 'string', usage: 'Root CA lifetime', default: '8760h' },
  { name: 'intermediateTTL', kind: 'string', usage: 'Intermediate CA lifetime (at least twice the X509-SVID TTL)', default: '24h' },
  { name: 'jwtKeyTTL', kind: 'string', usage: 'JWT signing key lifetime', default: '24h' },
  { name: 'keyType', kind: 'string', usage: 'Key type of CAs and X509-SVIDs: ec-p256, ec-p384, rsa-2048', default: 'ec-p256' },
  {
    name: 'identitySocket',
    kind: 'list',
    usage:
      'spiffe://td/path=/socket/path: a socket whose callers get the entries with that SPIFFE ID (fallback without peer credentials). Can be used more than once',
  },
  { name: 'attestSha256', kind: 'bool', usage: "Also derive unix:sha256 selectors (hashes the caller's executable)" },
  { name: 'bundleEndpointAddress', kind: 'string', usage: 'Address of the bundle endpoint (with -bundleEndpointPort)', default: '0.0.0.0' },
  {
    name: 'bundleEndpointPort',
    kind: 'int',
    usage:
      "Serve the trust domain's bundle as a SPIFFE bundle endpoint (https_spiffe, SVID spiffe://<trust domain>/spire/server) on this port; off when not set",
  },
  { name: 'logLevel', kind: 'string', usage: 'Log level: debug, info, warn, error', default: 'info' },
];

/**
 * Runs the agent until a signal stops it.
 *
 * @returns the exit code (0 after a clean stop).
 * @example
 * ```ts
 * process.exitCode = await runAgentCommand(['-trustDomain', 'example.org'], processIo());
 * ```
 */
export async function runAgentCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let options: DevAgentOptions;
  try {
    // `pnpm agent -- -flag value` hands the flags over behind a `--`.
    const flags = parseFlags(argv[0] === '--' ? argv.slice(1) : argv, RUN_FLAGS);
    if (flags.help) {
      io.stderr(usage('run', RUN_FLAGS));
      return 0;
    }
    if (flags.args.length > 0) throw new FlagError(`unexpected argument "${flags.args[0]}"`);
    const logLevel = (flags.strings.get('logLevel') ?? 'info').toLowerCase();
    if (!isLogLevel(logLevel)) throw new FlagError(`-logLevel: "${logLevel}" is not one of debug, info, warn, error`);
    const keyType = flags.strings.get('keyType');
    const bundleEndpointPort = flags.ints.get('bundleEndpointPort');
    options = {
      socketPath: flags.strings.get('socketPath'),
      adminSocketPath: flags.strings.get('adminSocketPath'),
      dataDir: flags.strings.get('dataDir'),
      trustDomain: flags.strings.get('trustDomain'),
      federatedTrustDomains: flags.lists.get('federatedTrustDomain'),
      x509SvidTtl: flags.strings.get('x509SVIDTTL'),
      jwtSvidTtl: flags.strings.get('jwtSVIDTTL'),
      caTtl: flags.strings.get('caTTL'),
      intermediateTtl: flags.strings.get('intermediateTTL'),
      jwtKeyTtl: flags.strings.get('jwtKeyTTL'),
      keyType: keyType === undefined ? undefined : parseKeyType(keyType),
      identitySockets: (flags.lists.get('identitySocket') ?? []).map(parseIdentitySocket),
      attestSha256: flags.bools.get('attestSha256') ?? false,
      bundleEndpoint:
        bundleEndpointPort === undefined
          ? undefined
          : { address: flags.strings.get('bundleEndpointAddress') ?? '0.0.0.0', port: bundleEndpointPort },
      logLevel,
    };
  } catch (err) {
    if (err instanceof FlagError || err instanceof DevAgentError) {
      io.stderr(`Error: ${err.message}\n${err instanceof FlagError ? usage('run', RUN_FLAGS) : ''}`);
      return 1;
    }
    throw err;
  }

  // Signal handlers go in before anything starts, so a signal that arrives while the agent is
  // starting (or the instant after it says it is ready) still stops it cleanly.
  let signalled: NodeJS.Signals | undefined;
  let onStopRequest: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      io.stderr(`Received ${signal} again; exiting now\n`);
      process.exit(1);
    }
    signalled = signal;
    io.stderr(`Received ${signal}; stopping\n`);
    onStopRequest?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const removeHandlers = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  let agent;
  try {
    agent = await startDevAgent(options);
  } catch (err) {
    removeHandlers();
    if (err instanceof DevAgentError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.stdout(
    [
      'SPIFFE development agent is running.',
      `Trust domain:        ${agent.trustDomain.name}`,
      ...agent.federatedTrustDomains.map((td) => `Federated domain:    ${td.name}`),
      `Workload API socket: ${agent.socketPath}`,
      `Admin socket:        ${agent.adminSocketPath}`,
      `Data directory:      ${agent.dataDir}`,
      ...(agent.bundleEndpoint
        ? [`Bundle endpoint:     ${agent.bundleEndpoint.url} (https_spiffe, ${agent.bundleEndpoint.spiffeId})`]
        : []),
      `Attestation:         ${agent.attestsPeers ? 'unix peer credentials (SO_PEERCRED)' : 'identity sockets only (peer credentials unavailable)'}`,
      `SPIFFE_ENDPOINT_SOCKET=${agent.endpoint}`,
      '',
    ].join('\n'),
  );

  const running = agent;
  return new Promise<number>((resolve) => {
    onStopRequest = () => {
      running
        .stop()
        .then(() => resolve(0))
        .catch((err: unknown) => {
          io.stderr(`Error while stopping: ${(err as Error).message}\n`);
          resolve(1);
        })
        .finally(removeHandlers);
    };
    if (signalled !== undefined) onStopRequest();
  });
}
