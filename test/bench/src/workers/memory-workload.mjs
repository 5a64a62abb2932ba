// Memory benchmark workload (plain JavaScript, run by `node --expose-gc`): with `sources`, holds
// an X509Source and a JwtSource connected to the Workload API; with `import`, only loads the
// library; with `bare`, loads nothing. After
// settling (a second by default), collects garbage and prints its resident set size.
//   node --expose-gc memory-workload.mjs <sources|import|bare> <settle ms> [unix:///path/to/socket]
const mode = process.argv[2];
const held = [];
if (mode === 'import') await import('@spiffe-node/spiffe');
if (mode === 'sources') {
  const { X509Source, JwtSource } = await import('@spiffe-node/spiffe');
  const address = process.argv[4];
  held.push(await X509Source.create({ address }), await JwtSource.create({ address }));
  held[0].getX509Svid();
}
await new Promise((resolve) => setTimeout(resolve, Number(process.argv[3] ?? 1000)));
for (let i = 0; i < 3; i++) {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const usage = process.memoryUsage();
process.stdout.write(`${JSON.stringify({ rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, held: held.length })}\n`);
process.exit(0);
