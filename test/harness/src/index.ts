/**
 * The shared runner of the demo and the end-to-end tests: agents (dev agent, SPIRE), workload
 * users, processes, and the seed scenarios.
 */
export * from './agents.js';
export * from './process.js';
export * from './scenarios.js';
export * from './users.js';
export * from './spire.js';
export * from './ports.js';
