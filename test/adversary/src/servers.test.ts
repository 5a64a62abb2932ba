// The attacks on the library's server helpers, generated from the table (src/attacks.ts).
import { serverTargets } from './servers.js';
import { serverSuite } from './suites.js';

serverSuite(serverTargets);
