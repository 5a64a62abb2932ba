/**
 * The fake Workload API agent of `@spiffe-node/test-kit`, bound to this library's own codec
 * ({@link workloadServiceDefinition}) for the library's own tests; the kit's helpers that go
 * with it (`x509SvidMessage`, `jwksBytes`, `signJwt`, ...) are re-exported as they are.
 * Test-only: not part of the package build.
 *
 * @example
 * ```ts
 * const agent = await FakeAgent.start();
 * agent.setX509SvidResponse({ svids: [x509SvidMessage(ca.svid('/web'), [ca.certificate])] });
 * const svid = await new WorkloadApiClient({ address: agent.address }).fetchX509Svid();
 * await agent.close();
 * ```
 *
 * @module
 */
import type * as grpc from '@grpc/grpc-js';
import { FakeAgent as KitFakeAgent } from '@spiffe-node/test-kit/fake-agent';
import { workloadServiceDefinition } from '../proto.js';

export * from '@spiffe-node/test-kit/fake-agent';

/** A fake agent that serves the Workload API through this library's codec. */
export class FakeAgent extends KitFakeAgent {
  protected static override serviceDefinition(): grpc.ServiceDefinition {
    return workloadServiceDefinition();
  }
}
