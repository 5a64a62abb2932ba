#!/usr/bin/env node
// The spire-server compatible CLI of the SPIFFE development agent, as a node script:
// `spiffe-dev-server entry create -spiffeID ... -parentID ... -selector ...` (same as bin/spire-server).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('The SPIFFE development agent is not built yet: run `pnpm build` at the repository root, then try again.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(['server', ...process.argv.slice(2)]);
