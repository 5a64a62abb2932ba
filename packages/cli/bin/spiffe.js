#!/usr/bin/env node
// The spiffe command line: `spiffe api fetch x509|jwt`, `spiffe api validate jwt`,
// `spiffe api watch` (SPIRE's `spire-agent api` sub-commands and flags) and `spiffe helper`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    'The spiffe command is not built yet: run `pnpm build` at the repository root ' +
      '(or `pnpm turbo run build --filter=@spiffe-node/cli`), then try again.\n',
  );
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
