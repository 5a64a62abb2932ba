/**
 * Where a process's CPU time goes, natively: `perf record -g` on the process while it works,
 * then each sample is put in the bucket of the innermost frame of its stack that names one (so a
 * sample in malloc under the client-certificate parser counts as parsing). Used by `--profile`
 * when perf is installed; V8's profile cannot see OpenSSL's work, which runs under libuv
 * callbacks with no JavaScript on the stack.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';

/** Buckets, tested on each frame from the leaf outwards; the first frame that matches decides. */
const BUCKETS: Array<[string, RegExp]> = [
  ['OpenSSL: session tickets (NewSessionTicket)', /^tls_construct_new_session_ticket/],
  ['OpenSSL: client chain check (X509_verify_cert)', /^X509_verify_cert|^ssl_verify_cert_chain/],
  ['OpenSSL: parsing the client certificates (d2i, provider decoders)', /^tls_process_client_certificate/],
  ['OpenSSL: checking the client CertificateVerify (ECDSA verify)', /^tls_process_cert_verify/],
  ['OpenSSL: signing the server CertificateVerify (ECDSA sign)', /^tls_construct_cert_verify/],
  [
    'OpenSSL: key exchange (X25519, X25519MLKEM768)',
    /^ssl_generate_pkey|^ssl_derive|^ssl_gensecret|^ssl_encapsulate|^tls_process_key_share|^ossl_x25519|^ossl_ml_kem|^mlx_kem/,
  ],
  ['OpenSSL: key schedule and record encryption', /^tls13_|^ssl3_|^tls1_enc|^aesni|^aes_gcm|^gcm_|^ossl_gcm/],
  [
    'OpenSSL: rest of the handshake state machine',
    /^SSL_read|^SSL_do_handshake|^SSL_write|^state_machine|^ossl_statem|^SSL_new|^SSL_free|^ossl_ssl_connection_free/,
  ],
  ['Node: getPeerCertificate (chain copies, JS objects)', /^node::crypto::GetPeerCert|^node::crypto::X509ToObject/],
  ['kernel: sockets and syscalls', /^do_syscall_64|^entry_SYSCALL|^__x64_sys|^tcp_|^sock_|^__sys_/],
  ['V8: garbage collection', /^v8::internal::Heap::|^v8::internal::(Scavenger|MarkCompact|MinorMarkCompact|ConcurrentMarking)/],
  ['JavaScript: Node core, this library, the app (JIT and builtins)', /^Builtins_JSEntry|^Builtins_|^\[unknown\]|^v8::internal::/],
];

export interface PerfSummary {
  samples: number;
  buckets: Array<{ bucket: string; share: number }>;
}

export function perfAvailable(): boolean {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Records `pid` for `seconds`; resolves when perf is done. */
export function perfRecord(pid: number, seconds: number, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['record', '-q', '-F', '999', '-g', '-p', String(pid), '-o', output, '--', 'sleep', String(seconds)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}: ${err.slice(-500)}`))));
  });
}

export function summarizePerf(file: string): PerfSummary {
  const text = execFileSync('perf', ['script', '-i', file, '-F', 'ip,sym'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const counts = new Map<string, number>();
  let samples = 0;
  let frames: string[] = [];
  const flush = (): void => {
    if (frames.length === 0) return;
    samples++;
    let bucket = 'other native (libuv, libc, Node C++)';
    outer: for (const frame of frames) {
      for (const [name, re] of BUCKETS) {
        if (re.test(frame)) {
          bucket = name;
          break outer;
        }
      }
    }
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    frames = [];
  };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') {
      flush();
      continue;
    }
    const space = trimmed.indexOf(' ');
    frames.push(space < 0 ? '[unknown]' : trimmed.slice(space + 1).replace(/\+0x[0-9a-f]+$/, ''));
  }
  flush();
  return {
    samples,
    buckets: [...counts.entries()].map(([bucket, n]) => ({ bucket, share: n / samples })).sort((a, b) => b.share - a.share),
  };
}

export function formatPerf(title: string, summary: PerfSummary, cpuPerUnitUs?: number, unit = 'handshake'): string {
  const lines = [`${title}: ${summary.samples} samples`];
  for (const b of summary.buckets) {
    const per = cpuPerUnitUs === undefined ? '' : `  ${(b.share * cpuPerUnitUs).toFixed(0).padStart(5)} µs/${unit}`;
    lines.push(`  ${(b.share * 100).toFixed(1).padStart(5)} %${per}  ${b.bucket}`);
  }
  return lines.join('\n');
}
