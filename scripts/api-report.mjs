#!/usr/bin/env node
// The public API of @spiffe-node/spiffe, one report per entry point (packages/spiffe/api/*.api.md),
// made by api-extractor from the declarations the build emits (tsconfig.build.json, so
// `stripInternal` applies). Any change to the public API shows as a change to these files.
//
//   node scripts/api-report.mjs           (`pnpm api`) rewrites the reports from the sources
//   node scripts/api-report.mjs --check   fails, listing the entry points, when the API the
//                                         sources declare differs from the committed reports,
//                                         and says what to do: `pnpm api`, then `pnpm changeset`
//
// The declarations are emitted into packages/spiffe/.api-report (git-ignored, so a stale
// dist/ never decides), where the optional peers' types resolve as they do for the build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packageDir = join(root, 'packages', 'spiffe');
const reportFolder = join(packageDir, 'api');
const cacheDir = join(packageDir, '.api-report');
const typesDir = join(cacheDir, 'dist');
const check = process.argv.includes('--check');
const require = createRequire(import.meta.url);
const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

/** `{ subpath, dts, reportName }` for every entry point of package.json with types. */
function entryPoints() {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const out = [];
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || typeof target.types !== 'string') continue;
    const dts = join(cacheDir, target.types);
    const suffix = subpath === '.' ? '' : `-${subpath.slice(2).replaceAll('/', '-')}`;
    out.push({ subpath, dts, reportName: `spiffe${suffix}` });
  }
  return out;
}

function emitDeclarations() {
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const args = ['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--sourceMap', 'false'];
  execFileSync(process.execPath, [tsc, ...args, '--outDir', typesDir], { cwd: packageDir, stdio: 'inherit' });
}

function report({ subpath, dts, reportName }) {
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: packageDir,
      mainEntryPointFilePath: dts,
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            types: ['node'],
          },
          files: [dts],
        },
      },
      apiReport: {
        enabled: true,
        reportFolder,
        reportTempFolder: join(cacheDir, 'temp'),
        reportFileName: reportName,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'error' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning', addToApiReportFile: true },
          'ae-missing-release-tag': { logLevel: 'none' },
          'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
          // {@link}s across entry points (to an error class of /errors, say) are fine.
          'ae-unresolved-link': { logLevel: 'none', addToApiReportFile: false },
          // Named with the declaration file's line, which moves with every edit (TypeDoc checks docs).
          'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: join(packageDir, 'api-extractor.json'),
    packageJsonFullPath: join(packageDir, 'package.json'),
  });
  const result = Extractor.invoke(config, { localBuild: !check, showVerboseMessages: false, messageCallback: quiet });
  if (result.errorCount > 0) throw new Error(`api-report: api-extractor failed for "${subpath}" (${result.errorCount} errors)`);
  return result.apiReportChanged;
}

/** Keeps api-extractor's console output to what matters (its own "changed" notes are replaced by ours). */
function quiet(message) {
  if (message.category === 'Extractor' && message.logLevel === 'warning') return;
  if (message.messageId === 'console-api-report-changed' || message.messageId === 'console-api-report-copied') {
    message.handled = true;
  }
  if (message.logLevel === 'info' || message.logLevel === 'verbose') message.handled = true;
}

emitDeclarations();
const changed = entryPoints().filter((entry) => report(entry));
if (check && changed.length > 0) {
  console.error(
    `api-report: the public API differs from the committed report for ${changed.map((e) => e.subpath).join(', ')}.\n` +
      'If the change is deliberate: run `pnpm api` to rewrite packages/spiffe/api/*.api.md and commit them, and add a changeset\n' +
      'that says what changed for users (`pnpm changeset`: @spiffe-node/spiffe, minor before 1.0). If it is not, undo the change.',
  );
  process.exit(1);
}
console.log(
  check
    ? 'api-report: the public API matches the committed reports'
    : `api-report: ${changed.length} report(s) updated in packages/spiffe/api`,
);
