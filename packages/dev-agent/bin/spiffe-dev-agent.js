#!/usr/bin/env node
// The SPIFFE development agent's command line: `spiffe-dev-agent run [flags]`,
// `spiffe-dev-agent server <spire-server arguments>`, `spiffe-dev-agent rotate x509|jwt`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    'The SPIFFE development agent is not built yet: run `pnpm build` at the repository root ' +
      '(or `pnpm turbo run build --filter=@spiffe-node/dev-agent`), then try again.\n',
  );
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
