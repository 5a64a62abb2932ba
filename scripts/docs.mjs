#!/usr/bin/env node
// `pnpm docs`: the API reference of @spiffe-node/spiffe, generated from its TSDoc by TypeDoc into
// docs/api (git-ignored). The entry points are read from the package's `exports`, so a new subpath
// is documented without editing this file: `./x` with types `./dist/x/index.d.ts` is documented
// from `src/x/index.ts`. Any TypeDoc warning fails the run (treatWarningsAsErrors).
//
//   node scripts/docs.mjs              build docs/api
//   node scripts/docs.mjs --out DIR    build into DIR instead
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, LogLevel } from 'typedoc';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkgDir = join(root, 'packages', 'spiffe');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : join(root, 'docs', 'api');
if (!out) {
  console.error('docs: --out needs a folder');
  process.exit(2);
}

/** The source file of each subpath whose export has typings, from package.json `exports`. */
function entryPoints() {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const entries = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const types = typeof target === 'object' && target !== null ? target.types : undefined;
    if (typeof types !== 'string') continue; // ./package.json, ./proto/*.proto
    const source = join(pkgDir, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
    if (!existsSync(source)) {
      console.error(`docs: exports["${subpath}"] has types ${types}, but its source ${relative(root, source)} does not exist`);
      process.exit(1);
    }
    entries.push(source);
  }
  return entries;
}

const app = await Application.bootstrapWithPlugins({
  name: '@spiffe-node/spiffe',
  entryPoints: entryPoints(),
  tsconfig: join(pkgDir, 'tsconfig.build.json'),
  readme: join(pkgDir, 'README.md'),
  out,
  treatWarningsAsErrors: true,
  logLevel: LogLevel.Info,
  excludePrivate: true,
  excludeInternal: true,
  // The sources' protected members serve their own subclasses; their base class is not exported.
  excludeProtected: true,
  githubPages: false,
  // No "defined in" links: they depend on the clone's git remote, which a fresh clone (CI, a
  // fork, a tarball) may lack or name differently, and TypeDoc warns when it cannot read it.
  disableSources: true,
  // The parameter type of the express middleware's `next`: a local alias, not part of the API.
  intentionallyNotExported: ['Next'],
  // Comments inherited from @types/node link to Node's own functions: link them to Node's docs.
  externalSymbolLinkMappings: {
    '@types/node': {
      '"tls".connect': 'https://nodejs.org/api/tls.html#tlsconnectoptions-callback',
    },
  },
});
const project = await app.convert();
if (!project) {
  console.error('docs: TypeDoc could not convert the sources (see the errors above)');
  process.exit(1);
}
app.validate(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error(`docs: TypeDoc reported ${app.logger.errorCount} error(s) and ${app.logger.warningCount} warning(s); fix the TSDoc above`);
  process.exit(1);
}
await app.generateDocs(project, out);
if (app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error(`docs: TypeDoc reported ${app.logger.errorCount} error(s) and ${app.logger.warningCount} warning(s) while rendering`);
  process.exit(1);
}
console.log(`docs: the API reference of @spiffe-node/spiffe is in ${relative(process.cwd(), out) || '.'}/index.html`);
