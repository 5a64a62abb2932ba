// The attacks on the library's client helpers, generated from the table (src/attacks.ts).
import { clientTargets } from './clients.js';
import { clientSuite } from './suites.js';

clientSuite(clientTargets);
