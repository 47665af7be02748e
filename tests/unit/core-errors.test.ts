import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { BerthError, type ErrorKind } from '../../src/common/errors.js';
import { codeOfKind, fromServiceError, kindOfCode, toStatus } from '../../src/core/errors.js';

const pairs: [ErrorKind, status][] = [
  ['not-found', status.NOT_FOUND],
  ['already-exists', status.ALREADY_EXISTS],
  ['invalid-argument', status.INVALID_ARGUMENT],
  ['failed-precondition', status.FAILED_PRECONDITION],
  ['unavailable', status.UNAVAILABLE],
];

test('error kinds map to gRPC codes and back', () => {
  for (const [kind, code] of pairs) {
    assert.equal(codeOfKind(kind), code, kind);
    assert.equal(kindOfCode(code), kind, String(code));
  }
  assert.equal(codeOfKind('internal'), status.INTERNAL);
  assert.equal(kindOfCode(status.UNIMPLEMENTED), 'internal');
  assert.equal(kindOfCode(status.DEADLINE_EXCEEDED), 'internal');
});

test('a thrown error becomes a status with its message; a plain error is INTERNAL', () => {
  const s = toStatus(new BerthError('not-found', 'container c1 not found in namespace default'));
  assert.equal(s.code, status.NOT_FOUND);
  assert.equal(s.details, 'container c1 not found in namespace default');
  assert.equal(toStatus(new Error('boom')).code, status.INTERNAL);
});

test('a service error becomes a BerthError of the same kind with the server message', () => {
  const err = Object.assign(new Error('6 ALREADY_EXISTS: x'), { code: status.ALREADY_EXISTS, details: 'container c1 already exists', metadata: undefined });
  const e = fromServiceError(err);
  assert.ok(e instanceof BerthError);
  assert.equal(e.kind, 'already-exists');
  assert.equal(e.code, status.ALREADY_EXISTS);
  assert.equal(e.message, 'container c1 already exists');
});
