/**
 * What other test packages reuse of the multi-host topology (`@spiffe-node/test-multihost`): the
 * topology itself (network-namespace hosts, two federated SPIRE trust domains, HA on PostgreSQL)
 * and the check of its prerequisites. test/soak runs its soak on it (`pnpm soak -- --agent multihost`).
 */
export { Topology, type Fault, type Host, type HostName, type X509Context } from './topology.js';
export { cannotRun } from './run.js';
