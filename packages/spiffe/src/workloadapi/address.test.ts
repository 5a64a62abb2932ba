import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkloadApiError } from '../errors.js';
import { describeWorkloadApiAddress, parseWorkloadApiAddress, resolveWorkloadApiAddress } from './address.js';

describe('parseWorkloadApiAddress: valid addresses', () => {
  const valid: { address: string; kind: 'unix' | 'tcp'; target: string; socketPath?: string; port?: number }[] = [
    { address: 'unix:///tmp/agent.sock', kind: 'unix', target: 'unix:///tmp/agent.sock', socketPath: '/tmp/agent.sock' },
    { address: 'unix:/tmp/agent.sock', kind: 'unix', target: 'unix:///tmp/agent.sock', socketPath: '/tmp/agent.sock' },
    {
      address: 'unix:///tmp/spire-agent/public/api.sock',
      kind: 'unix',
      target: 'unix:///tmp/spire-agent/public/api.sock',
      socketPath: '/tmp/spire-agent/public/api.sock',
    },
    { address: 'UNIX:///run/a.sock', kind: 'unix', target: 'unix:///run/a.sock', socketPath: '/run/a.sock' },
    { address: 'unix:///run/my%20dir/a.sock', kind: 'unix', target: 'unix:///run/my dir/a.sock', socketPath: '/run/my dir/a.sock' },
    { address: 'tcp://127.0.0.1:8081', kind: 'tcp', target: 'ipv4:127.0.0.1:8081', port: 8081 },
    { address: 'tcp://10.0.0.1:1', kind: 'tcp', target: 'ipv4:10.0.0.1:1', port: 1 },
    { address: 'tcp://[::1]:65535', kind: 'tcp', target: 'ipv6:[::1]:65535', port: 65535 },
    { address: 'tcp://[fe80::1:2]:8081', kind: 'tcp', target: 'ipv6:[fe80::1:2]:8081', port: 8081 },
  ];
  for (const c of valid) {
    it(`accepts ${c.address}`, () => {
      const addr = parseWorkloadApiAddress(c.address);
      assert.equal(addr.kind, c.kind);
      assert.equal(addr.target, c.target);
      assert.equal(addr.url, c.address);
      assert.equal(addr.from, 'option');
      if (c.socketPath) assert.equal(addr.socketPath, c.socketPath);
      if (c.port) assert.equal(addr.port, c.port);
    });
  }
});

describe('parseWorkloadApiAddress: invalid addresses', () => {
  // Each invalid case has a valid counterpart in the table above.
  const invalid: { address: string; problem: RegExp }[] = [
    { address: 'unix:relative/agent.sock', problem: /must be absolute/ },
    { address: 'unix://relative/agent.sock', problem: /no host part \(found "relative"\)/ },
    { address: 'unix://host/tmp/agent.sock', problem: /no host part \(found "host"\)/ },
    { address: 'unix://', problem: /socket path is empty/ },
    { address: 'unix:', problem: /socket path is empty/ },
    { address: 'unix:///', problem: /socket path is empty/ },
    { address: 'unix:///tmp/dir/', problem: /names a directory/ },
    { address: 'unix:///tmp/agent.sock?x=1', problem: /no query/ },
    { address: 'unix:///tmp/agent.sock#frag', problem: /no fragment/ },
    { address: 'unix:///tmp/%zz.sock', problem: /percent-escape/ },
    { address: 'tcp://localhost:8081', problem: /must be an IP address, not a name \("localhost"\)/ },
    { address: 'tcp://agent.internal:8081', problem: /not a name/ },
    { address: 'tcp://127.0.0.1', problem: /port is missing/ },
    { address: 'tcp://127.0.0.1:', problem: /port is missing/ },
    { address: 'tcp://[::1]', problem: /port is missing/ },
    { address: 'tcp://127.0.0.1:0', problem: /out of range/ },
    { address: 'tcp://127.0.0.1:70000', problem: /out of range/ },
    { address: 'tcp://127.0.0.1:http', problem: /invalid port/ },
    { address: 'tcp://127.0.0.1:8081/path', problem: /no path/ },
    { address: 'tcp://127.0.0.1:8081/', problem: /no path/ },
    { address: 'tcp://127.0.0.1:8081?x=1', problem: /no query/ },
    { address: 'tcp://user@127.0.0.1:8081', problem: /no user info/ },
    { address: 'tcp://::1:8081', problem: /IPv6 address in brackets/ },
    { address: 'tcp://[localhost]:8081', problem: /not an IPv6 address/ },
    { address: 'tcp:127.0.0.1:8081', problem: /tcp:\/\/IP:port/ },
    { address: 'http://127.0.0.1:8081', problem: /unsupported scheme "http"/ },
    { address: 'grpc:///tmp/agent.sock', problem: /unsupported scheme "grpc"/ },
    { address: '/tmp/agent.sock', problem: /scheme is missing \(write unix:\/\/ before/ },
    { address: 'agent.sock', problem: /scheme is missing/ },
    { address: '', problem: /address is empty/ },
  ];
  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.address)}`, () => {
      assert.throws(
        () => parseWorkloadApiAddress(c.address),
        (err: unknown) => {
          assert.ok(err instanceof WorkloadApiError);
          assert.equal(err.code, 'ERR_WORKLOADAPI_ADDRESS');
          assert.match(err.message, /^workloadapi: invalid Workload API address /);
          assert.match(err.message, c.problem);
          // Every message shows a valid example.
          assert.match(err.message, /use e\.g\. unix:\/\/\/tmp\/spire-agent\/public\/api\.sock or tcp:\/\/127\.0\.0\.1:8081/);
          // An address from an option does not blame the environment variable.
          assert.doesNotMatch(err.message, /SPIFFE_ENDPOINT_SOCKET/);
          return true;
        },
      );
    });
  }

  it('throws TypeError for a non-string', () => {
    assert.throws(() => parseWorkloadApiAddress(42 as unknown as string), TypeError);
  });
});

describe('resolveWorkloadApiAddress', () => {
  it('prefers the option over the environment', () => {
    const addr = resolveWorkloadApiAddress('unix:///opt/a.sock', { SPIFFE_ENDPOINT_SOCKET: 'unix:///env/b.sock' });
    assert.equal(addr.socketPath, '/opt/a.sock');
    assert.equal(addr.from, 'option');
  });

  it('reads SPIFFE_ENDPOINT_SOCKET when no option is given', () => {
    const addr = resolveWorkloadApiAddress(undefined, { SPIFFE_ENDPOINT_SOCKET: 'unix:///env/b.sock' });
    assert.equal(addr.socketPath, '/env/b.sock');
    assert.equal(addr.from, 'env');
    assert.equal(describeWorkloadApiAddress(addr), 'socket /env/b.sock (from SPIFFE_ENDPOINT_SOCKET)');
  });

  it('names the variable and its value when the value from the environment is invalid', () => {
    assert.throws(
      () => resolveWorkloadApiAddress(undefined, { SPIFFE_ENDPOINT_SOCKET: 'tcp://localhost:8081' }),
      (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError);
        assert.equal(err.code, 'ERR_WORKLOADAPI_ADDRESS');
        assert.match(err.message, /SPIFFE_ENDPOINT_SOCKET="tcp:\/\/localhost:8081"/);
        assert.match(err.message, /not a name/);
        return true;
      },
    );
  });

  for (const env of [{}, { SPIFFE_ENDPOINT_SOCKET: '' }]) {
    it(`says to set SPIFFE_ENDPOINT_SOCKET when there is no address (${JSON.stringify(env)})`, () => {
      assert.throws(
        () => resolveWorkloadApiAddress(undefined, env),
        (err: unknown) => {
          assert.ok(err instanceof WorkloadApiError);
          assert.equal(err.code, 'ERR_WORKLOADAPI_ADDRESS');
          assert.match(err.message, /set SPIFFE_ENDPOINT_SOCKET \(e\.g\. SPIFFE_ENDPOINT_SOCKET=unix:\/\/\//);
          return true;
        },
      );
    });
  }

  it('describes tcp endpoints', () => {
    assert.equal(describeWorkloadApiAddress(parseWorkloadApiAddress('tcp://[::1]:9')), 'tcp endpoint [::1]:9');
    assert.equal(describeWorkloadApiAddress(parseWorkloadApiAddress('tcp://1.2.3.4:9')), 'tcp endpoint 1.2.3.4:9');
  });
});
