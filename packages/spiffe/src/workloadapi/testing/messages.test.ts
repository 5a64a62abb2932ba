/**
 * The test kit restates the Workload API message types (it cannot import the library's without
 * depending on it): the two declarations must stay the same, or the fake agent would accept and
 * record values the client never sees. Checked by the type checker (`pnpm typecheck`): a
 * difference makes `true satisfies Same<...>` a type error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as Kit from '@spiffe-node/test-kit/fake-agent';
import type * as Lib from '../messages.js';

/** `true` exactly when A and B are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const agreement = {
  X509SvidMessage: true satisfies Same<Lib.X509SvidMessage, Kit.X509SvidMessage>,
  X509SvidResponseMessage: true satisfies Same<Lib.X509SvidResponseMessage, Kit.X509SvidResponseMessage>,
  X509BundlesResponseMessage: true satisfies Same<Lib.X509BundlesResponseMessage, Kit.X509BundlesResponseMessage>,
  JwtSvidRequestMessage: true satisfies Same<Lib.JwtSvidRequestMessage, Kit.JwtSvidRequestMessage>,
  JwtSvidMessage: true satisfies Same<Lib.JwtSvidMessage, Kit.JwtSvidMessage>,
  JwtSvidResponseMessage: true satisfies Same<Lib.JwtSvidResponseMessage, Kit.JwtSvidResponseMessage>,
  JwtBundlesResponseMessage: true satisfies Same<Lib.JwtBundlesResponseMessage, Kit.JwtBundlesResponseMessage>,
  ValidateJwtSvidRequestMessage: true satisfies Same<Lib.ValidateJwtSvidRequestMessage, Kit.ValidateJwtSvidRequestMessage>,
  ValidateJwtSvidResponseMessage: true satisfies Same<Lib.ValidateJwtSvidResponseMessage, Kit.ValidateJwtSvidResponseMessage>,
  ProtoStruct: true satisfies Same<Lib.ProtoStruct, Kit.ProtoStruct>,
  ProtoValue: true satisfies Same<Lib.ProtoValue, Kit.ProtoValue>,
};

describe('the test kit’s Workload API message types', () => {
  it('are the library’s, message for message (checked by the type checker)', () => {
    assert.deepEqual(Object.values(agreement), new Array<boolean>(Object.keys(agreement).length).fill(true));
  });
});
