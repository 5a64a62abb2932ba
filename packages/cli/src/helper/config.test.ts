import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HelperConfigError, parseHelperConfig, splitCommandArgs } from './config.js';

const X509 = `cert_dir = "certs"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
`;

function configError(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof HelperConfigError, String(e));
    assert.match(e.message, pattern);
    return true;
  };
}

describe('parseHelperConfig', () => {
  it("reads spiffe-helper's README example, with its defaults", () => {
    const config = parseHelperConfig(
      `agent_address = "/tmp/spire-agent/public/api.sock"
cmd = "ghostunnel"
cmd_args = "server --listen localhost:8002 --target localhost:8001 --keystore certs/svid_key.pem --cacert certs/svid_bundle.pem --allow-uri-san spiffe://example.org/Database"
cert_dir = "certs"
renew_signal = "SIGUSR1"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
jwt_svids = [{jwt_audience="your-audience",jwt_extra_audiences=["your-extra-audience-1", "your-extra-audience-2"], jwt_svid_file_name="jwt_svid.token"}]
jwt_bundle_file_name = "bundle.json"
cert_file_mode = 0444
key_file_mode = 0444
jwt_bundle_file_mode = 0444
jwt_svid_file_mode = 0444
`,
      'helper.conf',
    );
    assert.equal(config.cmd, 'ghostunnel');
    assert.equal(config.cmdArgs.length, 11);
    assert.equal(config.cmdArgs[10], 'spiffe://example.org/Database');
    assert.equal(config.renewSignal, 'SIGUSR1');
    assert.deepEqual(config.jwtSvids, [
      { audience: 'your-audience', extraAudiences: ['your-extra-audience-1', 'your-extra-audience-2'], fileName: 'jwt_svid.token' },
    ]);
    assert.equal(config.certFileMode, 0o444);
    assert.equal(config.keyFileMode, 0o444);
    assert.equal(config.daemonMode, true);
    assert.equal(config.healthChecks.listenerEnabled, false);
    assert.deepEqual(config.warnings, ['key_file_mode 0444 lets other users read the private key; 0600 keeps it to the owner']);
  });

  it('applies the defaults: modes 0644/0600, daemon mode, health checks on 8081 at /live and /ready', () => {
    const config = parseHelperConfig(`${X509}health_checks {\n  listener_enabled = true\n}\n`);
    assert.equal(config.certFileMode, 0o644);
    assert.equal(config.keyFileMode, 0o600);
    assert.equal(config.jwtSvidFileMode, 0o600);
    assert.equal(config.jwtBundleFileMode, 0o600);
    assert.equal(config.daemonMode, true);
    assert.equal(config.exitWhenReady, false);
    assert.deepEqual(config.healthChecks, {
      listenerEnabled: true,
      bindAddress: '',
      bindPort: 8081,
      livenessPath: '/live',
      readinessPath: '/ready',
    });
    assert.deepEqual(config.warnings, []);
  });

  it('reads the other keys: daemon_mode, exit_when_ready, pid_file_name, health paths, repeated jwt_svids blocks', () => {
    const config = parseHelperConfig(
      `cert_dir = "/run/certs"
jwt_svids { 
  jwt_audience = "a"
  jwt_svid_file_name = "a.token"
}
jwt_svids {
  jwt_audience = "b"
  jwt_svid_file_name = "b.token"
}
daemon_mode = "true"
exit_when_ready = true
pid_file_name = "/run/app.pid"
renew_signal = "SIGHUP"
include_federated_domains = true
add_intermediates_to_bundle = true
omit_expired = true
hint = "internal"
log_level = "DEBUG"
health_checks {
  listener_enabled = true
  bind_address = "127.0.0.1"
  bind_port = 9000
  liveness_path = "/healthz"
  readiness_path = "/readyz"
}`,
      'h.conf',
      { daemonMode: true },
    );
    assert.deepEqual(
      config.jwtSvids.map((j) => j.fileName),
      ['a.token', 'b.token'],
    );
    assert.equal(config.exitWhenReady, true);
    assert.equal(config.pidFileName, '/run/app.pid');
    assert.equal(config.includeFederatedDomains, true);
    assert.equal(config.addIntermediatesToBundle, true);
    assert.equal(config.omitExpired, true);
    assert.equal(config.hint, 'internal');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.healthChecks, {
      listenerEnabled: true,
      bindAddress: '127.0.0.1',
      bindPort: 9000,
      livenessPath: '/healthz',
      readinessPath: '/readyz',
    });
  });

  it('lets the command line override daemon_mode and exit_when_ready', () => {
    const config = parseHelperConfig(`${X509}daemon_mode = true\n`, 'h.conf', { daemonMode: false, exitWhenReady: true });
    assert.equal(config.daemonMode, false);
    assert.equal(config.exitWhenReady, true);
  });

  const bad: Array<{ name: string; text: string; error: RegExp }> = [
    {
      name: 'an unknown key, with its line and a suggestion',
      text: `${X509}\nsvid_fle_name = "x"\n`,
      error: /^helper\.conf:6: unknown key "svid_fle_name" \(did you mean "svid_file_name"\?\)$/,
    },
    {
      name: 'an unknown key in jwt_svids',
      text: `${X509}jwt_svids = [{jwt_audience = "a", jwt_svid_file_name = "a", audience = "x"}]`,
      error: /^helper\.conf:5: unknown key "audience" in jwt_svids\[0\] \(did you mean "jwt_audience"\?\)/,
    },
    { name: 'an unknown key unlike any known one', text: `${X509}foo = 1`, error: /^helper\.conf:5: unknown key "foo"$/ },
    {
      name: 'an unknown key in health_checks',
      text: `${X509}health_checks {\n  live_path = "/x"\n}`,
      error: /^helper\.conf:6: unknown key "live_path" in health_checks \(did you mean "liveness_path"\?\)/,
    },
    { name: 'a syntax error', text: 'cert_dir = certs', error: /^helper\.conf:1:12: expected a value/ },
    { name: 'a key set twice', text: `${X509}cert_dir = "other"`, error: /^helper\.conf:5: "cert_dir" is set twice \(first on line 1\)/ },
    {
      name: 'a string where a boolean goes',
      text: `${X509}daemon_mode = "yes"`,
      error: /^helper\.conf:5: "daemon_mode" must be true or false, found the string "yes"/,
    },
    { name: 'a list where a string goes', text: `${X509}cmd = ["a"]`, error: /^helper\.conf:5: "cmd" must be a string, found a list/ },
    {
      name: 'a decimal file mode',
      text: `${X509}cert_file_mode = 644`,
      error: /"cert_file_mode" = 644 is not a file mode \(0 to 0777\); write it in octal with a leading 0 \(0644\)/,
    },
    { name: 'a zero file mode', text: `${X509}key_file_mode = 0`, error: /would make the file unreadable/ },
    {
      name: 'an unknown signal',
      text: `${X509}cmd = "x"\nrenew_signal = "SIGFOO"`,
      error: /^helper\.conf:6: "renew_signal" = "SIGFOO" is not a signal name/,
    },
    {
      name: 'a file name with a directory',
      text: X509.replace('"svid.pem"', '"../svid.pem"'),
      error: /^helper\.conf:2: "svid_file_name" must be a plain file name inside cert_dir/,
    },
    {
      name: 'only some of the X.509 names',
      text: 'cert_dir = "c"\nsvid_file_name = "s.pem"',
      error: /all or none of 'svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name' must be specified/,
    },
    { name: 'nothing to write', text: 'cert_dir = "c"', error: /at least one of the sets/ },
    { name: 'no cert_dir', text: X509.replace('cert_dir = "certs"\n', ''), error: /"cert_dir" is required/ },
    {
      name: 'a jwt_svids element without audience',
      text: `${X509}jwt_svids = [{jwt_svid_file_name = "a"}]`,
      error: /"jwt_audience" is required in jwt_svids\[0\]/,
    },
    {
      name: 'a jwt_svids element without file',
      text: `${X509}jwt_svids = [{jwt_audience = "a"}]`,
      error: /"jwt_svid_file_name" is required in jwt_svids\[0\]/,
    },
    {
      name: 'two files with one name',
      text: `${X509}jwt_bundle_file_name = "svid.pem"`,
      error: /the file name "svid\.pem" is used for two files/,
    },
    {
      name: 'pid_file_name without renew_signal',
      text: `${X509}pid_file_name = "/run/x.pid"`,
      error: /must specify renew_signal when using pid_file_name/,
    },
    {
      name: 'pid_file_name without daemon mode',
      text: `${X509}pid_file_name = "/run/x.pid"\nrenew_signal = "SIGHUP"\ndaemon_mode = false`,
      error: /pid_file_name is only supported in daemon mode/,
    },
    {
      name: 'a health path without a slash',
      text: `${X509}health_checks {\n  liveness_path = "live"\n}`,
      error: /"liveness_path" must start with "\/"/,
    },
    {
      name: 'an out-of-range port',
      text: `${X509}health_checks {\n  bind_port = 70000\n}`,
      error: /"bind_port" 70000 is not a port number/,
    },
    {
      name: 'an unterminated quote in cmd_args',
      text: `${X509}cmd = "x"\ncmd_args = "a \\"b"`,
      error: /^helper\.conf:6: cmd_args: unterminated double quote/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => assert.throws(() => parseHelperConfig(c.text, 'helper.conf'), configError(c.error)));
  }
  it('accepts the valid counterpart of the refused cases', () => {
    const config = parseHelperConfig(
      `${X509}cmd = "x"\ncmd_args = "a \\"b c\\""\nrenew_signal = "SIGHUP"\ncert_file_mode = 0644\npid_file_name = "/run/x.pid"\njwt_svids = [{jwt_audience = "a", jwt_svid_file_name = "a.token"}]\nhealth_checks {\n  liveness_path = "/live"\n  bind_port = 8081\n}`,
      'helper.conf',
    );
    assert.deepEqual(config.cmdArgs, ['a', 'b c']);
  });

  it('warns about settings that do nothing without daemon mode', () => {
    const config = parseHelperConfig(`${X509}cmd = "x"\nrenew_signal = "SIGHUP"\ndaemon_mode = false`);
    assert.deepEqual(config.warnings, [
      'cmd is set but daemon_mode is false: cmd is ignored',
      'renew_signal is set but daemon_mode is false: renew_signal is ignored',
    ]);
  });
});

describe('splitCommandArgs (spiffe-helper: spaces separate, double quotes group)', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['a b  c', ['a', 'b', 'c']],
    ['-config "my file.conf" -v', ['-config', 'my file.conf', '-v']],
    ['say "he said ""hi"""', ['say', 'he said "hi"']],
  ];
  for (const [text, args] of cases) it(`splits ${JSON.stringify(text)}`, () => assert.deepEqual(splitCommandArgs(text), args));
});
