// Small helpers for the suites that run the real SPIRE binaries: free ports, and polling (the
// test kit's, with the shape these suites call).
import { poll } from '@spiffe-node/test-kit';

export { freePort } from '@spiffe-node/test-kit';

/** Polls a check until it returns true, for at most `ms`; fails the test naming `what` after that. */
export async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  await poll(what, check, (ok) => ok, { timeoutMs: ms });
}
