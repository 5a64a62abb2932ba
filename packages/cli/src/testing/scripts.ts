/**
 * Small programs the helper tests run as real processes: a `cmd` that records the signals it
 * gets, and a reader that checks, in a tight loop, that the key and certificate on disk belong
 * together. Test-only.
 *
 * @module
 * @internal
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A program that appends `started <pid>` to the log file given as its argument, then a line
 * per SIGUSR1 / SIGHUP, and `TERM` before exiting on SIGTERM. With a second argument it writes
 * its pid there (for `pid_file_name`).
 */
export const SIGNAL_RECORDER = `
import { appendFileSync, writeFileSync } from 'node:fs';
const [log, pidFile] = process.argv.slice(2);
process.on('SIGUSR1', () => appendFileSync(log, 'SIGUSR1\\n'));
process.on('SIGHUP', () => appendFileSync(log, 'SIGHUP\\n'));
process.on('SIGTERM', () => { appendFileSync(log, 'TERM\\n'); process.exit(0); });
if (pidFile) writeFileSync(pidFile, String(process.pid) + '\\n');
appendFileSync(log, 'started ' + process.pid + '\\n');
setInterval(() => {}, 1000);
`;

/**
 * A program that reads the key, the certificate and the key again, as fast as it can, and
 * counts the rounds where the key did not change during the round but the certificate's
 * public key is not the key's: a moment when the files on disk disagreed. On SIGTERM it prints
 * `{"checks":N,"bad":N,"errors":N,"distinct":N}` and exits.
 */
export const CONSISTENCY_READER = `
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
const [certFile, keyFile] = process.argv.slice(2);
let checks = 0, bad = 0, errors = 0, stop = false;
const seen = new Set();
process.on('SIGTERM', () => { stop = true; });
function round() {
  for (let i = 0; i < 25; i++) {
    try {
      const k1 = readFileSync(keyFile);
      const c = readFileSync(certFile);
      const k2 = readFileSync(keyFile);
      if (!k1.equals(k2)) continue;
      const cert = new X509Certificate(c);
      seen.add(cert.fingerprint256);
      checks++;
      if (!cert.checkPrivateKey(createPrivateKey(k1))) bad++;
    } catch (err) {
      errors++;
    }
  }
  if (stop) {
    process.stdout.write(JSON.stringify({ checks, bad, errors, distinct: seen.size }) + '\\n');
    process.exit(0);
  }
  setImmediate(round);
}
process.stdout.write('reading\\n');
round();
`;

/** Writes `source` as an ES module in `dir` and returns its path. */
export function writeScript(dir: string, name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}
