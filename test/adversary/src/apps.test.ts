// The attacks on the example apps as real processes, generated from the table (src/attacks.ts).
import { appClientTargets, appServerTargets } from './apps.js';
import { clientSuite, serverSuite } from './suites.js';

serverSuite(appServerTargets);
clientSuite(appClientTargets);
