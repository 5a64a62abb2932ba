/**
 * How the property-based tests run (`@spiffe-node/test-kit/fuzz`: seeds, runs, corruption of
 * valid inputs), with the typed-error oracle bound to the library's public `SpiffeError`.
 */
import { SpiffeError } from '@spiffe-node/spiffe';
import { typedOutcomes } from '@spiffe-node/test-kit/fuzz';

export * from '@spiffe-node/test-kit/fuzz';

export const { typedOutcome, typedOutcomeAsync } = typedOutcomes(SpiffeError);
