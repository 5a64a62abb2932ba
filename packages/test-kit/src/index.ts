/**
 * `@spiffe-node/test-kit`: the helpers the workspace's tests share. Private, never published,
 * and dependent on no workspace package (the library's own tests use it too, and a dependency
 * back would be a cycle in the build graph).
 *
 * @module
 */
export { delay, poll, until, type PollOptions } from './wait.js';
export { freePort, freePorts } from './ports.js';
export { replaceFileAtomic } from './files.js';
export { tempDir, trackProcess, type RunResult, type RunningProcess } from './process.js';
export { nodeSubjectAltName } from './node-san.js';
export * as der from './der.js';
export { randomEntropy, seededEntropy, type KeyAlgorithm, type KeyPair, type TestEntropy } from './entropy.js';
export {
  TestCa,
  createTestCa,
  nameConstraintsValue,
  testTrustDomain,
  toPem,
  type CaOptions,
  type CertOptions,
  type ExtraExtension,
  type IssuedCertificate,
  type KeyUsageName,
  type LeafOptions,
  type NameConstraintsSpec,
  type SubjectSpec,
  type SubtreesSpec,
  type SvidOptions,
  type TestSvid,
  type TestTrustDomain,
  type WeakDigest,
} from './ca.js';
