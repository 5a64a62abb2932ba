// Start-up benchmark workload (plain JavaScript, run by bare `node`, so nothing but Node and the
// library loads): connects to the Workload API, waits for the first X509-SVID, prints the wall
// clock time at which it holds it, and exits.
//   node startup-workload.mjs <root|workloadapi> unix:///path/to/socket
//   node startup-workload.mjs import-only      (imports the root entry and exits: the cost of loading)
const entry = process.argv[2] === 'workloadapi' ? '@spiffe-node/spiffe/workloadapi' : '@spiffe-node/spiffe';
const { X509Source } = await import(entry);
if (process.argv[2] === 'import-only') process.exit(0);
const source = await X509Source.create({ address: process.argv[3] });
const svid = source.getX509Svid();
process.stdout.write(`${JSON.stringify({ heldAtMs: performance.timeOrigin + performance.now(), id: svid.id.toString() })}\n`);
process.exit(0);
